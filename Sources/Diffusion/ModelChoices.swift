// The closed choices of a Gaussian diffusion model: what the network predicts, how the reverse
// variance is chosen, and which loss trains it. String raw values exist only for the CLI.

/// What the network's mean output predicts (DDPM §3.2; v from Salimans & Ho 2022).
public enum MeanPrediction: String, CaseIterable, Sendable {
    /// ε, the noise that was added: μ_θ = (1/√αₜ)(xₜ − βₜ/√(1−ᾱₜ) ε_θ)   (eq. 11). DDPM's choice.
    case noise
    /// x₀ directly; μ_θ = μ̃ₜ(xₜ, x̂₀)   (eq. 7, 15).
    case start
    /// v = √ᾱₜ ε − √(1−ᾱₜ) x₀; x̂₀ = √ᾱₜ xₜ − √(1−ᾱₜ) v.
    case velocity
}

/// How the reverse-process variance Σ_θ(xₜ, t) = σₜ² I is chosen.
public enum VarianceKind: String, CaseIterable, Sendable {
    /// σₜ² = β̃ₜ, the posterior variance (DDPM §3.2: optimal for x₀ deterministic). The t = 1 entry
    /// uses β̃₂ (as `posteriorLogVarianceClipped`), which only the decoder L₀ sees.
    case fixedSmall
    /// σₜ² = βₜ (DDPM §3.2: optimal for x₀ ~ N(0, I)). Like both official implementations the t = 1
    /// entry is β̃₂, so likelihoods match theirs.
    case fixedLarge
    /// log σₜ² = v log βₜ + (1 − v) log β̃ₜ with v = (output + 1)/2 per dimension (IDDPM eq. 15; the
    /// network's raw output in [−1, 1] maps to v in [0, 1] as in improved-diffusion's
    /// LEARNED_RANGE). The model returns 2× channels: mean part first, then the v part.
    case learnedRange

    /// Whether the model's output carries the variance part (2× channels along axis 1).
    public var isLearned: Bool {
        switch self {
        case .fixedSmall, .fixedLarge: false
        case .learnedRange: true
        }
    }
}

/// The training objective.
public enum LossKind: Equatable, Sendable {
    /// L_simple: ‖target − prediction‖² averaged over dimensions (eq. 14), target per
    /// `MeanPrediction`. With learned variance the v part is untrained (use `.hybrid`).
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
