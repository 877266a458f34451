// `ddpm train`: DDPM training (Algorithm 1) with resumable, atomic checkpoints.
import ArgumentParser
import Datasets
import Diffusion
import Foundation
import Imaging
import Models
import NeuralNetworks
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// Set by the SIGINT/SIGTERM handlers; the training loop checks it after each step.
nonisolated(unsafe) var stopRequested: Int32 = 0

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a diffusion model (DDPM Algorithm 1) into a resumable checkpoint folder.",
        discussion: """
            Defaults are DDPM's (Ho et al. 2020, CIFAR-10): linear β 1e-4…0.02 over T =
            1000, ε-prediction, σₜ² = βₜ (fixed-large), L_simple, batch 128, Adam lr 2e-4
            with 5000 warm-up steps, gradient clipping at norm 1, EMA decay 0.9999, random
            horizontal flips off (DDPM used them for CIFAR-10). --model defaults to toy
            for 2-D points, fashion for 1×28×28 images and cifar10 for 3×32×32; tiny is a
            small U-Net for any square image size (quick checks). --steps defaults to
            800000 for images (DDPM's CIFAR-10 run) and 10000 for points. learned-range
            and learned variance double the network's output channels (IDDPM); learned
            (log σₜ² straight from the network, as SD15) needs --loss vlb or hybrid to
            train the variance. For 2-D points the bound's L₀ is the continuous Gaussian
            density −log N(x₀; μ_θ(x₁, 1), σ₁²) (it can be negative); for images it is
            DDPM's discretised decoder (eq. 13).

            --diffusion binomial trains SD15's binomial diffusion of binary data instead
            (give image data with ,binarize, e.g. fashion-mnist,binarize): bits are
            flipped to fair coins at rates βₜ = 1/(T − t + 1) (--schedule reciprocal, the
            default for binomial; linear and cosine also work), the network sees xₜ as ±1
            and returns logits of x₀ = 1, and the loss is T · L_{t−1}, the variational
            bound in bits/dim at a uniformly drawn t. --prediction, --variance and --loss
            apply to gaussian only.

            The output folder holds run.json (settings), model.safetensors,
            ema.safetensors, optimizer.safetensors (m.NAME / v.NAME), state.json (step,
            generator and batch-sampler state, last loss; written last) and log.jsonl (one
            line per step). Every file is written atomically. --resume continues bit for
            bit from the folder (settings come from run.json; --steps may raise the
            total). Ctrl-C (SIGINT) or SIGTERM saves a checkpoint and exits cleanly.

            \(DataSpec.syntax)
            """)

    @Option(help: "Training data (see below).")
    var data: String?

    @Option(help: "Checkpoint folder.")
    var output: String

    @Option(help: "Network: toy, fashion, cifar10 or tiny (default from the data's shape).")
    var model: String?

    @Option(help: "Diffusion: gaussian (DDPM) or binomial (SD15, binary data).")
    var diffusion: String = "gaussian"

    @Option(help: "β schedule: linear (DDPM) or cosine (IDDPM); binomial also reciprocal (SD15, its default). Default linear.")
    var schedule: String?

    @Option(help: "Diffusion steps T.")
    var timesteps: Int = 1000

    @Option(help: "What the network predicts: noise, start or velocity.")
    var prediction: String = "noise"

    @Option(help: "Reverse variance: fixed-large, fixed-small, learned-range or learned.")
    var variance: String = "fixed-large"

    @Option(help: "Loss: simple, vlb or hybrid.")
    var loss: String = "simple"

    @Option(name: .customLong("batch-size"), help: "Batch size.")
    var batchSize: Int = 128

    @Option(help: "Total training steps (default 800000 for images, 10000 for points).")
    var steps: Int?

    @Option(name: .customLong("learning-rate"), help: "Adam learning rate.")
    var learningRate: Double = 2e-4

    @Option(help: "Linear learning-rate warm-up steps.")
    var warmup: Int = 5000

    @Option(name: .customLong("grad-clip"), help: "Clip gradients to this global norm (0 turns clipping off).")
    var gradClip: Double = 1.0

    @Option(name: .customLong("ema-decay"), help: "EMA decay of the weights.")
    var emaDecay: Double = 0.9999

    @Flag(help: "Random horizontal flips of images.")
    var flip = false

    @Option(help: "Seed for data, initialisation and training.")
    var seed: UInt64 = 0

    @Option(name: .customLong("checkpoint-every"), help: "Save a checkpoint every N steps (and always at the end).")
    var checkpointEvery: Int?

    @Option(name: .customLong("sample-every"), help: "Write a sample picture every N steps.")
    var sampleEvery: Int?

    @Flag(help: "Continue the run in --output.")
    var resume = false

    @OptionGroup var threads: ComputeOptions

    /// `--model tiny`: ch 16, multipliers (1, 2), 1 residual block per level, no attention, 8 groups,
    /// no dropout; for quick end-to-end checks, not for results.
    static let tinyUNet: UNetConfiguration = {
        var c = UNetConfiguration(
            ddpmResolution: 28, inChannels: 1, channels: 16, multipliers: [1, 2], residualBlocks: 1,
            attentionResolutions: [], dropout: 0, groups: 8)
        c.midBlockAttention = false
        return c
    }()

    static let varianceKinds: [String: VarianceKind] = ["fixed-large": .fixedLarge, "fixed-small": .fixedSmall, "learned-range": .learnedRange, "learned": .learned]

    func validate() throws {
        if !resume, data == nil { throw ValidationError("--data is required (unless --resume).") }
        guard let kind = DiffusionKind(rawValue: diffusion) else { throw ValidationError("--diffusion must be gaussian or binomial, got \"\(diffusion)\".") }
        if let schedule {
            switch kind {
            case .gaussian:
                guard ["linear", "cosine"].contains(schedule) else { throw ValidationError("--schedule must be linear or cosine, got \"\(schedule)\".") }
            case .binomial:
                guard ["reciprocal", "linear", "cosine"].contains(schedule) else {
                    throw ValidationError("--schedule must be reciprocal, linear or cosine for --diffusion binomial, got \"\(schedule)\".")
                }
            }
        }
        guard timesteps >= 1 else { throw ValidationError("--timesteps must be at least 1, got \(timesteps).") }
        guard MeanPrediction(rawValue: prediction) != nil else { throw ValidationError("--prediction must be noise, start or velocity, got \"\(prediction)\".") }
        guard Self.varianceKinds[variance] != nil else { throw ValidationError("--variance must be fixed-large, fixed-small, learned-range or learned, got \"\(variance)\".") }
        guard LossKind(name: loss) != nil else { throw ValidationError("--loss must be simple, vlb or hybrid, got \"\(loss)\".") }
        if let model { guard ["toy", "fashion", "cifar10", "tiny"].contains(model) else { throw ValidationError("--model must be toy, fashion, cifar10 or tiny, got \"\(model)\".") } }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize).") }
        if let steps { guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps).") } }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be a positive number, got \(learningRate).") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be 0 or more, got \(warmup).") }
        guard gradClip >= 0, gradClip.isFinite else { throw ValidationError("--grad-clip must be 0 or more, got \(gradClip).") }
        guard emaDecay >= 0, emaDecay <= 1 else { throw ValidationError("--ema-decay must be in [0, 1], got \(emaDecay).") }
        if let checkpointEvery { guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1, got \(checkpointEvery).") } }
        if let sampleEvery { guard sampleEvery >= 1 else { throw ValidationError("--sample-every must be at least 1, got \(sampleEvery).") } }
        if let threads = threads.threads { guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads).") } }
    }

    /// The network for data of `shape` ([D] or [C, H, W]).
    func modelSpec(for shape: [Int]) throws -> (String, ModelSpec) {
        let learned = diffusion == DiffusionKind.gaussian.rawValue && Self.varianceKinds[variance]!.isLearned
        let name = model ?? (shape.count == 1 ? "toy" : shape == [1, 28, 28] ? "fashion" : shape == [3, 32, 32] ? "cifar10" : "")
        switch name {
        case "toy":
            guard shape.count == 1 else { throw CommandFailure("--model toy needs 2-D points, but the data are images \(shape).") }
            return (name, .toy(ToyMLPConfiguration(dataDimension: shape[0], outputDimension: learned ? 2 * shape[0] : shape[0])))
        case "fashion", "cifar10", "tiny":
            guard shape.count == 3, shape[1] == shape[2] else { throw CommandFailure("--model \(name) needs square images, but the data have shape \(shape).") }
            var c = name == "tiny" ? Self.tinyUNet : UNetConfiguration.presets[name]!
            let levels = c.blockOutChannels.count
            guard shape[1] % (1 << (levels - 1)) == 0 else {
                throw CommandFailure("--model \(name): image size \(shape[1]) must be divisible by \(1 << (levels - 1)).")
            }
            c.sampleSize = shape[1]
            c.inChannels = shape[0]
            c.outChannels = learned ? 2 * shape[0] : shape[0]
            return (name, .unet(c))
        default:
            throw CommandFailure("--data gives examples of shape \(shape); no default network fits, pass --model toy, fashion or cifar10.")
        }
    }

    func run() throws {
        try threads.apply()
        let folder = URL(fileURLWithPath: output)

        // 1. Settings: from the flags, or from run.json when resuming. Everything is checked before anything is written.
        var settings: RunSettings
        if resume {
            guard Checkpoint.exists(in: folder) else { throw CommandFailure("--resume: \(folder.path) holds no checkpoint (no run.json / state.json).") }
            settings = try Checkpoint.readSettings(from: folder)
            if let steps { settings.steps = steps }
            if let checkpointEvery { settings.checkpointEvery = checkpointEvery }
            if let sampleEvery { settings.sampleEvery = sampleEvery }
        } else {
            if Checkpoint.exists(in: folder) {
                throw CommandFailure("--output \(folder.path) already holds a checkpoint; pass --resume to continue it or choose another folder.")
            }
            settings = RunSettings(
                data: data!, modelName: "", model: .toy(ToyMLPConfiguration()),
                schedule: schedule ?? (diffusion == DiffusionKind.binomial.rawValue ? "reciprocal" : "linear"), timesteps: timesteps,
                prediction: prediction, variance: variance, loss: loss, batchSize: batchSize, steps: steps ?? 0,
                learningRate: learningRate, warmup: warmup, gradClip: gradClip, emaDecay: emaDecay, flip: flip, seed: seed,
                checkpointEvery: checkpointEvery, sampleEvery: sampleEvery, diffusion: diffusion)
        }
        let spec: DataSpec
        do { spec = try DataSpec(parsing: settings.data) } catch { throw CommandFailure("--data: \(error)") }
        var root = PhiloxGenerator(seed: settings.seed)
        var dataGenerator = root.split()
        var initGenerator = root.split()
        let samplerGenerator = root.split()
        let trainGenerator = root.split()
        let dataset: Dataset
        do { dataset = try spec.load(split: .train, generator: &dataGenerator) } catch { throw CommandFailure("--data \(settings.data): \(error)") }
        if !resume {
            let (name, modelSpec) = try modelSpec(for: dataset.exampleShape)
            settings.modelName = name
            settings.model = modelSpec
            if settings.steps == 0 { settings.steps = dataset.isImages ? 800_000 : 10_000 }
        }
        guard settings.model.exampleShape == dataset.exampleShape else {
            throw CommandFailure("run.json: the model expects examples of shape \(settings.model.exampleShape) but --data gives \(dataset.exampleShape).")
        }
        let process = try settings.makeProcess()
        switch try settings.diffusionKind() {
        case .gaussian where dataset.isBinary:
            throw CommandFailure("--data \(settings.data) is binarised to {0, 1}; train binary data with --diffusion binomial.")
        case .binomial where !dataset.isBinary:
            throw CommandFailure("--diffusion binomial needs binary data: add ,binarize to an image --data (e.g. fashion-mnist,binarize).")
        default: break
        }

        // 2. Model, optimiser, EMA, sampler and generator: fresh or from the checkpoint.
        let network = settings.model.makeModel(generator: &initGenerator)
        let optimizer = Adam(learningRate: settings.learningRate, warmupSteps: settings.warmup)
        let ema = ExponentialMovingAverage(of: network, decay: settings.emaDecay)
        var sampler = BatchSampler(dataset: dataset, generator: samplerGenerator, randomFlips: settings.flip)
        var generator = trainGenerator
        var step = 0
        var lastLoss: Double?
        if resume {
            let state = try Checkpoint.readState(from: folder)
            try Checkpoint.restore(folder: folder, state: state, model: network, ema: ema, optimizer: optimizer)
            sampler = BatchSampler(dataset: dataset, state: state.sampler)
            generator = PhiloxGenerator(state: state.generator)
            step = state.step
            lastLoss = state.loss
            try Self.truncateLog(in: folder, after: step)
            note("resuming \(folder.path) at step \(step) of \(settings.steps)")
            if step >= settings.steps {
                note("already trained \(step) steps; pass a larger --steps to continue.")
                return
            }
        } else {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Checkpoint.writeSettings(settings, to: folder)
        }
        if resume { try Checkpoint.writeSettings(settings, to: folder) }
        note("train: \(dataset.name) \(dataset.count) × \(dataset.exampleShape), model \(settings.modelName) "
            + "(\(groupedThousands(network.parameterCount)) parameters), T = \(settings.timesteps), \(settings.steps) steps")

        // 3. Signals: finish the step, save, exit 0.
        stopRequested = 0
        // A parent may have spawned us with these blocked (Foundation's Process does); unblock them.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
        signal(SIGINT) { _ in stopRequested = 1 }
        signal(SIGTERM) { _ in stopRequested = 1 }
        defer {
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }

        let logURL = folder.appendingPathComponent(Checkpoint.logName)
        if !FileManager.default.fileExists(atPath: logURL.path) { FileManager.default.createFile(atPath: logURL.path, contents: nil) }
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }
        try log.seekToEnd()
        let lineEncoder = JSONEncoder()
        lineEncoder.outputFormatting = [.sortedKeys]

        func save() throws {
            let state = TrainingState(step: step, generator: generator.state, sampler: sampler.state, loss: lastLoss)
            try Checkpoint.save(folder: folder, model: network, ema: ema, optimizer: optimizer, state: state)
        }

        // 4. Algorithm 1.
        let T = process.stepCount
        let progress = Progress("train", total: settings.steps, unit: "steps")
        let started = Date()
        var savedStep = step
        while step < settings.steps {
            let stepStart = Date()
            let x0 = sampler.nextBatch(size: settings.batchSize).data
            let batch = x0.shape[0]
            let timestepIndices = (0..<batch).map { _ in generator.nextInt(below: T) }
            let noise = process.trainingNoise(like: x0, generator: &generator)
            let dropout = RandomSource(generator.split())
            let leaves = network.prepareForGradients()
            let lossTensor = try process.trainingLoss(
                model: { network($0, timesteps: $1, mode: .training(dropout)) }, start: x0, timesteps: timestepIndices, noise: noise
            ).mean()
            let value = lossTensor.item
            guard value.isFinite else {
                network.detachParameters()
                throw CommandFailure("training diverged at step \(step + 1): the loss is \(value). Stopped without saving; "
                    + "\(savedStep > 0 ? "the last good checkpoint (step \(savedStep)) is untouched" : "no checkpoint had been saved yet"). Try a smaller --learning-rate.")
            }
            var grads = gradients(of: lossTensor, withRespectTo: leaves)
            var norm: Double
            if settings.gradClip > 0 {
                (grads, norm) = clipByGlobalNorm(grads, maxNorm: settings.gradClip)
            } else {
                norm = clipByGlobalNorm(grads, maxNorm: .infinity).norm
            }
            network.detachParameters()
            guard norm.isFinite else {
                throw CommandFailure("training diverged at step \(step + 1): the gradient norm is \(norm). Stopped without saving; "
                    + "\(savedStep > 0 ? "the last good checkpoint (step \(savedStep)) is untouched" : "no checkpoint had been saved yet"). Try a smaller --learning-rate.")
            }
            optimizer.update(network.namedParameters, gradients: grads)
            ema.update(from: network)
            step += 1
            lastLoss = value
            let entry = LogEntry(step: step, loss: value, learningRate: optimizer.learningRate(atStep: optimizer.step),
                                 gradientNorm: norm, seconds: Date().timeIntervalSince(stepStart))
            log.write(try lineEncoder.encode(entry) + Data("\n".utf8))
            progress.update(step, [String(format: "loss %.4f", value)])

            if let every = settings.checkpointEvery, step % every == 0, step < settings.steps {
                try save()
                savedStep = step
            }
            if let every = settings.sampleEvery, step % every == 0 {
                try Self.preview(settings: settings, process: process, ema: ema, step: step, folder: folder)
            }
            if stopRequested != 0, step < settings.steps {
                try save()
                print("interrupted: saved a checkpoint at step \(step) of \(settings.steps) in \(folder.path); continue with --resume.")
                return
            }
        }
        try save()
        print(String(format: "trained to step %d in %.1f s; last loss %.5f; checkpoint in %@",
                     step, Date().timeIntervalSince(started), lastLoss ?? .nan, folder.path))
    }

    /// Drops log lines beyond the checkpoint's step (steps that were logged but never saved).
    static func truncateLog(in folder: URL, after step: Int) throws {
        let url = folder.appendingPathComponent(Checkpoint.logName)
        guard let data = try? Data(contentsOf: url) else { return }
        struct StepOnly: Decodable { var step: Int }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        let kept = lines.filter { line in
            (try? JSONDecoder().decode(StepOnly.self, from: Data(line.utf8)).step).map { $0 <= step } ?? false
        }
        if kept.count != lines.count {
            try AtomicFile.write(Data(kept.map { $0 + "\n" }.joined().utf8), to: url)
        }
    }

    /// Writes samples-STEP.png from the EMA weights, with its own generator (training randomness is untouched).
    static func preview(settings: RunSettings, process: DiffusionProcess, ema: ExponentialMovingAverage, step: Int, folder: URL) throws {
        var dummy = PhiloxGenerator(seed: 0)
        let model = settings.model.makeModel(generator: &dummy)
        ema.copy(into: model)
        var generator = PhiloxGenerator(seed: settings.seed &+ 0x5A4D_504C)
        let isImages = settings.model.exampleShape.count == 3
        let count = isImages ? 16 : 500
        // Gaussian image previews use 100 evenly respaced steps; binomial diffusion needs all T.
        var sampling = process
        if isImages, case .gaussian(let diffusion) = process {
            sampling = .gaussian(try diffusion.respaced(.even(count: min(100, diffusion.stepCount))))
        }
        let x = try sampling.sampleForDisplay(
            model: { model($0, timesteps: $1, mode: .evaluation) }, shape: [count] + settings.model.exampleShape, generator: &generator)
        let url = folder.appendingPathComponent("samples-\(step).png")
        try SampleCommand.picture(x).writePNG(to: url)
    }
}
