// Binomial diffusion for binary data x ∈ {0,1}ᴰ (SD15 §2.4, Table App.1): the forward kernel, its
// closed-form marginal, the posterior q(xₜ₋₁|xₜ,x₀) and the reverse process p_θ(xₜ₋₁|xₜ).
import Foundation
import DDPMTensors

/// Binomial (bit-flip) diffusion of SD15 with an x₀-predicting reverse process.
///
/// ## Forward process (SD15 Table App.1)
/// Each bit is kept with probability 1 − βₜ and otherwise replaced by a fair coin:
///
///     q(xₜ | xₜ₋₁) = B(xₜ; xₜ₋₁(1 − βₜ) + ½βₜ).
///
/// As a function of both bits, q(xₜ|xₜ₋₁) = ½βₜ + (1 − βₜ)·[xₜ = xₜ₋₁]: symmetric, and its logit
/// for xₜ = 1 is (2xₜ₋₁ − 1) κₜ with κₜ = log((1 − ½βₜ)/(½βₜ)) (`kernelLogit`).
///
/// ## Marginal
/// With ᾱₜ = ∏_{s≤t}(1 − βₛ) and ᾱ₀ = 1,
///
///     q(xₜ = 1 | x₀) = ᾱₜ x₀ + ½(1 − ᾱₜ).
///
/// Proof by induction on t: it holds at t = 0; if q(xₜ₋₁ = 1|x₀) = ᾱₜ₋₁x₀ + ½(1 − ᾱₜ₋₁), the kernel
/// gives q(xₜ = 1|x₀) = (1 − βₜ)(ᾱₜ₋₁x₀ + ½(1 − ᾱₜ₋₁)) + ½βₜ = ᾱₜx₀ + ½(1 − βₜ − ᾱₜ + βₜ)
/// = ᾱₜx₀ + ½(1 − ᾱₜ). For binary x₀ its logit is (2x₀ − 1) ρₜ with ρₜ = log((1 + ᾱₜ)/(1 − ᾱₜ))
/// (`startLogit`).
///
/// ## Posterior (Bayes)
///     q(xₜ₋₁ | xₜ, x₀) ∝ q(xₜ | xₜ₋₁) q(xₜ₋₁ | x₀),
/// so its logit for xₜ₋₁ = 1 is the sum of the two factors' logits:
/// (2xₜ − 1) κₜ + logit(ᾱₜ₋₁x₀ + ½(1 − ᾱₜ₋₁)) = (2xₜ − 1) κₜ + (2x₀ − 1) ρₜ₋₁.
///
/// ## Reverse process
/// p(x_T) = B(½) and p_θ(xₜ₋₁ | xₜ) = B(xₜ₋₁; σ(λ)). The network sees xₜ as 2xₜ − 1 ∈ {−1, 1}
/// (the range image networks see under Gaussian diffusion) and returns, per dimension, logits ℓ
/// of x₀ = 1, x̂₀ = σ(ℓ); the reverse step is Bayes' rule with x₀ drawn from B(x̂₀):
///
///     p_θ(xₜ₋₁ | xₜ) ∝ Σ_{x₀} q(xₜ₋₁, xₜ | x₀) B(x₀; x̂₀) = q(xₜ | xₜ₋₁) · (ᾱₜ₋₁ x̂₀ + ½(1 − ᾱₜ₋₁))
///
/// (the marginal is linear in x₀; the parameterisation D3PM, Austin et al. 2021, uses for discrete
/// data), i.e. λ = (2xₜ − 1) κₜ + logit(ᾱₜ₋₁ x̂₀ + ½(1 − ᾱₜ₋₁)). It is chosen over predicting xₜ₋₁'s
/// logits directly: the target x₀ is the same for every t, p_θ is the true posterior q(xₜ₋₁|xₜ,x₀)
/// when x̂₀ = x₀, and an untrained network (ℓ = 0) already gives the exact reverse process of
/// uniform data, whose bound is 1 bit/dim for every schedule.
///
/// ## Timesteps
/// Every `timesteps` argument is 0-based: index i is the paper's t = i + 1 (`DiffusionSchedule`).
/// Tensors are [B, …] with the batch first; x₀ and xₜ hold exact 0s and 1s.
public struct BinomialDiffusion: Sendable {
    /// β, ᾱ and ᾱₜ₋₁ (the Gaussian-only tables of `DiffusionSchedule` are not used).
    public let schedule: DiffusionSchedule
    /// κₜ = log((1 − ½βₜ)/(½βₜ)), the logit of q(xₜ = 1|xₜ₋₁ = 1); finite since βₜ > 0.
    public let kernelLogit: [Double]
    /// ρₜ = log((1 + ᾱₜ)/(1 − ᾱₜ)), the logit of q(xₜ = 1|x₀ = 1); 0 where ᾱₜ = 0.
    public let startLogit: [Double]
    /// ρₜ₋₁, with ρ₀ (ᾱ₀ = 1, a deterministic x₀) finite through `probabilityFloor`.
    public let previousStartLogit: [Double]
    /// log ᾱₜ₋₁ − log ½(1 − ᾱₜ₋₁), each factor floored at `probabilityFloor`: the weight of x̂₀
    /// against the uniform part in the reverse step's x₀-mixture (see `reverseLogits`).
    let previousMixtureLogRatio: [Double]

