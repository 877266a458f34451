// The closed choices of a Gaussian diffusion model: what the network predicts, how the reverse
// variance is chosen, how L₀ scores the data, and which loss trains it. The string raw values are
// the names the command line and run.json use.

/// What the network's mean output predicts (DDPM §3.2; v from Salimans & Ho 2022).
public enum MeanPrediction: String, CaseIterable, Codable, Sendable {
    /// ε, the noise that was added: μ_θ = (1/√αₜ)(xₜ − βₜ/√(1−ᾱₜ) ε_θ)   (eq. 11). DDPM's choice.
    case noise
    /// x₀ directly; μ_θ = μ̃ₜ(xₜ, x̂₀)   (eq. 7, 15).
    case start
    /// v = √ᾱₜ ε − √(1−ᾱₜ) x₀; x̂₀ = √ᾱₜ xₜ − √(1−ᾱₜ) v.
    case velocity
}

/// How the reverse-process variance Σ_θ(xₜ, t) = σₜ² I is chosen.
public enum VarianceKind: String, CaseIterable, Codable, Sendable {
    /// σₜ² = β̃ₜ, the posterior variance (DDPM §3.2: optimal for x₀ deterministic). The t = 1 entry
    /// uses β̃₂ (as `posteriorLogVarianceClipped`), which only the decoder L₀ sees.
    case fixedSmall = "fixed-small"
    /// σₜ² = βₜ (DDPM §3.2: optimal for x₀ ~ N(0, I)). Like both official implementations the t = 1
    /// entry is β̃₂, so likelihoods match theirs.
    case fixedLarge = "fixed-large"
    /// log σₜ² = v log βₜ + (1 − v) log β̃ₜ with v = (output + 1)/2 per dimension (IDDPM eq. 15; the
    /// network's raw output in [−1, 1] maps to v in [0, 1] as in improved-diffusion's
    /// LEARNED_RANGE). The model returns 2× channels: mean part first, then the v part.
    case learnedRange = "learned-range"
    /// log σₜ² is the network's raw output, per dimension (IDDPM's LEARNED; SD15 §2.4 learns the
    /// reverse covariance Σ_θ(xₜ, t) the same way, trained on the bound, eq. 5). Unconstrained: the
    /// bound alone keeps σₜ² sensible, so train it with `.vlb` or `.hybrid`. The model returns 2×
    /// channels: mean part first, then log σₜ².
    case learned

    /// Whether the model's output carries the variance part (2× channels along axis 1).
    public var isLearned: Bool {
        switch self {
        case .fixedSmall, .fixedLarge: false
        case .learnedRange, .learned: true
        }
    }
}

/// How the decoder term L₀ = −log p_θ(x₀|x₁) of the bound scores the data (eq. 5, 13).
public enum DecoderKind: String, CaseIterable, Codable, Sendable {
    /// p_θ(x₀|x₁) is N(μ_θ(x₁, 1), σ₁²) integrated over x₀'s 8-bit bin   (eq. 13): a probability, so
    /// L₀ ≥ 0 and the bound is a code length. For images scaled from {0…255} to [−1, 1]; the default.
    case discretized
    /// p_θ(x₀|x₁) = N(x₀; μ_θ(x₁, 1), σ₁²), a density, so L₀ = −log N(x₀; μ_θ(x₁, 1), σ₁²) in nats
    /// (SD15's Gaussian reverse kernel at t = 1). For real-valued data such as 2-D points. Being a
    /// density it can exceed 1: L₀, the bound and bits/dim may be negative, and the bound then
    /// bounds the differential entropy (cross-entropy) of the data, not a code length.
    case continuous
}

/// The training objective.
public enum LossKind: Equatable, Sendable {
    /// L_simple: ‖target − prediction‖² averaged over dimensions (eq. 14), target per
    /// `MeanPrediction`. With learned variance the variance part is untrained (use `.hybrid`).
    case simple
    /// The variational bound (SD15's objective; DDPM eq. 5): T · L_{t−1} in bits/dim for the sampled
    /// t, whose expectation over uniform t is the whole bound less the constant L_T.
    case vlb
    /// IDDPM's L_hybrid = L_simple + λ L_vlb, the mean's gradient stopped in the bound term (IDDPM §3.1);
    /// λ = 0.001 keeps the bound from dominating.
    case hybrid(lambda: Double = 0.001)

    /// String names for the command line.
    public init?(name: String) {
        switch name {
        case "simple": self = .simple
        case "vlb": self = .vlb
        case "hybrid": self = .hybrid()
        default: return nil
        }
    }

    /// The command-line name.
    public var name: String {
        switch self {
        case .simple: "simple"
        case .vlb: "vlb"
        case .hybrid: "hybrid"
        }
    }
}
