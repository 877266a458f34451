// `ddpm sample`: draw samples from a `ddpm train` checkpoint or a diffusers model folder.
import ArgumentParser
import Diffusion
import Foundation
import Imaging
import Models
import NeuralNetworks
import Tensors

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Draw samples from a trained model (DDPM Algorithm 2, or DDIM).",
        discussion: """
            --checkpoint is a `ddpm train` folder (EMA weights unless --raw-weights) or a
            diffusers folder (config.json + diffusion_pytorch_model.safetensors; linear β
            schedule, T from scheduler_config.json or 1000, ε-prediction, fixed-large
            variance). Writes to --output (default CHECKPOINT/samples): images:
            samples.png (grid) and samples.npy (uint8, N × H × W × C); points:
            samples.csv, samples.npy (float32, N × D) and samples.png (scatter). A
            checkpoint of `ddpm train --diffusion binomial` draws binary images (0 black,
            1 white; bytes 0 and 255 in samples.npy) with the ancestral sampler over all T
            steps.
            """)

    @OptionGroup var source: CheckpointOptions

    @Option(help: "Number of samples.")
    var count: Int = 64

    @Option(name: .customLong("batch-size"), help: "Samples drawn at once.")
    var batchSize: Int = 64

    @Option(help: "Sampling steps, respaced evenly (default: all T).")
    var steps: Int?

    @Option(help: "ancestral (DDPM) or ddim.")
    var sampler: String = "ancestral"

    @Option(help: "DDIM η (0 deterministic, 1 like DDPM).")
    var eta: Double = 0

    @Option(help: "Seed of the sampling noise.")
    var seed: UInt64 = 0

    @Option(help: "Output folder (default CHECKPOINT/samples).")
    var output: String?

    @OptionGroup var threads: ComputeOptions

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count).") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize).") }
        if let steps { guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps).") } }
        guard ["ancestral", "ddim"].contains(sampler) else { throw ValidationError("--sampler must be ancestral or ddim, got \"\(sampler)\".") }
        guard eta.isFinite, eta >= 0, eta <= 1 else { throw ValidationError("--eta must be in [0, 1], got \(eta).") }
        if sampler == "ancestral", eta != 0 { throw ValidationError("--eta applies to --sampler ddim only.") }
    }

    func run() throws {
        try threads.apply()
        let trained = try source.load()
        let model = trained.network
        var process = trained.process
        let exampleShape = trained.exampleShape
        let T = process.stepCount
        let stepCount = steps ?? T
        guard stepCount <= T else { throw CommandFailure("--steps \(stepCount) is more than the model's T = \(T).") }
        if stepCount < T || sampler == "ddim" {
            guard case .gaussian(let diffusion) = process else {
                throw CommandFailure("binomial diffusion samples with the ancestral sampler over all T = \(T) steps; drop --steps and --sampler ddim.")
            }
            process = .gaussian(try CommandFailure.wrap {
                try diffusion.respaced(sampler == "ddim" ? .ddim(count: stepCount) : .even(count: stepCount))
            })
        }
        let outFolder = try source.outputFolder(output, default: "samples")

        let isImages = exampleShape.count == 3
        var generator = PhiloxGenerator(seed: seed)
        var values: [Float] = []
        let progress = Progress("sample", total: count, unit: "samples")
        var done = 0
        while done < count {
            let n = min(batchSize, count - done)
            let shape = [n] + exampleShape
            let evaluate: DiffusionModel = { model($0, timesteps: $1, mode: .evaluation) }
            let x = try CommandFailure.wrap {
                if sampler == "ddim", case .gaussian(let diffusion) = process {
                    return try diffusion.sampleDDIM(model: evaluate, shape: shape, eta: eta, clipStart: isImages, generator: &generator)
                }
                return try process.sampleForDisplay(model: evaluate, shape: shape, generator: &generator)
            }
            values += x.converted(to: .float32).floats
            done += n
            progress.update(done)
        }
        let all = Tensor(values.map(Double.init), shape: [count] + exampleShape, dtype: .float32)
        let png = outFolder.appendingPathComponent("samples.png")
        let npy = outFolder.appendingPathComponent("samples.npy")
        try Self.picture(all).writePNG(to: png)
        if isImages {
            let (c, h, w) = (exampleShape[0], exampleShape[1], exampleShape[2])
            var bytes = [UInt8](repeating: 0, count: values.count)
            for i in 0..<count { for y in 0..<h { for x in 0..<w { for ch in 0..<c {
                bytes[((i * h + y) * w + x) * c + ch] = Pictures.byte(values[((i * c + ch) * h + y) * w + x])
            } } } }
            try CommandFailure.wrap { try NPYFile.write(NPYArray(shape: [count, h, w, c], elements: .uint8(bytes)), to: npy) }
        } else {
            try CommandFailure.wrap { try NPYFile.write(NPYArray(shape: [count] + exampleShape, elements: .float32(values)), to: npy) }
            let d = exampleShape[0]
            let header = d == 2 ? "x,y" : (0..<d).map { "x\($0)" }.joined(separator: ",")
            let rows = stride(from: 0, to: values.count, by: d).map { values[$0..<$0 + d].map { "\($0)" }.joined(separator: ",") }
            try AtomicFile.write(Data((header + "\n" + rows.joined(separator: "\n") + "\n").utf8), to: outFolder.appendingPathComponent("samples.csv"))
        }
        print("wrote \(count) samples to \(outFolder.path)")
    }

    /// A grid of images ([N, C, H, W]) or a scatter plot of 2-D points ([N, 2]).
    static func picture(_ x: Tensor) -> RasterImage {
        x.shape.count == 4 ? RasterImage.grid(Pictures.images(x)) : Pictures.scatter(x, title: "samples", size: 480)
    }
}
