// Every setting of a training run as typed values: what run.json holds (format 1).
import DDPMDiffusion
import DDPMModels
import DDPMNeuralNetworks

/// How training timesteps are drawn.
public enum TimestepSampling: Equatable, Sendable {
    /// t ~ Uniform{1…T} (DDPM Algorithm 1).
    case uniform
    /// Importance sampling by the loss history (IDDPM §3.3, eq. 18); see `TimestepSampler`.
    case lossAware(historyLength: Int = 10, uniformProbability: Double = 0.001)

    public var strategy: TimestepSampler.Strategy {
        switch self {
        case .uniform: .uniform
        case .lossAware(let length, let p): .lossAware(historyLength: length, uniformProbability: p)
        }
    }
}

/// Adam's settings (Kingma & Ba 2015), with DDPM's defaults.
public struct OptimizerConfiguration: Codable, Equatable, Sendable {
    public var learningRate: Double = 2e-4
    /// Steps of linear learning-rate warm-up (DDPM: 5000).
    public var warmupSteps: Int = 5000
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-8

    public init(learningRate: Double = 2e-4, warmupSteps: Int = 5000) {
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
    }
}

/// The EMA of the weights (`ExponentialMovingAverage`).
public struct EMAConfiguration: Codable, Equatable, Sendable {
    /// DDPM: 0.9999.
    public var decay: Double = 0.9999
    /// Whether the decay warms up as min(decay, (1 + n)/(10 + n)) at update n.
    public var warmup: Bool = false

    public init(decay: Double = 0.9999, warmup: Bool = false) {
        self.decay = decay
        self.warmup = warmup
    }
}

/// Every setting of a run. Defaults are DDPM's CIFAR-10 ones (batch 128, Adam lr 2e-4 with 5000
/// warm-up steps, clipping at norm 1, EMA 0.9999, 800k steps).
///
/// Stored as run.json with `formatVersion` 1; `TrainingConfiguration.load(from:)` decodes strictly
/// (an unknown key or value is an error naming the file and the key), validates every value and
/// migrates run.json files written before format 1.
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    /// The format this version writes.
    public static let currentFormatVersion = 1

    public var formatVersion: Int = Self.currentFormatVersion
    /// The training data as a `DataSpec` text (e.g. `fashion-mnist`, `swissroll,count=300`).
    public var data: String
    public var architecture: ModelArchitecture
    /// The network's full configuration.
    public var model: ModelSpec
    public var process: ProcessConfiguration
    public var timestepSampling: TimestepSampling = .uniform
    public var optimizer = OptimizerConfiguration()
    public var ema = EMAConfiguration()
    /// Clip the gradients to this global norm; nil: no clipping (the norm is still checked).
    public var gradientClipNorm: Double? = 1
    public var batchSize: Int = 128
    /// Total steps of the run.
    public var steps: Int
    /// The key of all of the run's randomness (`TrainingRandomness`).
    public var seed: UInt64 = 0
    /// Random horizontal flips of images.
    public var randomFlips: Bool = false
    /// Save a checkpoint every N steps (and always at the end); nil: at the end only.
    public var checkpointEvery: Int?
    /// Write a sample picture every N steps; nil: never.
    public var sampleEvery: Int?
    /// The toolkit that started the run (`ToolkitVersion.description`), set by `TrainingRun.start`;
    /// nil in runs started before it was recorded.
    public var createdWith: String?

    /// A run on `data` (examples of `exampleShape`) with the given network and process; `steps`
    /// defaults to 800000 for images (DDPM's CIFAR-10 run) and 10000 for points.
    public init(data: String, exampleShape: [Int], architecture: ModelArchitecture, process: ProcessConfiguration,
                steps: Int? = nil) throws {
        self.data = data
        self.architecture = architecture
        self.process = process
        let channels = exampleShape[0]
        model = try architecture.specification(
            exampleShape: exampleShape, outputChannels: process.doublesOutputChannels ? 2 * channels : channels)
        self.steps = steps ?? (exampleShape.count == 3 ? 800_000 : 10_000)
    }

    /// One example's shape: [C, H, W] for images, [D] for points.
    public var exampleShape: [Int] { model.exampleShape }
}

extension TimestepSampling: Codable {
    private enum Keys: String, CodingKey { case kind, historyLength, uniformProbability }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        switch try c.decode(String.self, forKey: .kind) {
        case "uniform": self = .uniform
        case "loss-aware":
            self = .lossAware(historyLength: try c.decode(Int.self, forKey: .historyLength),
                              uniformProbability: try c.decode(Double.self, forKey: .uniformProbability))
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: c, debugDescription: "unknown timestep sampling \"\(other)\" (expected uniform or loss-aware)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .uniform:
            try c.encode("uniform", forKey: .kind)
        case .lossAware(let length, let p):
            try c.encode("loss-aware", forKey: .kind)
            try c.encode(length, forKey: .historyLength)
            try c.encode(p, forKey: .uniformProbability)
        }
    }
}
