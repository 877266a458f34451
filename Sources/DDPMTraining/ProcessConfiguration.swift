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
    /// What the network's mean output predicts: ε (DDPM eq. 11, the default), x₀ or v.
    public var prediction: MeanPrediction
    /// How the reverse variance Σ_θ(xₜ, t) is chosen: fixed-large σₜ² = βₜ (the default), fixed-small
    /// β̃ₜ, or learned (range) — a learned variance doubles the network's output channels.
    public var variance: VarianceKind
    /// The training objective: L_simple (eq. 14, the default), the bound, or IDDPM's hybrid.
    public var loss: LossKind
    /// L₀: discretised (eq. 13) for 8-bit images, continuous for real-valued points.
    public var decoder: DecoderKind

    /// DDPM's choices unless told otherwise: ε-prediction, σₜ² = βₜ, L_simple and the discretised
    /// decoder (for points pass `.continuous`).
    public init(
        prediction: MeanPrediction = .noise, variance: VarianceKind = .fixedLarge, loss: LossKind = .simple,
        decoder: DecoderKind = .discretized
    ) {
        (self.prediction, self.variance, self.loss, self.decoder) = (prediction, variance, loss, decoder)
    }
}

/// A run's diffusion process: its kind, schedule and T, and the Gaussian choices.
///
/// run.json stores it as `{"kind": "gaussian", "schedule": {…}, "timesteps": 1000, "gaussian": {…}}`;
/// `gaussian` is present exactly when the kind is gaussian.
public struct ProcessConfiguration: Codable, Equatable, Sendable {
    /// Gaussian (DDPM) or binomial (SD15 §2.4) diffusion.
    public var kind: ProcessKind
    /// The forward-process variances β₁…β_T.
    public var schedule: BetaSchedule
    /// T.
    public var timesteps: Int
    /// Present for Gaussian diffusion only.
    public var gaussian: GaussianChoices?

    /// A process of `kind` with `timesteps` steps (T, DDPM: 1000) and `schedule` (nil: the kind's
    /// ``ProcessKind/defaultSchedule``). For Gaussian diffusion `gaussian` defaults to DDPM's
    /// ``GaussianChoices``; for binomial diffusion it is ignored and stored as nil.
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
