// `ddpm train`: parses the flags into a `TrainingConfiguration` and drives a `TrainingRun`
// (DDPM Algorithm 1 in the Training library), with progress, previews and a save on Ctrl-C.
import ArgumentParser
import DDPMDatasets
import DDPMDiffusion
import DDPMDistributed
import Foundation
import DDPMImaging
import DDPMMetrics
import DDPMModels
import DDPMTensors
import DDPMTraining

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
            DDPM's discretised decoder (eq. 13). --timestep-sampling loss-aware draws t by
            IDDPM's importance sampling (§3.3), useful with --loss vlb. --ema-warmup
            warms the EMA decay up as min(decay, (1 + n)/(10 + n)) at update n, so that a
            short run's average forgets the initial weights.

            --diffusion binomial trains SD15's binomial diffusion of binary data instead
            (give image data with ,binarize, e.g. fashion-mnist,binarize): bits are
            flipped to fair coins at rates βₜ = 1/(T − t + 1) (--schedule reciprocal, the
            default for binomial; linear and cosine also work), the network sees xₜ as ±1
            and returns logits of x₀ = 1, and the loss is T · L_{t−1}, the variational
            bound in bits/dim at a uniformly drawn t. --prediction, --variance and --loss
            apply to gaussian only.

            The output folder holds run.json (every setting, typed and versioned),
            log.jsonl (one line per step), loss.png and loss.svg (the training loss
            against the step, redrawn at each checkpoint; with --fid-every also fid.png
            and fid.svg, the FID against the step) and the current checkpoint:
            the link `checkpoint` to a folder checkpoint-STEP with model.safetensors,
            ema.safetensors, optimizer.safetensors (m.NAME / v.NAME) and state.json. A
            checkpoint is written in full under a temporary name and switched in by one
            atomic rename, so a crash leaves the previous one loadable. --resume continues
            bit for bit from the folder (settings come from run.json; --steps may raise
            the total); a run stopped before its first checkpoint resumes from step 0.
            All randomness is keyed by (seed, step, example), so a resumed run draws what
            an uninterrupted one would.

            --fid-every N evaluates FID and KID every N steps (as `ddpm fid` does): --fid-samples
            images drawn with the EMA weights by DDIM (η = 0, --fid-steps steps), quantised to
            bytes, against the first --fid-reference-count training images, whose statistics are
            computed once and cached in the run folder (fid-reference.npz). Each evaluation is a
            line of log.jsonl ({"step", "fid", "kidMean", "kidStandardDeviation", …}). The FID
            settings are stored in run.json (`fid`), so --resume continues them; --fid-every 0
            turns them off.

            Signals: Ctrl-C (SIGINT), SIGTERM or SIGHUP finish the step, save a checkpoint
            and exit with 128 + the signal (130, 143, 129; a second one ends at once);
            SIGUSR1 prints where training stands; SIGUSR2 saves a checkpoint and goes on.
            Exit codes: 0 trained to --steps, 1 failed (the last checkpoint is untouched),
            64 bad flags, 129/130/143 interrupted with a checkpoint saved.

            Data-parallel: under `mpirun -np N` (or `srun`) every rank runs the same
            command; --batch-size stays the global batch, each rank computes the
            gradients of its share, the shares' gradients are summed over the ranks
            (Open MPI, loaded at run time) while the backward pass runs, and every rank
            applies the same update. Rank 0 alone writes the folder and prints. The ranks
            check every --check-replicas-every steps that their weights still agree.
            --resume works with any number of ranks. --threads defaults to the rank's
            share of the machine's cores. A rank that fails stops the whole job.

            \(DataSpec.syntax)
            """)

    @Option(help: "Training data (see below).")
    var data: String?

    @Option(help: "Checkpoint folder.")
    var output: String

    @Option(
        help:
            "Start from a run.json-style settings file; the flags given override it (except those that change the network or the process).",
        completion: .file(extensions: ["json"]))
    var config: String?

    @Option(
        name: .customLong("model-config"),
        help: "Train the U-Net of a diffusers UNet2DModel config.json (sample_size and channels follow --data).",
        completion: .file(extensions: ["json"]))
    var modelConfig: String?

    @Option(help: "Network (default from the data's shape).")
    var model: ModelArchitecture?

    @Option(help: "Diffusion: gaussian (DDPM) or binomial (SD15, binary data).")
    var diffusion: ProcessKind = .gaussian

    @Option(help: "β schedule: linear (DDPM) or cosine (IDDPM); binomial also reciprocal (SD15, its default). Default linear.")
    var schedule: ScheduleName?

    @Option(help: "Diffusion steps T.")
    var timesteps: Int = 1000

    @Option(help: "What the network predicts.")
    var prediction: MeanPrediction = .noise

    @Option(help: "Reverse variance.")
    var variance: VarianceKind = .fixedLarge

    @Option(help: "Loss: simple (eq. 14), vlb (the bound, eq. 5) or hybrid (IDDPM).")
    var loss: LossName = .simple

    @Option(name: .customLong("timestep-sampling"), help: "How t is drawn: uniform (Algorithm 1) or loss-aware (IDDPM §3.3).")
    var timestepSampling: TimestepSamplingName = .uniform

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

    @Flag(name: .customLong("ema-warmup"), help: "Warm the EMA decay up as min(decay, (1 + n)/(10 + n)).")
    var emaWarmup = false

    @Flag(help: "Random horizontal flips of images.")
    var flip = false

    @Option(help: "Seed for data, initialisation and training.")
    var seed: UInt64 = 0

    @Option(name: .customLong("checkpoint-every"), help: "Save a checkpoint every N steps (and always at the end).")
    var checkpointEvery: Int?

    @Option(name: .customLong("sample-every"), help: "Write a sample picture every N steps.")
    var sampleEvery: Int?

    @Option(
        name: .customLong("keep-checkpoints"),
        help: "Keep the N checkpoints before the latest (checkpoint-STEP/ folders, which every command takes as --checkpoint).")
    var keepCheckpoints: Int?

    @Flag(help: "Continue the run in --output.")
    var resume = false

    @Option(name: .customLong("check-replicas-every"), help: "Under MPI: check every N steps that all ranks hold the same weights.")
    var checkReplicasEvery: Int = 100

    @Option(
        name: .customLong("bucket-mb"),
        help: "Under MPI: megabytes of gradients summed over the ranks per message while the backward pass runs.")
    var bucketMB: Double = 25

    @Option(
        name: .customLong("fid-every"),
        help: "Every N steps, log FID and KID of EMA samples against the training data to log.jsonl (see `ddpm fid`).")
    var fidEvery: Int?

    @Option(name: .customLong("fid-samples"), help: "Samples per FID evaluation (default: 1000).")
    var fidSamples: Int?

    @Option(name: .customLong("fid-steps"), help: "DDIM steps (η = 0) per FID sample (default: 50).")
    var fidSteps: Int?

    @Option(
        name: .customLong("fid-reference-count"),
        help: "Training images in the FID reference statistics (computed once, cached in the run folder; default: 10000).")
    var fidReferenceCount: Int?

    @Option(
        name: .customLong("fid-weights"), help: "The FID Inception weights (as `ddpm fid --weights`).",
        completion: .file(extensions: ["pth", "safetensors"]))
    var fidWeights: String?

    @OptionGroup var threads: ComputeOptions

    func validate() throws {
        if !resume, data == nil, config == nil { throw ValidationError("--data is required (unless --resume or --config).") }
        if resume, config != nil || modelConfig != nil {
            throw ValidationError("--config and --model-config start a new run; --resume takes its settings from the run's run.json.")
        }
        if modelConfig != nil, model != nil {
            throw ValidationError("--model and --model-config both choose the network: pass one of them.")
        }
        if config != nil {
            let fixed = Self.processFlags.filter { Self.givenFlags.contains($0) }
            if !fixed.isEmpty {
                throw ValidationError(
                    "--config: " + fixed.map { "--\($0)" }.joined(separator: ", ")
                        + " would change the network or the process the file describes; edit the file's model/process instead.")
            }
        }
        if diffusion == .gaussian, schedule == .reciprocal {
            throw ValidationError("--schedule reciprocal (β_T = 1) is for --diffusion binomial; Gaussian diffusion takes linear or cosine.")
        }
        guard !output.isEmpty else { throw ValidationError("--output must name a folder, got an empty string.") }
        let maxT = TrainingConfiguration.maximumTimesteps, maxBatch = TrainingConfiguration.maximumBatchSize
        guard (1...maxT).contains(timesteps) else { throw ValidationError("--timesteps must be in 1…\(maxT), got \(timesteps).") }
        guard (1...maxBatch).contains(batchSize) else { throw ValidationError("--batch-size must be in 1…\(maxBatch), got \(batchSize).") }
        if let steps { guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps).") } }
        guard learningRate > 0, learningRate.isFinite else {
            throw ValidationError("--learning-rate must be a positive number, got \(learningRate).")
        }
        guard warmup >= 0 else { throw ValidationError("--warmup must be 0 or more, got \(warmup).") }
        guard gradClip >= 0, gradClip.isFinite else { throw ValidationError("--grad-clip must be 0 or more, got \(gradClip).") }
        guard emaDecay >= 0, emaDecay <= 1 else { throw ValidationError("--ema-decay must be in [0, 1], got \(emaDecay).") }
        if let checkpointEvery {
            guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1, got \(checkpointEvery).") }
        }
        if let sampleEvery {
            guard sampleEvery >= 1 else { throw ValidationError("--sample-every must be at least 1, got \(sampleEvery).") }
        }
        if let keepCheckpoints {
            guard keepCheckpoints >= 0 else { throw ValidationError("--keep-checkpoints must be at least 0, got \(keepCheckpoints).") }
        }
        guard checkReplicasEvery >= 1 else {
            throw ValidationError("--check-replicas-every must be at least 1, got \(checkReplicasEvery).")
        }
        guard bucketMB > 0, bucketMB <= 2048 else { throw ValidationError("--bucket-mb must be in (0, 2048], got \(bucketMB).") }
        if let fidEvery { guard fidEvery >= 0 else { throw ValidationError("--fid-every must be 0 (off) or more, got \(fidEvery).") } }
        if let fidSamples { guard fidSamples >= 2 else { throw ValidationError("--fid-samples must be at least 2, got \(fidSamples).") } }
        if let fidSteps { guard fidSteps >= 1 else { throw ValidationError("--fid-steps must be at least 1, got \(fidSteps).") } }
        if let fidReferenceCount {
            guard fidReferenceCount >= 2 else {
                throw ValidationError("--fid-reference-count must be at least 2, got \(fidReferenceCount).")
            }
        }
    }

    /// The flags that fix the network or the process, which a --config file describes instead.
    static let processFlags = [
        "model", "model-config", "diffusion", "schedule", "timesteps", "prediction", "variance", "loss", "timestep-sampling",
    ]

    /// The long flags on the command line (`--name` or `--name=value`), to tell a flag given from
    /// its default when --config supplies the settings.
    static let givenFlags: Set<String> = Set(
        CommandLine.arguments.dropFirst().prefix { $0 != "--" }.filter { $0.hasPrefix("--") }.map {
            String($0.dropFirst(2).prefix { $0 != "=" })
        })

    /// The settings `file` read from --config `path`, for data with examples of `shape`, with the
    /// flags given applied.
    func fileConfiguration(_ file: TrainingConfiguration, path: String, exampleShape shape: [Int]) throws -> TrainingConfiguration {
        var c = file
        guard c.exampleShape == shape else {
            throw CommandFailure(
                "--config \(path): its network takes examples of shape \(c.exampleShape), but --data \(data ?? c.data) gives \(shape).")
        }
        let given = Self.givenFlags
        if let data { c.data = data }
        if let steps { c.steps = steps }
        if given.contains("learning-rate") { c.optimizer.learningRate = learningRate }
        if given.contains("warmup") { c.optimizer.warmupSteps = warmup }
        if given.contains("ema-decay") { c.ema.decay = emaDecay }
        if emaWarmup { c.ema.warmup = true }
        if given.contains("grad-clip") { c.gradientClipNorm = gradClip > 0 ? gradClip : nil }
        if given.contains("batch-size") { c.batchSize = batchSize }
        if given.contains("seed") { c.seed = seed }
        if flip { c.randomFlips = true }
        if let checkpointEvery { c.checkpointEvery = checkpointEvery }
        if let sampleEvery { c.sampleEvery = sampleEvery }
        if let keepCheckpoints { c.keepCheckpoints = keepCheckpoints }
        c.fid = fidSettings(c.fid)
        c.createdWith = nil
        try CommandFailure.wrap("--config \(path): ") { try c.validate() }
        return c
    }

    /// The settings of a new run from the flags, for data with examples of `shape`.
    /// `file` is the --config file's settings, when one is given.
    func newConfiguration(exampleShape shape: [Int], file: TrainingConfiguration? = nil) throws -> TrainingConfiguration {
        if let config, let file { return try fileConfiguration(file, path: config, exampleShape: shape) }
        if let modelConfig { return try customConfiguration(modelConfig, exampleShape: shape) }
        guard let architecture = model ?? ModelArchitecture.defaultFor(exampleShape: shape) else {
            throw CommandFailure(
                "--data gives examples of shape \(shape); no default network fits, pass --model toy, fashion, cifar10 or tiny.")
        }
        let process = processConfiguration(exampleShape: shape)
        let c = try CommandFailure.wrap("--model \(architecture.rawValue): ") {
            try TrainingConfiguration(data: data!, exampleShape: shape, architecture: architecture, process: process, steps: steps)
        }
        return applyingFlags(to: c)
    }

    /// The settings of a run of the U-Net in the diffusers config.json at `path`.
    func customConfiguration(_ path: String, exampleShape shape: [Int]) throws -> TrainingConfiguration {
        let url = URL(fileURLWithPath: path)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw CommandFailure("--model-config \(path): no such file.")
        }
        let unet = try CommandFailure.wrap("--model-config: ") { () throws -> UNetConfiguration in
            if isFolder.boolValue { return try DiffusersFolder.configuration(at: url) }
            let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
            guard size <= 1 << 20 else { throw CommandFailure("\(path) is \(size) bytes; a config.json is a few hundred.") }
            var data = try Data(contentsOf: url)
            // sample_size follows --data: a config without it (diffusers' default is None) is completed.
            if var object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["sample_size"] == nil {
                object["sample_size"] = shape.count == 3 ? shape[1] : 32
                data = try JSONSerialization.data(withJSONObject: object)
            }
            return try UNetConfiguration(diffusersConfig: data, file: url.path)
        }
        let c = try CommandFailure.wrap("--model-config \(path): ") {
            try TrainingConfiguration(
                data: data!, exampleShape: shape, unet: unet, process: processConfiguration(exampleShape: shape), steps: steps)
        }
        return applyingFlags(to: c)
    }

    /// The process of the flags for examples of `shape`.
    func processConfiguration(exampleShape shape: [Int]) -> ProcessConfiguration {
        ProcessConfiguration(
            kind: diffusion, schedule: schedule?.schedule, timesteps: timesteps,
            gaussian: GaussianChoices(
                prediction: prediction, variance: variance, loss: loss.loss,
                decoder: shape.count == 1 ? .continuous : .discretized))
    }

    /// `c` with the flags' training settings (optimiser, EMA, batch, seed, saving).
    func applyingFlags(to c: TrainingConfiguration) -> TrainingConfiguration {
        var c = c
        c.timestepSampling = timestepSampling.sampling
        c.optimizer = OptimizerConfiguration(learningRate: learningRate, warmupSteps: warmup)
        c.ema = EMAConfiguration(decay: emaDecay, warmup: emaWarmup)
        c.gradientClipNorm = gradClip > 0 ? gradClip : nil
        c.batchSize = batchSize
        c.seed = seed
        c.randomFlips = flip
        c.checkpointEvery = checkpointEvery
        c.sampleEvery = sampleEvery
        c.keepCheckpoints = keepCheckpoints
        c.fid = fidSettings(c.fid)
        return c
    }

    /// A new run in `folder` from the flags; nothing is written unless every check passes. Under
    /// MPI every rank loads its data and checks the flags; rank 0 alone checks and writes the folder.
    func startRun(in folder: URL, world: Communicator) throws -> TrainingRun {
        let (dataset, configuration) = try world.agree {
            guard batchSize >= world.size else {
                throw CommandFailure(
                    "--batch-size \(batchSize) cannot be shared by \(world.size) ranks: every rank needs at least one example "
                        + "of each batch. Pass --batch-size \(world.size) or more, or start fewer ranks.")
            }
            if world.isRoot, TrainingRun.exists(in: folder) {
                throw CommandFailure("--output \(folder.path) already holds a run; pass --resume to continue it or choose another folder.")
            }
            // With --config, the data and the seed that generates them come from the file unless given.
            let file = try config.map { path in
                try CommandFailure.wrap("--config: ") { try TrainingConfiguration.load(from: URL(fileURLWithPath: path)).configuration }
            }
            let dataSeed = file != nil && !Self.givenFlags.contains("seed") ? file!.seed : seed
            let dataset = try CommandFailure.wrap("--data: ") { try TrainingRun.loadData(data ?? file!.data, seed: dataSeed) }
            return (dataset, try checkedConfiguration(for: dataset, file: file))
        }
        guard world.size == 1 else {
            return try TrainingRun.start(configuration, dataset: dataset, in: folder, communicator: world, bucketBytes: bucketBytes)
        }
        return try CommandFailure.wrap("") { try TrainingRun.start(configuration, dataset: dataset, in: folder) }
    }

    /// The settings of the flags (and of the --config `file`) for `dataset`, checked against it.
    func checkedConfiguration(for dataset: Dataset, file: TrainingConfiguration? = nil) throws -> TrainingConfiguration {
        let configuration = try newConfiguration(exampleShape: dataset.exampleShape, file: file)
        let process = try CommandFailure.wrap("") { try configuration.process.makeProcess() }
        if dataset.isBinary, !process.diffusesBinaryData {
            throw CommandFailure("--data \(configuration.data) is binarised to {0, 1}; train binary data with --diffusion binomial.")
        }
        if !dataset.isBinary, process.diffusesBinaryData {
            throw CommandFailure(
                "--diffusion \(diffusion.rawValue) needs binary data: add ,binarize to an image --data (e.g. fashion-mnist,binarize).")
        }
        return configuration
    }

    /// The FID settings: `stored` (run.json's, or a --config file's) with the --fid-* flags given
    /// applied; --fid-every 0 turns FID off.
    func fidSettings(_ stored: FIDConfiguration?) -> FIDConfiguration? {
        guard let every = fidEvery ?? stored?.every, every > 0 else { return nil }
        var settings = stored ?? FIDConfiguration(every: every)
        settings.every = every
        if let fidSamples { settings.samples = fidSamples }
        if let fidSteps { settings.steps = fidSteps }
        if let fidReferenceCount { settings.referenceCount = fidReferenceCount }
        if let fidWeights { settings.weights = fidWeights }
        return settings
    }

    /// --bucket-mb in bytes.
    var bucketBytes: Int { max(1, Int(bucketMB * 1_048_576)) }

    /// The run in `folder`, with --steps, --checkpoint-every and --sample-every applied. Under MPI
    /// rank 0 reads the folder and the other ranks receive its settings and state.
    func resumeRun(in folder: URL, world: Communicator) throws -> TrainingRun {
        try world.agree {
            if world.isRoot, !TrainingRun.exists(in: folder) {
                throw CommandFailure("--resume: \(folder.path) holds no run (no run.json); start one without --resume.")
            }
        }
        let adjust = { (c: inout TrainingConfiguration) in
            if let steps { c.steps = steps }
            if let checkpointEvery { c.checkpointEvery = checkpointEvery }
            if let sampleEvery { c.sampleEvery = sampleEvery }
            if let keepCheckpoints { c.keepCheckpoints = keepCheckpoints }
            c.fid = fidSettings(c.fid)
        }
        guard world.size == 1 else { return try TrainingRun.resume(folder, communicator: world, bucketBytes: bucketBytes, adjust: adjust) }
        return try CommandFailure.wrap("") { try TrainingRun.resume(folder, adjust: adjust) }
    }

    func run() throws {
        try MPIJob.run(threads: threads, abortNote: "the last checkpoint is untouched: continue with --resume.") { try train(world: $0) }
    }

    /// Refuses FID under MPI and without the weights file.
    func checkFID(_ settings: FIDConfiguration, world: Communicator) throws {
        if world.size > 1 {
            throw FailureOnEveryRank(
                description:
                    "--fid-every: FID during data-parallel training is not supported yet; pass --fid-every 0, and run `ddpm fid` on a checkpoint."
            )
        }
        let weights = FIDCommand.weightsURL(settings.weights)
        if !FileManager.default.fileExists(atPath: weights.path) { throw CommandFailure(MetricsError.missingWeights(weights).description) }
    }

    /// The training loop; under MPI every rank runs it, rank 0 alone prints.
    func train(world: Communicator) throws {
        let isRoot = world.isRoot
        func tell(_ message: String) { if isRoot { note(message) } }
        let folder = URL(fileURLWithPath: output)
        // A new run's FID settings are checked before anything is written; a resumed run's come from run.json.
        if !resume, let settings = fidSettings(nil) { try checkFID(settings, world: world) }
        // The font of loss.png, checked before anything is written (rank 0 alone draws).
        try world.agree { if isRoot { try Pictures.requireFont() } }
        let run = resume ? try resumeRun(in: folder, world: world) : try startRun(in: folder, world: world)
        run.replicaCheckInterval = checkReplicasEvery
        let fid = try run.configuration.fid.map { settings in
            try checkFID(settings, world: world)
            return try TrainingFID(
                run: run, weights: FIDCommand.weightsURL(settings.weights), samples: settings.samples, steps: settings.steps,
                referenceCount: settings.referenceCount)
        }
        let trainer = run.trainer, settings = run.configuration
        for line in run.notes { tell(line) }
        if resume {
            tell("resuming \(folder.path) at step \(trainer.step) of \(settings.steps)")
            if run.isFinished {
                tell("already trained \(trainer.step) steps; pass a larger --steps to continue.")
                return
            }
        }
        tell(
            "train: \(run.dataset.name) \(run.dataset.count) × \(run.dataset.exampleShape), model \(settings.architecture.rawValue) "
                + "(\(groupedThousands(trainer.network.parameterCount)) parameters), T = \(settings.process.timesteps), \(settings.steps) steps"
        )
        if let parallel = run.dataParallel {
            tell(
                "data-parallel over \(world.size) ranks (\(ComputeThreads.count) thread\(ComputeThreads.count == 1 ? "" : "s") each): "
                    + "batch \(settings.batchSize), rank 0 computes \(parallel.examples.count) examples per step")
        }

        // Signals (received on the signal thread, see `SignalGuard`): SIGINT, SIGTERM, SIGHUP finish
        // the step, save and exit 0 (a second one ends at once); SIGUSR1 prints where training
        // stands; SIGUSR2 saves a checkpoint and continues.
        let status = StatusLine("status: starting at step \(trainer.step) of \(settings.steps)")
        SignalGuard.reset()
        SignalGuard.statusHandler = { writeStandardError(status.text + "\n") }
        SignalGuard.stopsAreHandled = true
        defer {
            SignalGuard.stopsAreHandled = false
            SignalGuard.statusHandler = nil
        }

        let progress = isRoot ? Progress("train", total: settings.steps, unit: "steps", startingAt: trainer.step) : nil
        let started = Date()
        var savedStep = Checkpoint.location(in: folder) == nil ? nil : trainer.step
        var lossCurveFailed = false
        func save() throws {
            if world.size > 1 { try run.saveCheckpoint() } else { try CommandFailure.wrap("") { try run.saveCheckpoint() } }
            savedStep = trainer.step
            // loss.png and loss.svg (rank 0): a picture that cannot be written is noted once and
            // does not stop training.
            do { try run.writeLossCurve() } catch {
                if !lossCurveFailed { tell("\(error) Training goes on without the loss curve.") }
                lossCurveFailed = true
            }
        }
        while !run.isFinished {
            let report: Trainer.StepReport
            do { report = try run.step() } catch let error as TrainingError {
                let message =
                    "\(error) Stopped without saving; "
                    + (savedStep.map { "the last good checkpoint (step \($0)) is untouched." } ?? "no checkpoint had been saved yet.")
                // Every rank applies the same gradients, so every rank finds the same divergence.
                throw world.size > 1 ? FailureOnEveryRank(description: message) : CommandFailure(message)
            }
            progress?.update(report.step, [String(format: "loss %.4f", report.loss)])
            status.text = String(
                format: "status: step %d of %d · loss %.5f · %.1f s · last checkpoint %@", report.step, settings.steps,
                report.loss, Date().timeIntervalSince(started), savedStep.map { "step \($0)" } ?? "none")
            // Under MPI the signals reach the ranks at different moments: they act on them together,
            // at the first step where any rank has seen one.
            var stopSignal = SignalGuard.stopSignal
            var asked = SignalGuard.takeCheckpointRequest()
            if world.size > 1 {
                var flags = [Double(stopSignal ?? 0), asked ? 1 : 0]
                try world.allReduceMax(&flags)
                stopSignal = flags[0] > 0 ? Int32(flags[0]) : nil
                asked = flags[1] > 0
            }
            if let every = settings.checkpointEvery, report.step % every == 0, !run.isFinished {
                try save()
            } else if asked, !run.isFinished {
                try save()
                tell("saved a checkpoint at step \(trainer.step) (SIGUSR2)")
            }
            if let every = settings.sampleEvery, report.step % every == 0 {
                _ = try CommandFailure.wrap("") {
                    try run.writePreview(count: run.dataset.isImages ? 16 : 500, writer: Pictures.writeSamples)
                }
            }
            if let fid, let every = settings.fid?.every, report.step % every == 0 {
                let entry = try fid.evaluate(run)
                run.appendToLog(entry)
                note(
                    String(format: "step %d: FID %.3f", entry.step, entry.fid)
                        + (entry.kidMean.map { String(format: ", KID %.5f ± %.5f", $0, entry.kidStandardDeviation ?? 0) } ?? "")
                        + " (\(entry.fidSamples) EMA samples, DDIM \(entry.fidSteps) steps, \(entry.fidReferenceImages) training images)")
            }
            if let signal = stopSignal, !run.isFinished {
                try save()
                if isRoot {
                    print(
                        "interrupted: saved a checkpoint at step \(trainer.step) of \(settings.steps) in \(folder.path); continue with --resume."
                    )
                }
                throw ExitCode(128 + signal)  // as shells report a command ended by the signal: 130 SIGINT, 143 SIGTERM
            }
        }
        try save()
        if let failure = run.logFailure { tell("some log lines were lost: \(failure)") }
        if isRoot {
            print(
                String(
                    format: "trained to step %d in %.1f s; last loss %.5f; checkpoint in %@",
                    trainer.step, Date().timeIntervalSince(started), trainer.lastLoss ?? .nan, folder.path))
        }
    }
}
