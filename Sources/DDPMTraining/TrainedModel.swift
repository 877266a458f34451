// A trained network with the diffusion process it was trained for, loaded from a run folder or a
// diffusers model folder: what sampling and the analyses take.
import DDPMDatasets
import DDPMDiffusion
import Foundation
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors

/// A network with the diffusion process it was trained for.
public struct TrainedModel {
    /// The network f_θ(xₜ, t) with the loaded weights (the EMA unless raw weights were asked for).
    public let network: any DenoisingModel
    /// The diffusion process the network was trained for (schedule, T, prediction, variance).
    public let process: any DiffusionProcess
    /// One example's shape: [C, H, W] for images, [D] for points.
    public let exampleShape: [Int]
    /// The run's settings; nil for a diffusers folder.
    public let configuration: TrainingConfiguration?
    /// For EMA weights: the share ∏ dₙ of the average that is still the initial weights (nil for
    /// raw weights and diffusers folders). Above 1 % the samples are pulled toward the untrained
    /// network (with DDPM's near-zero output initialisation, toward predicting no noise).
    public let emaInitialWeight: Double?
    /// For a diffusers folder: the scheduler its scheduler_config.json describes, which sampling
    /// follows step for step (nil for a run folder).
    public let scheduler: DiffusersScheduler?
    /// For a diffusers folder whose scheduler is a DPMSolverMultistepScheduler or
    /// UniPCMultistepScheduler: its solver settings, the model's default sampler.
    public let solver: SolverSchedulerSettings?
    /// What the folder says that is not followed, or was assumed, one line each (unknown keys, a
    /// missing scheduler_config.json, another pipeline class); shown as warnings by the tool.
    public let warnings: [String]

    /// A trained model from its parts; ``load(_:weights:)`` builds one from a folder.
    public init(
        network: any DenoisingModel, process: any DiffusionProcess, exampleShape: [Int],
        configuration: TrainingConfiguration? = nil, emaInitialWeight: Double? = nil,
        scheduler: DiffusersScheduler? = nil, solver: SolverSchedulerSettings? = nil, warnings: [String] = []
    ) {
        self.network = network
        self.process = process
        self.exampleShape = exampleShape
        self.configuration = configuration
        self.emaInitialWeight = emaInitialWeight
        self.scheduler = scheduler
        self.solver = solver
        self.warnings = warnings
    }

    /// Whether examples are images ([C, H, W]) rather than points ([D]).
    public var isImages: Bool { exampleShape.count == 3 }

    /// The network in evaluation mode as the Diffusion module calls it.
    public var model: DiffusionModel {
        let network = network
        return { network($0, timesteps: $1, mode: .evaluation) }
    }

    /// Which weights of a run folder to load.
    public enum Weights: Sendable {
        /// The exponential moving average (DDPM samples with it).
        case ema
        /// The weights as last updated by Adam.
        case raw
    }

