// `ddpm sample`: draw samples from a `ddpm train` checkpoint or a diffusers model folder.
import ArgumentParser
import DDPMDiffusion
import DDPMDistributed
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
        abstract: "Draw samples from a trained model (DDPM Algorithm 2, DDIM, DPM-Solver++ or UniPC).",
        discussion: """
            --checkpoint is a `ddpm train` folder (EMA weights unless --raw-weights) or a
            diffusers folder: a pipeline folder (model_index.json, unet/, scheduler/) or
            a model folder (config.json + diffusion_pytorch_model.safetensors). A
            diffusers model samples as its scheduler_config.json says, step for step as
            diffusers' DDPMScheduler (--sampler ancestral) and DDIMScheduler (--sampler
            ddim) do: its β schedule, prediction type, variance type, x̂₀ clipping or
            thresholding, timestep spacing and steps_offset (`ddpm info` prints them).

            --spacing picks the timesteps of a --steps run: even (the default for
            `ddpm train` runs: evenly spaced, both ends kept, IDDPM's respacing; DDIM:
            0, c, 2c, …) or diffusers' leading, trailing, linspace (the default for a
            diffusers model is its config's timestep_spacing).

            --sampler dpm-solver++ (multistep DPM-Solver++, Lu et al. 2022),
            sde-dpm-solver++ (its SDE variant, fresh noise every step) and unipc
            (UniPC bh2 with its corrector, Zhao et al. 2023) reach in 10–20 network
            evaluations what DDIM needs 50 or more for; they default to --steps 20 and
            --order 2 (1–3; the SDE variant 1–2) and step as diffusers'
            DPMSolverMultistepScheduler and UniPCMultistepScheduler do (final noise
            level zero, lower-order final steps below 15 steps). --step-placement puts
            their steps uniformly in t (--spacing; default linspace, or a diffusers
            model's timestep_spacing), uniformly in log-SNR (log-snr) or at Karras et
            al.'s noise levels (karras).

            Without --sampler, a `ddpm train` run (Gaussian diffusion) samples with
            sde-dpm-solver++, order 2, in 10 steps (unless --steps): on the README's
            Fashion-MNIST model its FID at 10 steps (34) beat DDIM's at 50 (47) and 15
            steps gained little. --sampler ancestral runs DDPM's Algorithm 2 over all T
            steps. A diffusers model samples with the scheduler its config names, as
            diffusers' pipeline does; a binomial run with its ancestral sampler.
            Images from a `ddpm train` run have x̂₀
            clipped to ±1 as with the other samplers; a diffusers model follows its
            config's thresholding; --dynamic-thresholding RATIO,MAX replaces either with
            Imagen's dynamic thresholding (x̂₀ clipped to the RATIO quantile s of |x̂₀|,
            1 ≤ s ≤ MAX, then divided by s). A diffusers model whose scheduler_config.json is a
            DPMSolverMultistepScheduler or UniPCMultistepScheduler samples with that
            solver by default, with the config's algorithm_type, solver_order,
            solver_type, lower_order_final, use_karras_sigmas, use_lu_lambdas,
            final_sigmas_type and lambda_min_clipped; flags override them, and a
            setting not implemented here (heun, euler_at_final, exponential or beta
            sigmas, a disabled corrector) is refused naming the key.

            --initial-noise starts every chain from the given x_T (an NPY file of
            float32 or float64, N × C × H × W, or N × D for points; N is the sample
            count), so that a deterministic sampler (DDIM, --eta 0) gives the images
            diffusers gives for the same weights and x_T; the later random draws are
            those of --seed, as if x_T had been drawn, so a saved x_T reproduces a run.
            --save-initial-noise writes the x_T drawn to x_T.npy.

            Sample i draws x_T and every later random number from its own generator,
            keyed by (--seed, i), so it does not depend on which samples share its batch.
            Under `mpirun -np N` (or `srun`) every rank runs the same command: batch k
            (samples k·B … (k+1)·B − 1 of --batch-size B) is drawn by rank k mod N and
            rank 0 gathers and writes, so the files are those of one process with the
            same --batch-size and --threads, bit for bit, whatever N is.

            Writes to --output (default CHECKPOINT/samples) what --format asks for (default
            grid,npy): images: samples.png (grid), images/000000.png, … (png-dir: one PNG
            per sample, written as each batch is done), samples.npz (arr_0, uint8 N × H ×
            W × C, improved-diffusion's convention) and samples.npy (the same array);
            points: samples.png and samples.svg (scatter), samples.npy (float32, N × D) and
            samples.csv. Always sampler.json: the sampler and every setting it ran with
            (timesteps, orders, noise levels, seed, batch size). --resume continues an
            interrupted png-dir run with the same flags: batches whose images are all
            written are read back, the others drawn, and the files are those of an
            uninterrupted run. A checkpoint of `ddpm train --diffusion binomial` draws
            binary images (0 black, 1 white; bytes 0 and 255) with the ancestral sampler
            over all T steps.
            """)

    @OptionGroup var options: ModelCommandOptions

    @Option(help: "Number of samples (default: 64, or N of --initial-noise).")
    var count: Int?

    @Option(name: .customLong("batch-size"), help: "Samples drawn at once.")
    var batchSize: Int = 64

    @Option(
        help:
            "Sampling steps, one network evaluation each (default: 10 for a run folder without --sampler; 20 for a named solver; all T for ancestral and ddim)."
    )
    var steps: Int?

    /// `--spacing`.
    enum Spacing: String, ExpressibleByArgument, CaseIterable {
        /// IDDPM's even respacing (ancestral) and DDIM's 0, c, 2c, … (this toolkit's samplers).
        case even
        /// diffusers' timestep_spacing values.
        case leading, trailing, linspace
    }

    @Option(
        help:
            "Timesteps of a --steps run: even, leading, trailing or linspace (default: even for a run folder, linspace with the solvers; the scheduler config's for a diffusers model)."
    )
    var spacing: Spacing?

    @Option(
        name: .customLong("initial-noise"), help: "x_T to start from: an NPY file, N × C × H × W (float32 or float64).",
        completion: .file(extensions: ["npy"]))
    var initialNoise: String?

    @Flag(name: .customLong("save-initial-noise"), help: "Write the x_T drawn to x_T.npy in the output folder.")
    var saveInitialNoise = false

    /// `--sampler`.
    enum Sampler: String, ExpressibleByArgument, CaseIterable {
        /// DDPM's Algorithm 2 (respaced evenly with --steps).
        case ancestral
        /// DDIM (eq. 12), deterministic at η = 0.
        case ddim
        /// Multistep DPM-Solver++ (Lu et al. 2022b), data-prediction form.
        case dpmSolverPlusPlus = "dpm-solver++"
        /// The SDE variant of DPM-Solver++ (order ≤ 2).
        case sdeDPMSolverPlusPlus = "sde-dpm-solver++"
        /// UniPC (Zhao et al. 2023), bh2 with its corrector.
        case unipc

        /// Whether this is one of the multistep solvers (--order, --step-placement).
        var isSolver: Bool {
            switch self {
            case .ancestral, .ddim: false
            case .dpmSolverPlusPlus, .sdeDPMSolverPlusPlus, .unipc: true
            }
        }
    }

    @Option(
        help:
            "ancestral (DDPM), ddim, dpm-solver++, sde-dpm-solver++ or unipc (default: sde-dpm-solver++ for a run folder; a diffusers model's scheduler config decides)."
    )
    var sampler: Sampler?

    @Option(help: "Order of dpm-solver++ and unipc (1–3) and sde-dpm-solver++ (1–2) (default: 2; 3 suits unconditional models).")
    var order: Int?

    @Option(
        name: .customLong("step-placement"),
        help:
            "Where the solvers step: uniform (in t, per --spacing), log-snr (uniform in λ) or karras (Karras et al.'s σ) (default: uniform)."
    )
    var stepPlacement: StepPlacement?

    @Option(
        name: .customLong("dynamic-thresholding"),
        help: ArgumentHelp(
            "Imagen's dynamic thresholding of the solvers' x̂₀: the quantile of |x̂₀| and the largest threshold, e.g. 0.995,1.5 (default: clipping to ±1 for images, as 0.995,1; a diffusers model's config).",
            valueName: "ratio,max"))
    var dynamicThresholding: String?

    @Option(help: "DDIM η (0 deterministic, 1 like DDPM).")
    var eta: Double = 0

    @Option(
        help: ArgumentHelp(
            "What to write, comma-separated: grid (samples.png), png-dir (images/000000.png, …), npz (samples.npz, arr_0) and npy (samples.npy).",
            valueName: "formats"))
    var format: String = SampleFiles.defaultFormats

    @Flag(help: "Continue an interrupted png-dir run in --output: the samples whose images are written are read, not drawn again.")
    var resume = false

    /// The most bytes of Float32 samples one run holds in memory.
    static let maximumSampleBytes = 8 << 30

    func validate() throws {
        if let count { guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count).") } }
        let formats: Set<SampleFiles.Format>
        do { formats = try SampleFiles.formats(format) } catch { throw ValidationError("\(error)") }
        if resume, !formats.contains(.pngDir) {
            throw ValidationError("--resume continues a run that writes one PNG per sample: add png-dir to --format.")
        }
        if initialNoise != nil && saveInitialNoise {
            throw ValidationError("--save-initial-noise writes the x_T drawn; it cannot be used with --initial-noise.")
        }
        guard (1...TrainingConfiguration.maximumBatchSize).contains(batchSize) else {
            throw ValidationError("--batch-size must be in 1…\(TrainingConfiguration.maximumBatchSize), got \(batchSize).")
        }
        if let steps { guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps).") } }
        guard eta.isFinite, eta >= 0, eta <= 1 else { throw ValidationError("--eta must be in [0, 1], got \(eta).") }
        if sampler != .ddim, eta != 0 { throw ValidationError("--eta applies to --sampler ddim only.") }
        if let sampler, !sampler.isSolver, order != nil || stepPlacement != nil || dynamicThresholding != nil {
            throw ValidationError(
                "--order, --step-placement and --dynamic-thresholding apply to --sampler dpm-solver++, sde-dpm-solver++ and unipc.")
        }
        _ = try thresholding()
        if let order {
            let maximum = sampler == .sdeDPMSolverPlusPlus ? 2 : 3
            guard (1...maximum).contains(order) else {
                throw ValidationError(
                    "--order \(order): " + (sampler.map { "--sampler \($0.rawValue) has" } ?? "the solvers have")
                        + " orders 1 to \(maximum)"
                        + (sampler == .sdeDPMSolverPlusPlus ? " (the SDE variant is at most second order)." : "."))
            }
        }
    }

    /// `--dynamic-thresholding RATIO,MAX`, checked.
    func thresholding() throws -> DynamicThresholding? {
        guard let dynamicThresholding else { return nil }
        let parts = dynamicThresholding.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
        guard parts.count == 2, let ratio = parts[0], let maximum = parts[1] else {
            throw ValidationError(
                "--dynamic-thresholding \(dynamicThresholding): give the quantile and the largest threshold, e.g. 0.995,1.5.")
        }
        do { return try DynamicThresholding(ratio: ratio, maximum: maximum) } catch {
            throw ValidationError("--dynamic-thresholding \(dynamicThresholding): \(error)")
        }
    }

    func run() throws {
        try MPIJob.run(threads: options.threads) { try sample(world: $0) }
    }

    /// Draws this rank's batches (all of them without MPI); rank 0 gathers the samples and writes.
    func sample(world: Communicator) throws {
        // Every rank loads the model and checks the flags; a failure on any rank stops them all.
        let outFolder = options.source.outputURL(options.output, default: "samples")
        let (trained, given, chain, formats, record) = try world.agree {
            let formats = try SampleFiles.formats(format)
            let trained = try options.source.load(quiet: !world.isRoot)
            if !trained.isImages, !formats.isSubset(of: [.grid, .npy]) {
                throw CommandFailure("--format \(format): png-dir and npz hold images; this model draws points (grid and npy).")
            }
            let given = try initialNoise.map { try Self.readInitialNoise($0, exampleShape: trained.exampleShape, count: self.count) }
            let chain = try Chain(
                trained: trained,
                choice: Chain.Choice(
                    sampler: sampler, steps: steps, spacing: spacing, eta: eta, order: order, placement: stepPlacement,
                    thresholding: try thresholding()))
            if !chain.startsFromGaussianNoise, initialNoise != nil || saveInitialNoise {
                throw CommandFailure(
                    "--initial-noise and --save-initial-noise are for Gaussian diffusion; this model's chain starts from its own prior.")
            }
            var record = chain.record
            record.seed = options.seed
            record.count = given?.shape[0] ?? self.count ?? 64
            record.checkpoint = options.source.checkpoint
            record.weights = trained.scheduler != nil ? nil : (options.source.rawWeights ? "raw" : "ema")
            record.initialNoise = initialNoise
            record.noise = "per sample: generator keyed by (seed, sample index)"
            record.batchSize = batchSize
            if world.isRoot {
                if !trained.isImages { try Pictures.requireFont() }  // the scatter plot's, before sampling
                if resume {
                    try SampleFiles.checkResumable(outFolder, record: record)
                    // What a killed run was writing when it stopped.
                    for folder in [outFolder, outFolder.appendingPathComponent("images")] {
                        try CommandFailure.wrap("--resume: ") { try AtomicFile.removeTemporaries(in: folder) }
                    }
                }
                try FileManager.default.createDirectory(at: outFolder, withIntermediateDirectories: true)
                if formats.contains(.pngDir) {
                    try FileManager.default.createDirectory(
                        at: outFolder.appendingPathComponent("images"), withIntermediateDirectories: true)
                    // Written first, so that an interrupted run says how its images were drawn.
                    try writeRecord(record, ranks: world.size, in: outFolder)
                }
            }
            return (trained, given, chain, formats, record)
        }
        let exampleShape = trained.exampleShape
        let count = record.count ?? 64
        let bytes = count.multipliedReportingOverflow(by: exampleShape.reduce(4, *))
        guard !bytes.overflow, bytes.partialValue <= Self.maximumSampleBytes else {
            throw FailureOnEveryRank(
                description:
                    "--count \(count): the samples would take more than \(Self.maximumSampleBytes >> 30) GiB in memory; draw fewer per run."
            )
        }
        let isImages = trained.isImages
        let files = SampleFiles(
            folder: outFolder, channels: exampleShape[0], height: isImages ? exampleShape[1] : 1, width: isImages ? exampleShape[2] : 1)

        // Batch k holds samples k·B ..< (k+1)·B and goes to rank k mod N; sample i draws x_T and every
        // later z from its own generator keyed by (--seed, i), so the files do not depend on N, and a
        // resumed png-dir run reads the batches whose images are all written instead of drawing them.
        let batches = MPIJob.batches(count: count, batchSize: batchSize, rank: world.rank, size: world.size)
        let written = resume ? batches.filter { files.hasImages($0) } : []
        let mine = batches.reduce(0) { $0 + $1.count }
        let toDraw = mine - written.reduce(0) { $0 + $1.count }
        if world.size > 1, world.isRoot {
            note("sample: \(count) samples over \(world.size) ranks in batches of \(batchSize); rank 0 draws \(mine)")
        }
        if resume, world.isRoot {
            note("sample: resuming \(outFolder.path): rank 0 reads \(mine - toDraw) samples already written, draws \(toDraw)")
        }
        // Progress counts denoising steps (samples × steps), so the first report comes within a step.
        let progress = world.isRoot ? Progress("sample", total: toDraw * chain.stepCount, unit: "sample-steps") : nil
        // Images as bytes (H × W × C per sample, as the files hold them); points as Float32.
        var values: [Float] = []
        var drawn: [Float] = []
        var done = 0
        for batch in batches {
            let n = batch.count
            var noise = ExampleNoise(seed: options.seed, examples: batch)
            // x_T: drawn first from the samples' generators (as the samplers draw it), then replaced by
            // the given one, so that the chain's later draws are the same whether x_T was drawn or given.
            let isWritten = written.contains(batch)
            var start: Tensor?
            if chain.startsFromGaussianNoise, !isWritten || saveInitialNoise {
                start = noise.normal(shape: [n] + exampleShape, dtype: .float32)
                if let given { start = given.sliced(axis: 0, range: batch) }
            }
            if saveInitialNoise, let start { drawn += start.floats }
            if isWritten {
                values += try files.readImages(batch).map(Float.init)
                continue
            }
            let first = done * chain.stepCount
            let x = try CommandFailure.wrap("") {
                try chain.sample(from: start, shape: [n] + exampleShape, generator: &noise) { progress?.update(first + n * $0) }
            }
            done += n
            guard isImages else {
                values += x.converted(to: .float32).floats
                continue
            }
            let batchBytes = files.bytes(of: x)
            if formats.contains(.pngDir) { try files.writeImages(batchBytes, batch: batch) }
            values += batchBytes.map(Float.init)
        }
        let rowLength = exampleShape.reduce(1, *)
        let gathered = try MPIJob.gatherRows(values, rowLength: rowLength, count: count, batchSize: batchSize, world: world)
        let gatheredNoise =
            saveInitialNoise ? try MPIJob.gatherRows(drawn, rowLength: rowLength, count: count, batchSize: batchSize, world: world) : nil
        guard let values = gathered, world.isRoot else { return }
        if let drawn = gatheredNoise {
            let url = outFolder.appendingPathComponent("x_T.npy")
            try CommandFailure.wrap { try NPYFile.write(NPYArray(shape: [count] + exampleShape, elements: .float32(drawn)), to: url) }
        }
        if isImages {
            try files.writeImageSet(values.map { UInt8($0) }, count: count, formats: formats)
        } else {
            if formats.contains(.grid) {
                try Pictures.writeSamples(
                    Tensor(values.map(Double.init), shape: [count] + exampleShape, dtype: .float32),
                    to: outFolder.appendingPathComponent("samples.png"))
            }
            if formats.contains(.npy) {
                try CommandFailure.wrap {
                    try NPYFile.write(
                        NPYArray(shape: [count] + exampleShape, elements: .float32(values)),
                        to: outFolder.appendingPathComponent("samples.npy"))
                }
            }
            let d = exampleShape[0]
            let header = d == 2 ? "x,y" : (0..<d).map { "x\($0)" }.joined(separator: ",")
            let rows = stride(from: 0, to: values.count, by: d).map { values[$0..<$0 + d].map { "\($0)" }.joined(separator: ",") }
            try AtomicFile.write(
                Data((header + "\n" + rows.joined(separator: "\n") + "\n").utf8), to: outFolder.appendingPathComponent("samples.csv"))
        }
        try writeRecord(record, ranks: world.size, in: outFolder)
        print("wrote \(count) samples to \(outFolder.path)")
    }

    /// sampler.json: the sampler, every setting it ran with and the ranks that drew the samples.
    func writeRecord(_ record: SamplerRecord, ranks: Int, in folder: URL) throws {
        var record = record
        record.ranks = ranks
        let encoder = Pictures.jsonEncoder
        encoder.outputFormatting.insert(.withoutEscapingSlashes)
        try CommandFailure.wrap { try AtomicFile.write(encoder.encode(record), to: folder.appendingPathComponent("sampler.json")) }
    }

    /// The x_T of --initial-noise: N × example shape, float32 or float64, N = --count when given.
    static func readInitialNoise(_ path: String, exampleShape: [Int], count: Int?) throws -> Tensor {
        let array: NPYArray
        do { array = try NPYFile.read(URL(fileURLWithPath: path)) } catch { throw CommandFailure("--initial-noise: \(error)") }
        guard array.shape.count == exampleShape.count + 1, Array(array.shape.dropFirst()) == exampleShape, array.shape[0] >= 1 else {
            throw CommandFailure(
                "--initial-noise \(path): shape \(array.shape) does not fit the model; expected [N, "
                    + exampleShape.map(String.init).joined(separator: ", ") + "].")
        }
        if let count, count != array.shape[0] {
            throw CommandFailure(
                "--initial-noise \(path) holds \(array.shape[0]) samples but --count is \(count); drop --count or make them agree.")
        }
        switch array.elements {
        case .float32, .float64: break
        default: throw CommandFailure("--initial-noise \(path): the array must hold float32 or float64 values.")
        }
        let tensor = array.tensor().converted(to: .float32)
        guard tensor.floats.allSatisfy(\.isFinite) else { throw CommandFailure("--initial-noise \(path): holds NaN or infinite values.") }
        return tensor
    }
}
