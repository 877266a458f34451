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

    /// A trained model from its parts; ``load(_:weights:)`` builds one from a folder.
    public init(network: any DenoisingModel, process: any DiffusionProcess, exampleShape: [Int],
                configuration: TrainingConfiguration? = nil, emaInitialWeight: Double? = nil) {
        self.network = network
        self.process = process
        self.exampleShape = exampleShape
        self.configuration = configuration
        self.emaInitialWeight = emaInitialWeight
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

    /// Loads `folder`: a diffusers folder when it holds config.json (linear β schedule, T from
    /// scheduler_config.json or 1000, ε-prediction, fixed-large variance, learned range when the
    /// network returns twice the input channels), else a run folder's current checkpoint.
    public static func load(_ folder: URL, weights: Weights = .ema) throws -> TrainedModel {
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent(DiffusersFolder.configName).path) {
            let unet = try DiffusersFolder.load(folder)
            let c = unet.configuration
            let diffusion = try GaussianDiffusion(
                schedule: DiffusionSchedule(.ddpm, stepCount: try diffusersTrainingSteps(folder)),
                varianceKind: c.outChannels == 2 * c.inChannels ? .learnedRange : .fixedLarge)
            return TrainedModel(network: unet, process: diffusion, exampleShape: [c.inChannels, c.sampleSize, c.sampleSize])
        }
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw TrainingError.invalidFile(path: folder.path, message: "no such folder.")
        }
        let (configuration, _) = try TrainingConfiguration.load(from: folder.appendingPathComponent(TrainingConfiguration.fileName))
        guard let location = Checkpoint.location(in: folder) else {
            throw TrainingError.invalidFile(path: folder.path, message: "holds no checkpoint yet (training stopped before its first save); resume it to train.")
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
        return TrainedModel(network: network, process: try configuration.process.makeProcess(), exampleShape: configuration.exampleShape,
                            configuration: configuration, emaInitialWeight: initialWeight)
    }

    /// The largest T read from a scheduler_config.json (DDPM uses 1000; every coefficient table
    /// has T entries).
    public static let maximumTrainingSteps = 100_000

    /// T of a diffusers model: `num_train_timesteps` of scheduler_config.json beside config.json or
    /// in ../scheduler/, else 1000.
    /// - Throws: `TrainingError.invalidFile` naming the file and the key when the value is not an
    ///   integer in 1…`maximumTrainingSteps`.
    public static func diffusersTrainingSteps(_ folder: URL) throws -> Int {
        for candidate in [folder.appendingPathComponent("scheduler_config.json"),
                          folder.deletingLastPathComponent().appendingPathComponent("scheduler/scheduler_config.json")] {
            guard let data = try? Data(contentsOf: candidate) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TrainingError.invalidFile(path: candidate.path, message: "not a JSON object.")
            }
            guard let value = object["num_train_timesteps"], !(value is NSNull) else { continue }
            guard let steps = DiffusersJSON.integer(value), (1...maximumTrainingSteps).contains(steps) else {
                throw TrainingError.invalidFile(path: candidate.path, message: "\"num_train_timesteps\": \(DiffusersJSON.describe(value)) "
                                                + "is not an integer in 1…\(maximumTrainingSteps); set it to the T the model was trained with (DDPM: 1000).")
            }
            return steps
        }
        return 1000
    }

    /// The model's data, `spec` or the run's training data, as `split`, checked against the
    /// model's example shape and data kind (binary or not).
    public func data(_ spec: String?, split: DataSplit, seed: UInt64) throws -> Dataset {
        guard let text = spec ?? configuration?.data else {
            throw TrainingError.invalidSetting(key: "--data", message: "required for a diffusers model folder (it has no training data recorded).")
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
            throw TrainingError.dataMismatch("--data \(text): examples have shape \(dataset.exampleShape) but the model takes \(exampleShape).")
        }
        if dataset.isBinary && !process.diffusesBinaryData {
            throw TrainingError.dataMismatch("--data \(text): binarised data, but the model is a Gaussian diffusion of 8-bit data; drop ,binarize.")
        }
        if !dataset.isBinary && process.diffusesBinaryData {
            throw TrainingError.dataMismatch("--data \(text): the model is a binomial diffusion of binary data; add ,binarize.")
        }
        return dataset
    }
}