    /// Loads `folder`: a diffusers pipeline folder (model_index.json with unet/ and scheduler/), a
    /// diffusers model folder (config.json; its scheduler_config.json beside it or in
    /// ../scheduler/), or else a run folder's current checkpoint, or one of its `checkpoint-STEP`
    /// folders (kept by ``TrainingConfiguration/keepCheckpoints``) given directly.
    ///
    /// A diffusers model samples as its scheduler config says (``scheduler``, read completely by
    /// ``SchedulerConfigFile``); without one, diffusers' `DDPMScheduler` defaults apply (linear β
    /// from 1e-4 to 0.02, T = 1000, ε, fixed-small variance, x̂₀ clipped to [−1, 1]) and
    /// ``warnings`` says so.
    /// - Throws: `TrainingError` or the model loader's error, naming the file and key.
    public static func load(_ folder: URL, weights: Weights = .ema) throws -> TrainedModel {
        if let diffusers = try DiffusersLayout(folder) {
            return try loadDiffusers(diffusers)
        }
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw TrainingError.invalidFile(path: folder.path, message: "no such folder.")
        }
        // A run folder (its current checkpoint) or one of its checkpoint-STEP folders.
        let milestone = Checkpoint.runAndLocation(ofCheckpointFolder: folder)
        let run = milestone?.run ?? folder
        let (configuration, _) = try TrainingConfiguration.load(from: run.appendingPathComponent(TrainingConfiguration.fileName))
        guard let location = milestone?.location ?? Checkpoint.location(in: run) else {
            throw TrainingError.invalidFile(
                path: folder.path, message: "holds no checkpoint yet (training stopped before its first save); resume it to train.")
        }
        let state = try Checkpoint.readState(location)
        var unused = PhiloxGenerator(seed: 0)
        let network = configuration.model.makeModel(generator: &unused)
        let file = try Checkpoint.open(weights == .ema ? Checkpoint.emaName : Checkpoint.modelName, in: location.folder, step: state.step)
        try Checkpoint.loadParameters(network, from: file)
        var initialWeight: Double?
        if weights == .ema {
            let ema = ExponentialMovingAverage(of: network, decay: configuration.ema.decay, warmup: configuration.ema.warmup)
            ema.restore([:], updates: state.emaUpdates)
            initialWeight = ema.initialWeight
        }
        return TrainedModel(
            network: network, process: try configuration.process.makeProcess(), exampleShape: configuration.exampleShape,
            configuration: configuration, emaInitialWeight: initialWeight)
    }

    /// A diffusers model from its folders.
    static func loadDiffusers(_ layout: DiffusersLayout) throws -> TrainedModel {
        let unet = try DiffusersFolder.load(layout.unet)
        let c = unet.configuration
        var warnings = layout.warnings
        let scheduler: DiffusersScheduler
        var solver: SolverSchedulerSettings?
        if let url = layout.schedulerConfig {
            let file = try SchedulerConfigFile.read(url)
            warnings += file.warnings
            scheduler = file.scheduler
            solver = file.solver
        } else {
            let learned = c.outChannels == 2 * c.inChannels
            warnings.append(
                "\(layout.unet.path): no scheduler_config.json beside config.json or in ../scheduler/; sampling with "
                    + "diffusers' DDPMScheduler defaults (linear β 1e-4…0.02, T = 1000, epsilon, \(learned ? "learned_range" : "fixed_small"), clip_sample)."
            )
            scheduler = try SchedulerConfigFile(learned ? ["variance_type": "learned_range"] : [:], path: "defaults").scheduler
        }
        let learned = scheduler.variance == .learnedRange
        guard c.outChannels == (learned ? 2 : 1) * c.inChannels else {
            throw TrainingError.invalidFile(
                path: layout.schedulerConfig?.path ?? layout.unet.path,
                message:
                    "variance_type \(scheduler.variance.rawValue) needs a network with \(learned ? "twice the" : "as many") output channels "
                    + "as input channels; config.json says in_channels \(c.inChannels), out_channels \(c.outChannels).")
        }
        let diffusion = try GaussianDiffusion(
            schedule: DiffusionSchedule(betas: scheduler.betas), meanPrediction: scheduler.prediction,
            varianceKind: scheduler.variance.varianceKind)
        return TrainedModel(
            network: unet, process: diffusion, exampleShape: [c.inChannels, c.sampleSize, c.sampleSize],
            scheduler: scheduler, solver: solver, warnings: warnings)
    }

    /// The largest T read from a scheduler_config.json (DDPM uses 1000; every coefficient table
    /// has T entries).
    public static let maximumTrainingSteps = 100_000

    /// The model's data, `spec` or the run's training data, as `split`, checked against the
    /// model's example shape and data kind (binary or not).
    public func data(_ spec: String?, split: DataSplit, seed: UInt64) throws -> Dataset {
        guard let text = spec ?? configuration?.data else {
            throw TrainingError.invalidSetting(
                key: "--data", message: "required for a diffusers model folder (it has no training data recorded).")
        }
        let parsed: DataSpec
        do { parsed = try DataSpec(parsing: text) } catch { throw TrainingError.invalidSetting(key: "--data", message: "\(error)") }
        // Generated data: the test split gets a generator of its own.
        var generator = PhiloxGenerator(seed: split == .test ? seed ^ 0x7E57_DA7A : seed)
        let dataset: Dataset
        do { dataset = try parsed.load(split: split, generator: &generator) } catch {
            throw TrainingError.invalidSetting(key: "--data", message: "\(text): \(error)")
        }
        guard dataset.exampleShape == exampleShape else {
            throw TrainingError.dataMismatch(
                "--data \(text): examples have shape \(dataset.exampleShape) but the model takes \(exampleShape).")
        }
        if dataset.isBinary && !process.diffusesBinaryData {
            throw TrainingError.dataMismatch(
                "--data \(text): binarised data, but the model is a Gaussian diffusion of 8-bit data; drop ,binarize.")
        }
        if !dataset.isBinary && process.diffusesBinaryData {
            throw TrainingError.dataMismatch("--data \(text): the model is a binomial diffusion of binary data; add ,binarize.")
        }
        return dataset
    }
}
