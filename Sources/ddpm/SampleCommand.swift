// `ddpm sample`: draw samples from a `ddpm train` checkpoint or a diffusers model folder.
import ArgumentParser
import DDPMDiffusion
import DDPMFileSupport
import Foundation
import DDPMImaging
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTraining

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

    @OptionGroup var options: ModelCommandOptions

    @Option(help: "Number of samples.")
    var count: Int = 64

    @Option(name: .customLong("batch-size"), help: "Samples drawn at once.")
    var batchSize: Int = 64

    @Option(help: "Sampling steps, respaced evenly (default: all T).")
    var steps: Int?

    /// `--sampler`.
    enum Sampler: String, ExpressibleByArgument, CaseIterable {
        /// DDPM's Algorithm 2 (respaced evenly with --steps).
        case ancestral
        /// DDIM (eq. 12), deterministic at η = 0.
        case ddim
    }

    @Option(help: "ancestral (DDPM) or ddim.")
    var sampler: Sampler = .ancestral

    @Option(help: "DDIM η (0 deterministic, 1 like DDPM).")
    var eta: Double = 0




    /// The most bytes of Float32 samples one run holds in memory.
    static let maximumSampleBytes = 8 << 30

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count).") }
        guard (1...TrainingConfiguration.maximumBatchSize).contains(batchSize) else {
            throw ValidationError("--batch-size must be in 1…\(TrainingConfiguration.maximumBatchSize), got \(batchSize).")
        }
        if let steps { guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps).") } }
        guard eta.isFinite, eta >= 0, eta <= 1 else { throw ValidationError("--eta must be in [0, 1], got \(eta).") }
        if sampler == .ancestral, eta != 0 { throw ValidationError("--eta applies to --sampler ddim only.") }
    }

    func run() throws {
        let trained = try options.load()
        let model = trained.network
        let exampleShape = trained.exampleShape
        let bytes = count.multipliedReportingOverflow(by: exampleShape.reduce(4, *))
        guard !bytes.overflow, bytes.partialValue <= Self.maximumSampleBytes else {
            throw CommandFailure("--count \(count): the samples would take more than \(Self.maximumSampleBytes >> 30) GiB in memory; draw fewer per run.")
        }
        let T = trained.process.stepCount
        let stepCount = steps ?? T
        guard stepCount <= T else { throw CommandFailure("--steps \(stepCount) is more than the model's T = \(T).") }
        // Gaussian diffusion respaces for fewer steps and DDIM; other processes sample all T steps.
        var gaussian = trained.process as? GaussianDiffusion
        if stepCount < T || sampler == .ddim {
            guard let diffusion = gaussian else {
                throw CommandFailure("this model's process samples with the ancestral sampler over all T = \(T) steps; drop --steps and --sampler ddim.")
            }
            gaussian = try CommandFailure.wrap("") {
                try diffusion.respaced(sampler == .ddim ? .ddim(count: stepCount) : .even(count: stepCount))
            }
        }
        let outFolder = try options.outputFolder(default: "samples")

        let isImages = exampleShape.count == 3
        var generator = PhiloxGenerator(seed: options.seed)
        var values: [Float] = []
        // Progress counts denoising steps (samples × steps), so the first report comes within a step.
        let steps = gaussian?.stepCount ?? T
        let progress = Progress("sample", total: count * steps, unit: "sample-steps")
        var done = 0
        while done < count {
            let n = min(batchSize, count - done)
            let shape = [n] + exampleShape
            let evaluate: DiffusionModel = { model($0, timesteps: $1, mode: .evaluation) }
            let first = done * steps
            let report: (Int) -> Void = { progress.update(first + n * $0) }
            let x = try CommandFailure.wrap("") {
                if let diffusion = gaussian {
                    if sampler == .ddim {
                        return try diffusion.sampleDDIM(
                            model: evaluate, shape: shape, eta: eta, clipStart: isImages, generator: &generator) { report(steps - $0.index) }
                    }
                    return try diffusion.sampleAncestral(
                        model: evaluate, shape: shape, clipStart: isImages, generator: &generator) { report(steps - $0.index) }
                }
                return try trained.process.samplesForDisplay(model: evaluate, shape: shape, maxSteps: T, generator: &generator, progress: report)
            }
            values += x.converted(to: .float32).floats
            done += n
        }
        let all = Tensor(values.map(Double.init), shape: [count] + exampleShape, dtype: .float32)
        let png = outFolder.appendingPathComponent("samples.png")
        let npy = outFolder.appendingPathComponent("samples.npy")
        try Pictures.samples(all).writePNG(to: png)
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
}
