// The diffusion process of a run as typed values: Gaussian (DDPM) or binomial (SD15 §2.4), with
// the schedule's parameters and, for Gaussian diffusion, prediction, variance, loss and decoder.
import DDPMDiffusion

/// Which diffusion process a run trains (`ddpm train --diffusion`).
public enum ProcessKind: String, CaseIterable, Codable, Sendable {
    /// DDPM's Gaussian diffusion of data in [−1, 1].
    case gaussian
    /// SD15's binomial diffusion of binary data {0, 1}.
    case binomial

    /// The schedule a run of this kind uses unless told otherwise: DDPM's linear β from 1e-4 to
    /// 0.02, or SD15's reciprocal βₜ = (T − t + 1)⁻¹.
    public var defaultSchedule: BetaSchedule {
        switch self {
        case .gaussian: .ddpm
        case .binomial: .reciprocal
        }
    }
}

/// The settings of Gaussian diffusion that binomial diffusion does not have.
public struct GaussianChoices: Codable, Equatable, Sendable {
    public var prediction: MeanPrediction
    public var variance: VarianceKind
    public var loss: LossKind
    /// L₀: discretised (eq. 13) for 8-bit images, continuous for real-valued points.
    public var decoder: DecoderKind

    public init(prediction: MeanPrediction = .noise, variance: VarianceKind = .fixedLarge, loss: LossKind = .simple,
                decoder: DecoderKind = .discretized) {
        (self.prediction, self.variance, self.loss, self.decoder) = (prediction, variance, loss, decoder)
    }
}

/// A run's diffusion process: its kind, schedule and T, and the Gaussian choices.
///
/// run.json stores it as `{"kind": "gaussian", "schedule": {…}, "timesteps": 1000, "gaussian": {…}}`;
/// `gaussian` is present exactly when the kind is gaussian.
public struct ProcessConfiguration: Codable, Equatable, Sendable {
    public var kind: ProcessKind
    public var schedule: BetaSchedule
    /// T.
    public var timesteps: Int
    /// Present for Gaussian diffusion only.
    public var gaussian: GaussianChoices?

    public init(kind: ProcessKind, schedule: BetaSchedule? = nil, timesteps: Int = 1000, gaussian: GaussianChoices? = nil) {
        self.kind = kind
        self.schedule = schedule ?? kind.defaultSchedule
        self.timesteps = timesteps
        self.gaussian = kind == .gaussian ? (gaussian ?? GaussianChoices()) : nil
    }

    /// Whether the network returns twice the data's channels (learned variance).
    public var doublesOutputChannels: Bool { gaussian?.variance.isLearned ?? false }

    /// The process, validated (β in (0, 1], T ≥ 1, a hybrid weight in range).
    public func makeProcess() throws -> any DiffusionProcess {
        switch kind {
        case .gaussian:
            let choices = gaussian ?? GaussianChoices()
            return try GaussianDiffusion(
                schedule: DiffusionSchedule(schedule, stepCount: timesteps), meanPrediction: choices.prediction,
                varianceKind: choices.variance, lossKind: choices.loss, decoderKind: choices.decoder)
        case .binomial:
            return BinomialDiffusion(schedule: try DiffusionSchedule(betas: schedule.betas(stepCount: timesteps)))
        }
    }
}
