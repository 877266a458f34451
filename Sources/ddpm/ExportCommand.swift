// `ddpm export`: a run folder as a diffusers DDPMPipeline folder (model_index.json, unet/,
// scheduler/) that `DDPMPipeline.from_pretrained` loads unchanged (`DiffusersExport`).
import ArgumentParser
import Foundation
import DDPMTraining

/// Writes a `ddpm train` run as a diffusers pipeline folder: the U-Net's EMA (or raw) weights and
/// a DDPMScheduler config carrying the run's process; refuses what diffusers cannot express.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a trained run as a diffusers DDPMPipeline folder (model_index.json, unet/, scheduler/).",
        discussion: """
            --checkpoint is a `ddpm train` run folder of Gaussian diffusion with a U-Net.
            --output is created as a folder that DDPMPipeline.from_pretrained(OUTPUT)
            (diffusers) loads unchanged, and that ddpm sample, info and the analyses read
            as any diffusers folder:

              model_index.json                   DDPMPipeline: UNet2DModel + DDPMScheduler
              unet/config.json                   the UNet2DModel config
              unet/diffusion_pytorch_model.safetensors
                                                 the EMA weights (--raw-weights: the raw
                                                 ones), float32
              scheduler/scheduler_config.json    the run's T, β, prediction_type and
                                                 variance_type, clip_sample true

            β is written as beta_schedule linear with beta_start/beta_end for DDPM's
            linear schedule, squaredcos_cap_v2 for the cosine schedule (s = 0.008), else
            as trained_betas (every β). x̂₀ is clipped to [−1, 1], as this toolkit's
            samplers clip it for images; the timestep spacing is diffusers' leading.

            Refused, with the reason: binomial diffusion (diffusers has no scheduler for
            it), the learned variance of SD15 (--variance learned: the network returns
            log σ², diffusers' variance_type learned reads σ²; learned-range exports),
            and the toy MLP for points (UNet2DModel is a network for images).

            OUTPUT must not exist: nothing is overwritten. It is written in full as a
            hidden sibling folder (.NAME.partial-PID) and renamed into place, so it is
            complete or absent; an interrupted export leaves at most that hidden folder.
            """)

    @OptionGroup var source: CheckpointOptions

    @Option(help: ArgumentHelp("The pipeline folder to create; it must not exist.", valueName: "dir"), completion: .directory)
    var output: String

    func run() throws {
        let destination = URL(fileURLWithPath: output)
        if (try? FileManager.default.attributesOfItem(atPath: destination.path)) != nil {
            throw CommandFailure("--output \(output): already exists; choose another folder or delete it.")
        }
        // What the settings alone refuse, before any weight is read.
        let settings = URL(fileURLWithPath: source.checkpoint).appendingPathComponent(TrainingConfiguration.fileName)
        if FileManager.default.fileExists(atPath: settings.path) {
            let configuration = try CommandFailure.wrap("--checkpoint \(source.checkpoint): ") {
                try TrainingConfiguration.load(from: settings).configuration
            }
            try CommandFailure.wrap("--checkpoint \(source.checkpoint): cannot export: ") { try DiffusersExport.check(configuration) }
        }
        let trained = try source.load()
        guard trained.configuration != nil else {
            throw CommandFailure(
                "--checkpoint \(source.checkpoint): a diffusers folder, already in diffusers' format; "
                    + "export reads a `ddpm train` run folder.")
        }
        let export = try CommandFailure.wrap("--checkpoint \(source.checkpoint): cannot export: ") { try DiffusersExport(trained) }
        try CommandFailure.wrap("") { try export.write(to: destination) }
        let s = export.scheduler
        let betas =
            switch export.betas {
            case .linear(let start, let end): "beta_schedule linear (\(start)…\(end))"
            case .squaredCosine: "beta_schedule squaredcos_cap_v2"
            case .trained: "trained_betas"
            }
        let prediction = SchedulerConfigFile.predictionTypes.first { $0.value == s.prediction }!.key
        writeStandardOutput(
            """
            wrote \(output) (DDPMPipeline)
              unet/       UNet2DModel, \(groupedThousands(export.unet.parameterCount)) parameters, \(source.rawWeights ? "raw" : "EMA") weights
              scheduler/  DDPMScheduler: T = \(s.trainingSteps), \(betas), \(prediction), \(s.variance.rawValue), clip_sample

            """)
    }
}