    /// Probabilities below this count as this in logits (log 1e-20 ≈ −46), so that the t = 1
    /// posterior, which is deterministic, has finite logits (its x₀ term is ±(log 2 + 46)), and so
    /// that log(ᾱ x̂₀ + 0) stays finite and smooth as x̂₀ → 0.
    public static let probabilityFloor = 1e-20

    /// The process on SD15's schedule βₜ = (T − t + 1)⁻¹ by default (x_T ~ B(½) exactly, L_T = 0).
    ///
    /// - Throws: `DiffusionError` if T < 1 or a β lies outside (0, 1].
    public init(schedule: BetaSchedule = .reciprocal, stepCount: Int = 1000) throws {
        try self.init(schedule: DiffusionSchedule(betas: schedule.betas(stepCount: stepCount)))
    }

    /// The process with the β₁…β_T of `schedule` (any validated schedule, e.g. DDPM's linear one).
    public init(schedule: DiffusionSchedule) {
        let floor = BinomialDiffusion.probabilityFloor
        func log(_ x: Double) -> Double { Foundation.log(Swift.max(x, floor)) }
        func rho(_ alphaBar: Double) -> Double { log(1 + alphaBar) - log(1 - alphaBar) }
        self.schedule = schedule
        kernelLogit = schedule.betas.map { log(1 - $0 / 2) - log($0 / 2) }
        startLogit = schedule.alphaBar.map(rho)
        previousStartLogit = schedule.alphaBarPrevious.map(rho)
        previousMixtureLogRatio = schedule.alphaBarPrevious.map { log($0) - log((1 - $0) / 2) }
    }

    /// T.
    public var stepCount: Int { schedule.stepCount }

    func coefficient(_ table: [Double], _ timesteps: [Int], like x: Tensor) -> Tensor {
        schedule.coefficient(table, at: timesteps, rank: x.rank, dtype: x.dtype)
    }

    func check(_ timesteps: [Int], batchOf x: Tensor) throws {
        precondition(x.rank >= 1, "BinomialDiffusion: tensors need a batch axis, got shape \(x.shape)")
        try schedule.validate(timesteps: timesteps, batchSize: x.shape[0])
    }

    /// Throws ``DiffusionError/nonBinaryData(_:)``, carrying the first bad value, unless every
    /// element of `x` is exactly 0 or 1.
    public static func checkBinary(_ x: Tensor) throws {
        if let bad = x.doubles.first(where: { $0 != 0 && $0 != 1 }) { throw DiffusionError.nonBinaryData(bad) }
    }
}

// MARK: - Forward process

extension BinomialDiffusion {
    /// q(xₜ = 1 | x₀) = ᾱₜ x₀ + ½(1 − ᾱₜ), elementwise (x₀ may be any probability in [0, 1]).
    ///
    /// - Throws: ``DiffusionError`` for timesteps outside 0..<T or not one per example.
    public func forwardProbability(start: Tensor, timesteps: [Int]) throws -> Tensor {
        try check(timesteps, batchOf: start)
        let alphaBar = coefficient(schedule.alphaBar, timesteps, like: start)
        return alphaBar * start + (1.0 - alphaBar) * 0.5
    }

    /// The logit of q(xₜ = 1 | x₀) for binary x₀: (2x₀ − 1) ρₜ.
    public func forwardLogits(start: Tensor, timesteps: [Int]) throws -> Tensor {
        try check(timesteps, batchOf: start)
        return (2.0 * start - 1.0) * coefficient(startLogit, timesteps, like: start)
    }

