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

    /// The matching `TimestepSampler` strategy of DDPMDiffusion.
    public var strategy: TimestepSampler.Strategy {
        switch self {
        case .uniform: .uniform
        case .lossAware(let length, let p): .lossAware(historyLength: length, uniformProbability: p)
        }
    }
}

/// Adam's settings (Kingma & Ba 2015), with DDPM's defaults.
public struct OptimizerConfiguration: Codable, Equatable, Sendable {
    /// The peak learning rate (DDPM: 2 × 10⁻⁴ for CIFAR-10).
    public var learningRate: Double = 2e-4
    /// Steps of linear learning-rate warm-up (DDPM: 5000).
    public var warmupSteps: Int = 5000
    /// β₁, the decay of the first moment (in [0, 1)).
    public var beta1: Double = 0.9
    /// β₂, the decay of the second moment (in [0, 1)).
    public var beta2: Double = 0.999
    /// ε in θ ← θ − lr·m̂/(√v̂ + ε) (> 0).
    public var epsilon: Double = 1e-8

    /// Adam with `learningRate`, ramped up linearly over `warmupSteps` steps (0: no warm-up), and
    /// β₁ 0.9, β₂ 0.999, ε 10⁻⁸.
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

    /// An EMA with `decay` (in [0, 1]) and, when `warmup` is true, the warm-up
    /// min(decay, (1 + n)/(10 + n)).
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

    /// The format of the file (``currentFormatVersion``); any other value is refused by ``validate()``.
    public var formatVersion: Int = Self.currentFormatVersion
    /// The training data as a `DataSpec` text (e.g. `fashion-mnist`, `swissroll,count=300`),
    /// reloaded from this text when the run is resumed.
    public var data: String
    /// The named network (`ddpm train --model`) that `model` was made from.
    public var architecture: ModelArchitecture
    /// The network's full configuration (a `ModelSpec` of DDPMModels: every width, level,
    /// attention resolution and dropout), so that a resumed run builds exactly the network it
    /// started with.
    public var model: ModelSpec
    /// The diffusion process: kind, schedule, T and the Gaussian choices.
    public var process: ProcessConfiguration
    /// How training timesteps are drawn (DDPM: uniformly).
    public var timestepSampling: TimestepSampling = .uniform
    /// Adam's settings.
    public var optimizer = OptimizerConfiguration()
    /// The EMA's decay and warm-up.
    public var ema = EMAConfiguration()
    /// Clip the gradients to this global norm (DDPM: 1); nil: no clipping (the norm is still
    /// checked for being finite). In run.json an absent key means nil.
    public var gradientClipNorm: Double? = 1
    /// Examples per step, B (DDPM: 128 for CIFAR-10); 1…``maximumBatchSize``.
    public var batchSize: Int = 128
    /// Total steps of the run.
    public var steps: Int
    /// The key of all of the run's randomness (``TrainingRandomness``): the same seed and settings
    /// give the same run, bit for bit.
    public var seed: UInt64 = 0
    /// Random horizontal flips of images (DDPM used them for CIFAR-10): each example with
    /// probability ½ per epoch, keyed by its place in the epoch; ignored for points.
    public var randomFlips: Bool = false
    /// Save a checkpoint every N steps (and always at the end); nil: at the end only. Acted on by
    /// the training loop of `ddpm train`; ``TrainingRun/step()`` itself never saves.
    public var checkpointEvery: Int?
    /// Keep the N checkpoints saved before the current one (their `checkpoint-STEP` folders, the
    /// most recent first) so that the run can be studied at earlier steps; nil or 0: only the
    /// current one. In run.json an absent key means nil.
    public var keepCheckpoints: Int?
    /// FID and KID during training (`ddpm train --fid-every`); nil: none. Acted on by the
    /// training loop of `ddpm train`. In run.json an absent key means nil.
    public var fid: FIDConfiguration?
    /// Write a preview picture (samples-STEP.png) every N steps; nil: never. Acted on by the
    /// training loop of `ddpm train` (``TrainingRun/writePreview(count:writer:)``).
    public var sampleEvery: Int?
    /// The toolkit that started the run (`ToolkitVersion.description`), set by `TrainingRun.start`;
    /// nil in runs started before it was recorded.
    public var createdWith: String?

