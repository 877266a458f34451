// The options of the commands that use a trained model: --checkpoint and --raw-weights, --data
// and --split; the EMA warning; paper timesteps from flags.
import ArgumentParser
import DDPMDatasets
import DDPMDiffusion
import Foundation
import DDPMTraining

/// `--checkpoint` and `--raw-weights`, shared by the commands that use a trained model.
struct CheckpointOptions: ParsableArguments {
    @Option(help: "A `ddpm train` checkpoint folder or a diffusers model folder.")
    var checkpoint: String

    @Flag(name: .customLong("raw-weights"), help: "Use the raw weights instead of the EMA.")
    var rawWeights = false

    /// The model, with a warning when its EMA still holds more than 1 % of the initial weights
    /// (unless `quiet`: the ranks of an MPI job other than rank 0).
    func load(quiet: Bool = false) throws -> TrainedModel {
        let trained = try CommandFailure.wrap("--checkpoint \(checkpoint): ") {
            try TrainedModel.load(URL(fileURLWithPath: checkpoint), weights: rawWeights ? .raw : .ema)
        }
        if quiet { return trained }
        for warning in trained.warnings { note("warning: \(warning)") }
        if let share = trained.emaInitialWeight, share > 0.01 {
            note(
                String(
                    format: "warning: the EMA weights still hold %.1f %% of the initial weights, so samples are pulled toward "
                        + "the untrained network; pass --raw-weights (or train longer, or with --ema-warmup).", 100 * share))
        }
        return trained
    }

    /// `output`, or CHECKPOINT/`name` when it is nil; created if missing.
    func outputFolder(_ output: String?, default name: String) throws -> URL {
        let url = outputURL(output, default: name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// `output`, or CHECKPOINT/`name` when it is nil; for a kept `checkpoint-STEP` folder of a
    /// run, RUN/`name`-checkpoint-STEP (outside the folder, which a later save may remove).
    func outputURL(_ output: String?, default name: String) -> URL {
        if let output { return URL(fileURLWithPath: output) }
        let folder = URL(fileURLWithPath: checkpoint)
        if let (run, _) = Checkpoint.runAndLocation(ofCheckpointFolder: folder) {
            return run.appendingPathComponent("\(name)-\(folder.standardizedFileURL.lastPathComponent)")
        }
        return folder.appendingPathComponent(name)
    }
}

/// `--data` and `--split`: the examples an analysis reads.
struct DataOptions: ParsableArguments {
    @Option(help: "Data spec (default: the model's training data).")
    var data: String?

    @Option(help: "train or test.")
    var split: DataSplit = .test

    var dataSplit: DataSplit { split }
}

extension DataSplit: ExpressibleByArgument {}

extension TrainedModel {
    /// The Gaussian diffusion, for the commands that need one.
    func gaussian(_ command: String) throws -> GaussianDiffusion {
        guard let diffusion = process as? GaussianDiffusion else {
            throw CommandFailure("ddpm \(command) needs a Gaussian diffusion model; the model in --checkpoint uses another process.")
        }
        return diffusion
    }

    /// Paper timesteps t (1…T) from a comma-separated `--FLAG` value, or `defaults` given as
    /// fractions of T (rounded, at least 1), in the order given.
    func times(_ text: String?, flag: String, defaults: [Double]) throws -> [Int] {
        let T = process.stepCount
        guard let text else {
            var seen = Set<Int>()
            return defaults.map { max(1, Int(($0 * Double(T)).rounded())) }.filter { seen.insert($0).inserted }
        }
        let values = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let times = values.compactMap(Int.init)
        guard !values.isEmpty, times.count == values.count, times.allSatisfy({ (1...T).contains($0) }) else {
            throw CommandFailure("--\(flag) \(text): expected comma-separated timesteps t in 1…\(T) (the paper's 1-based t).")
        }
        var seen = Set<Int>()
        return times.filter { seen.insert($0).inserted }
    }
}

/// What every command on a trained model takes: the model (--checkpoint, --raw-weights), the seed
/// of its random draws, the output folder and the compute settings.
struct ModelCommandOptions: ParsableArguments {
    @OptionGroup var source: CheckpointOptions

    @Option(help: "Seed of the random draws (sampling noise, generated data).")
    var seed: UInt64 = 0

    @Option(help: "Output folder (default: a folder named after the command inside --checkpoint).")
    var output: String?

    @OptionGroup var threads: ComputeOptions

    /// Applies the compute settings and loads the model.
    func load() throws -> TrainedModel {
        try threads.apply()
        return try source.load()
    }

    /// `load()`, for a command that needs an image model.
    func loadImageModel(for command: String) throws -> TrainedModel {
        let trained = try load()
        guard trained.isImages else {
            throw CommandFailure("--checkpoint \(source.checkpoint): \(command) needs an image model; this one takes points.")
        }
        return trained
    }

    /// --output, or CHECKPOINT/`name`; created if missing.
    func outputFolder(default name: String) throws -> URL {
        try source.outputFolder(output, default: name)
    }
}
