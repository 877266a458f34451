// `ddpm interpolate`: interpolation between two images through xₜ (DDPM §4.4, Figs. 8–9).
import ArgumentParser
import DDPMDatasets
import DDPMDiffusion
import Foundation
import DDPMImaging
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTraining

struct InterpolateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate",
        abstract: "Interpolate between two images in the diffusion's latent space.",
        discussion: """
            DDPM §4.4: both images are encoded to xₜ ~ q(xₜ|x₀) with one shared ε (eq. 4),
            mixed as x̄ₜ = (1−λ)xₜ + λx′ₜ for λ on an even grid from 0 to 1, and decoded
            by the reverse chain from t (the same reverse noise for every λ). Small t
            keeps the images and mixes them like pixels; large t keeps only coarse
            attributes and gives new, plausible images. --images names two images: 0-based
            indices into --data (default: the model's training data) --split, or PNG files
            (centre-cropped and resized to the model's size). Writes interpolation.png to
            --output (default CHECKPOINT/interpolation): one row per t, from λ = 0 (x₀
            reconstructed from xₜ) to λ = 1 (x′₀ reconstructed), under a first row that
            mixes the pixels for reference; and interpolation.npy, float32 [t count, λ
            count, C, H, W] in [−1, 1], the decoded images.
            """)

    @OptionGroup var options: ModelCommandOptions

    @Option(help: "Two images: dataset indices or PNG paths, comma-separated.")
    var images: String = "0,1"

    @OptionGroup var input: DataOptions

    @Option(help: "Timesteps t, one row each (default 0.1T, 0.25T, 0.5T, 0.75T).")
    var times: String?

    @Option(help: "Number of λ values from 0 to 1.")
    var lambdas: Int = 9

    @Option(help: "ancestral only: each interpolated xₜ is decoded by DDPM's reverse chain (DDPM §4.4).")
    var sampler: SampleCommand.Sampler = .ancestral

    func validate() throws {
        guard sampler == .ancestral else {
            throw ValidationError(
                "--sampler \(sampler.rawValue): ddpm interpolate decodes each interpolated xₜ with the ancestral chain, as DDPM §4.4 does; drop --sampler."
            )
        }
        guard lambdas >= 2 else { throw ValidationError("--lambdas must be at least 2 (0 and 1), got \(lambdas).") }
    }

    func run() throws {
        try Pictures.requireFont()
        let trained = try options.loadImageModel(for: "interpolate")
        let diffusion = try trained.gaussian("interpolate")
        let rowTimes = try trained.times(times, flag: "times", defaults: [0.1, 0.25, 0.5, 0.75])
        let (inputs, labels) = try trained.inputImages(images, flag: "images", data: input.data, split: input.dataSplit, seed: options.seed)
        guard inputs.shape[0] == 2 else { throw CommandFailure("--images: expected exactly two images, got \(inputs.shape[0]).") }
        let outFolder = try options.outputFolder(default: "interpolation")

        let first = inputs.sliced(axis: 0, range: 0..<1), second = inputs.sliced(axis: 0, range: 1..<2)
        let grid = (0..<lambdas).map { Double($0) / Double(lambdas - 1) }
        // Pixel-space mixing, for reference.
        var rows = [Pictures.images(Tensor.concatenate(grid.map { (1 - $0) * first + $0 * second }, axis: 0), scale: 2)]
        var generator = PhiloxGenerator(seed: options.seed)
        let progress = Progress("interpolate", total: rowTimes.reduce(0, +), unit: "steps")
        var done = 0
        var decodedRows: [Tensor] = []
        for t in rowTimes {
            let decoded = try CommandFailure.wrap {
                try diffusion.interpolate(
                    model: trained.model, first: first, second: second, index: t - 1, lambdas: grid,
                    clipStart: true, generator: &generator)
            }
            done += t
            progress.update(done)
            rows.append(Pictures.images(decoded, scale: 2))
            decodedRows.append(decoded)
        }
        let array = Tensor.concatenate(decodedRows, axis: 0).converted(to: .float32).reshaped(
            [rowTimes.count, lambdas] + trained.exampleShape)
        try CommandFailure.wrap { try NPYFile.write(array, to: outFolder.appendingPathComponent("interpolation.npy")) }
        let picture = try Pictures.labeledGrid(
            rows, columnLabels: grid.map { FigureText.interpolationWeight($0) },
            rowLabels: [FigureText.pixels] + rowTimes.map { FigureText.step($0) },
            title: FigureText.interpolationTitle(from: labels[0], to: labels[1]))
        print("wrote \(try Pictures.write(picture, "interpolation.png", in: outFolder))")
    }
}