    /// A run on `data` (examples of `exampleShape`) with the given network and process; `steps`
    /// defaults to 800000 for images (DDPM's CIFAR-10 run) and 10000 for points. Every other
    /// setting takes its default (DDPM's); set them on the value before starting the run.
    ///
    /// The network is ``ModelArchitecture/specification(exampleShape:outputChannels:)`` for the
    /// data's shape, with twice the data's channels when the process learns the variance.
    /// - Throws: ``TrainingError/dataMismatch(_:)`` when the architecture does not fit the shape
    ///   (the toy MLP for images, a U-Net for points or for an image side its levels do not divide).
    public init(
        data: String, exampleShape: [Int], architecture: ModelArchitecture, process: ProcessConfiguration,
        steps: Int? = nil
    ) throws {
        self.data = data
        self.architecture = architecture
        self.process = process
        let channels = exampleShape[0]
        model = try architecture.specification(
            exampleShape: exampleShape, outputChannels: process.doublesOutputChannels ? 2 * channels : channels)
        self.steps = steps ?? (exampleShape.count == 3 ? 800_000 : 10_000)
    }

    /// A run of the U-Net `unet` (e.g. read from a diffusers config.json) on `data`: its
    /// `sample_size` and channels are set from `exampleShape` (twice the data's channels out when
    /// the process learns the variance), and ``architecture`` is ``ModelArchitecture/custom``.
    /// - Throws: ``TrainingError/dataMismatch(_:)`` for points, non-square images, an image size
    ///   its levels do not divide, or a configuration the U-Net cannot build (naming the key).
    public init(data: String, exampleShape: [Int], unet: UNetConfiguration, process: ProcessConfiguration, steps: Int? = nil) throws {
        guard exampleShape.count == 3, exampleShape[1] == exampleShape[2] else {
            throw TrainingError.dataMismatch("a U-Net needs square images, but the data have shape \(exampleShape).")
        }
        var c = unet
        let levels = c.blockOutChannels.count
        guard levels >= 1, exampleShape[1] % (1 << (levels - 1)) == 0 else {
            throw TrainingError.dataMismatch("the U-Net's \(levels) levels do not divide the image size \(exampleShape[1]).")
        }
        c.sampleSize = exampleShape[1]
        c.inChannels = exampleShape[0]
        c.outChannels = process.doublesOutputChannels ? 2 * exampleShape[0] : exampleShape[0]
        if let problem = c.problem { throw TrainingError.dataMismatch(problem) }
        self.data = data
        architecture = .custom
        self.process = process
        model = .unet(c)
        self.steps = steps ?? 800_000
    }

    /// One example's shape: [C, H, W] for images, [D] for points.
    public var exampleShape: [Int] { model.exampleShape }
}

extension TimestepSampling: Codable {
    private enum Keys: String, CodingKey { case kind, historyLength, uniformProbability }

    /// Decodes `{"kind": "uniform"}` or `{"kind": "loss-aware", "historyLength": N, "uniformProbability": p}`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        switch try c.decode(String.self, forKey: .kind) {
        case "uniform": self = .uniform
        case "loss-aware":
            self = .lossAware(
                historyLength: try c.decode(Int.self, forKey: .historyLength),
                uniformProbability: try c.decode(Double.self, forKey: .uniformProbability))
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: c, debugDescription: "unknown timestep sampling \"\(other)\" (expected uniform or loss-aware)")
        }
    }

    /// Encodes the form that ``init(from:)`` reads.
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

/// FID and KID of EMA samples during training, as `ddpm fid` computes them.
public struct FIDConfiguration: Codable, Equatable, Sendable {
    /// Evaluate every N steps.
    public var every: Int
    /// Samples per evaluation.
    public var samples: Int
    /// DDIM steps (η = 0) per sample.
    public var steps: Int
    /// Training images in the reference statistics.
    public var referenceCount: Int
    /// The Inception weights file, when one was named (else `ddpm fid`'s search applies).
    public var weights: String?

    /// Evaluations every `every` steps of `samples` samples drawn in `steps` DDIM steps, against
    /// `referenceCount` training images.
    public init(every: Int, samples: Int = 1000, steps: Int = 50, referenceCount: Int = 10_000, weights: String? = nil) {
        (self.every, self.samples, self.steps, self.referenceCount, self.weights) = (every, samples, steps, referenceCount, weights)
    }
}