    /// A sample xₜ ~ q(xₜ | x₀): 1 where u < q(xₜ = 1|x₀), with the given u ~ U[0, 1) of x₀'s shape.
    ///
    /// - Throws: ``DiffusionError/noiseShape(expected:got:)`` when u's shape differs from x₀'s, or a
    ///   timestep error.
    public func sampleForward(start: Tensor, timesteps: [Int], uniformNoise: Tensor) throws -> Tensor {
        guard uniformNoise.shape == start.shape else {
            throw DiffusionError.noiseShape(expected: start.shape, got: uniformNoise.shape)
        }
        return bernoulliSample(probability: try forwardProbability(start: start, timesteps: timesteps), uniformNoise: uniformNoise)
    }

    /// The logit of q(xₜ₋₁ = 1 | xₜ, x₀) for binary xₜ and x₀: (2xₜ − 1) κₜ + (2x₀ − 1) ρₜ₋₁ (Bayes).
    ///
    /// At t = 1 the posterior puts all mass on x₀; its x₀ term is then ±(log 2 − log 1e-20) ≈ ±46.7
    /// (ρ₀ through `probabilityFloor`), which outweighs the kernel's ±κ₁ for any β₁ above about 1e-20.
    ///
    /// - Throws: ``DiffusionError`` for timesteps outside 0..<T or not one per example.
    public func posteriorLogits(start: Tensor, current: Tensor, timesteps: [Int]) throws -> Tensor {
        try check(timesteps, batchOf: current)
        precondition(start.shape == current.shape, "posterior: x₀ shape \(start.shape) ≠ xₜ shape \(current.shape)")
        return (2.0 * current - 1.0) * coefficient(kernelLogit, timesteps, like: current)
            + (2.0 * start - 1.0) * coefficient(previousStartLogit, timesteps, like: current)
    }
}

// MARK: - Reverse process

extension BinomialDiffusion {
    /// The network's view of xₜ ∈ {0, 1}: 2xₜ − 1 ∈ {−1, 1}.
    public func modelInput(_ current: Tensor) -> Tensor {
        2.0 * current - 1.0
    }

    /// Calls `model` on 2xₜ − 1 and checks that it returned logits of x₀ = 1 in xₜ's shape.
    ///
    /// The model sees the 0-based `timesteps` as given.
    /// - Throws: ``DiffusionError/modelOutputShape(expected:got:)`` for an output of another shape,
    ///   or a timestep error.
    public func evaluate(_ model: DiffusionModel, current: Tensor, timesteps: [Int]) throws -> Tensor {
        try check(timesteps, batchOf: current)
        let output = model(modelInput(current), timesteps)
        guard output.shape == current.shape else { throw DiffusionError.modelOutputShape(expected: current.shape, got: output.shape) }
        return output
    }

    /// The logit λ of p_θ(xₜ₋₁ = 1 | xₜ) from the network's logits ℓ of x₀:
    /// λ = (2xₜ − 1) κₜ + logit(ᾱₜ₋₁ σ(ℓ) + ½(1 − ᾱₜ₋₁)).
    ///
    /// 1. With a = ᾱₜ₋₁ and c = ½(1 − a): log(a σ(ℓ) + c) = log c + softplus(log a − log c + log σ(ℓ)),
    ///    and likewise log(1 − (a σ(ℓ) + c)) = log(a σ(−ℓ) + c); their difference is the x₀-mixture's
    ///    logit, computed without forming 1 − p (a and c floored at 1e-20; at t = 1, c = 0 and the
    ///    logit is ℓ itself for |ℓ| < 46).
    /// 2. Add the kernel's logit (2xₜ − 1) κₜ (Bayes, as in `posteriorLogits`).
    public func reverseLogits(startLogits: Tensor, current: Tensor, timesteps: [Int]) throws -> Tensor {
        try check(timesteps, batchOf: current)
        precondition(startLogits.shape == current.shape, "reverseLogits: logits shape \(startLogits.shape) ≠ xₜ shape \(current.shape)")
        // 1. logit(ᾱₜ₋₁ x̂₀ + ½(1 − ᾱₜ₋₁)).
        let ratio = coefficient(previousMixtureLogRatio, timesteps, like: current)
        let mixture = softplus(ratio + logSigmoid(startLogits)) - softplus(ratio + logSigmoid(-startLogits))
        // 2. Times q(xₜ | xₜ₋₁).
        return (2.0 * current - 1.0) * coefficient(kernelLogit, timesteps, like: current) + mixture
    }
}
