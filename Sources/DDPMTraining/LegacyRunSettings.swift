// run.json as `ddpm train` wrote it before format 1 (settings as strings, no formatVersion), and
// its migration to `TrainingConfiguration`.
import DDPMDiffusion
import DDPMModels

/// The run.json of format 0, read strictly.
struct LegacyRunSettings: Codable {
    var data: String
    var modelName: String
    var model: ModelSpec
    var schedule: String
    var timesteps: Int
    var prediction: String
    var variance: String
    var loss: String
    var batchSize: Int
    var steps: Int
    var learningRate: Double
    var warmup: Int
    var gradClip: Double
    var emaDecay: Double
    var flip: Bool
    var seed: UInt64
    var checkpointEvery: Int?
    var sampleEvery: Int?
    /// gaussian or binomial; absent in the oldest files, which are Gaussian.
    var diffusion: String?

    /// The same run in format 1. Format 0's names: schedule linear (β 1e-4…0.02), cosine (s = 0.008)
    /// or reciprocal; gradClip 0 meant no clipping; the EMA had no warm-up; L₀ was continuous for
    /// points and discretised for images.
    func migrated(path: String) throws -> TrainingConfiguration {
        func unknown(_ key: String, _ value: String, _ expected: String) -> TrainingError {
            .invalidFile(path: path, message: "key \"\(key)\": unknown value \"\(value)\" (expected \(expected)).")
        }
        guard let kind = ProcessKind(rawValue: diffusion ?? "gaussian") else {
            throw unknown("diffusion", diffusion ?? "", "gaussian or binomial")
        }
        let betas: BetaSchedule
        switch schedule {
        case "linear": betas = .ddpm
        case "cosine": betas = .cosine()
        case "reciprocal" where kind == .binomial: betas = .reciprocal
        default: throw unknown("schedule", schedule, kind == .binomial ? "reciprocal, linear or cosine" : "linear or cosine")
        }
        guard let architecture = ModelArchitecture(rawValue: modelName) else {
            throw unknown("modelName", modelName, "toy, fashion, cifar10 or tiny")
        }
        var gaussian: GaussianChoices?
        if kind == .gaussian {
            guard let mean = MeanPrediction(rawValue: prediction) else {
                throw unknown("prediction", prediction, "noise, start or velocity")
            }
            guard let varianceKind = VarianceKind(rawValue: variance) else {
                throw unknown("variance", variance, "fixed-large, fixed-small, learned-range or learned")
            }
            guard let lossKind = LossKind(name: loss) else { throw unknown("loss", loss, "simple, vlb or hybrid") }
            gaussian = GaussianChoices(
                prediction: mean, variance: varianceKind, loss: lossKind,
                decoder: model.exampleShape.count == 1 ? .continuous : .discretized)
        }
        var configuration = try TrainingConfiguration(
            data: data, exampleShape: model.exampleShape, architecture: architecture,
            process: ProcessConfiguration(kind: kind, schedule: betas, timesteps: timesteps, gaussian: gaussian), steps: steps)
        configuration.model = model
        configuration.batchSize = batchSize
        configuration.optimizer = OptimizerConfiguration(learningRate: learningRate, warmupSteps: warmup)
        configuration.ema = EMAConfiguration(decay: emaDecay, warmup: false)
        configuration.gradientClipNorm = gradClip > 0 ? gradClip : nil
        configuration.seed = seed
        configuration.randomFlips = flip
        configuration.checkpointEvery = checkpointEvery
        configuration.sampleEvery = sampleEvery
        return configuration
    }
}
