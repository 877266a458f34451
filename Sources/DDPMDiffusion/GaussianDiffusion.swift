// Gaussian diffusion: the forward process q(xₜ|x₀) (eq. 4), its posterior q(xₜ₋₁|xₜ,x₀) (eq. 6–7)
// and the reverse process p_θ(xₜ₋₁|xₜ) for ε-, x₀- and v-prediction (eq. 11, 15; IDDPM eq. 15).
import Foundation
import DDPMTensors

/// A denoising network: `(xₜ, timesteps) → output`. `timesteps` holds one 0-based index per batch
/// element (t = index + 1, in the original schedule even when sampling a respaced one). The output
/// has xₜ's shape, or twice its channels along axis 1 for learned variance (mean part first, then
/// the variance part, as in improved-diffusion).
public typealias DiffusionModel = (_ current: Tensor, _ timesteps: [Int]) -> Tensor

/// A diagonal Gaussian N(mean, variance·I); `variance` and `logVariance` broadcast against `mean`.
public struct DiagonalGaussian {
    /// μ, [B, …].
    public var mean: Tensor
    /// σ², [B, 1, …] (one value per example) or the shape of `mean`.
    public var variance: Tensor
    /// log of `variance`, except where a documented table substitutes a finite value (the
    /// posterior's t = 1 entry, see `DiffusionSchedule.posteriorLogVarianceClipped`).
    public var logVariance: Tensor
}

/// One reverse-process evaluation p_θ(xₜ₋₁|xₜ) and the predictions it was built from.
public struct ReverseStep {
    /// μ_θ(xₜ, t) = μ̃ₜ(xₜ, x̂₀)   (eq. 7 with x̂₀ for x₀; equals eq. 11 for ε-prediction).
    public var mean: Tensor
    /// σₜ² per `VarianceKind`, = exp(`logVariance`).
    public var variance: Tensor
    /// log σₜ²: [B, 1, …] for fixed variances, xₜ's shape for learned ones. At t = 1 the fixed
    /// kinds use log β̃₂ (see ``VarianceKind``).
    public var logVariance: Tensor
    /// x̂₀, clipped to [−1, 1] if asked.
    public var predictedStart: Tensor
    /// ε̂ consistent with the (possibly clipped) x̂₀: (xₜ/√ᾱₜ − x̂₀)/√(1/ᾱₜ − 1).
    public var predictedNoise: Tensor
}

/// The Gaussian diffusion model of DDPM with IDDPM's extensions: a schedule and the choices of
/// what the network predicts, how the reverse variance is set and which loss trains it.
///
/// Every `timesteps` argument is 0-based (index i is the paper's t = i + 1; `DiffusionSchedule`).
/// Tensors are [B, …] with the batch first (NCHW for images); coefficients broadcast as [B, 1, …].
public struct GaussianDiffusion: Sendable {
    /// β₁…β_T and every coefficient table, in Float64.
    public let schedule: DiffusionSchedule
    /// What the network's mean output predicts: ε, x₀ or v.
    public var meanPrediction: MeanPrediction
    /// How σₜ² is chosen: fixed small (β̃ₜ), fixed large (βₜ), learned range or learned.
    public var varianceKind: VarianceKind
    /// The training objective: L_simple, the bound, or the hybrid of both.
    public var lossKind: LossKind
    /// How L₀ scores x₀: discretised for 8-bit images (eq. 13), continuous for real-valued data.
    public var decoderKind: DecoderKind

    /// Defaults are DDPM's CIFAR-10 setup: ε-prediction, σₜ² = βₜ, L_simple, the discretised
    /// decoder (eq. 13).
    ///
    /// - Throws: ``DiffusionError/invalidHybridWeight(_:)`` when `lossKind` is `.hybrid` with a
    ///   negative or non-finite λ.
    public init(
        schedule: DiffusionSchedule, meanPrediction: MeanPrediction = .noise,
        varianceKind: VarianceKind = .fixedLarge, lossKind: LossKind = .simple,
        decoderKind: DecoderKind = .discretized
    ) throws {
        if case .hybrid(let lambda) = lossKind, !(lambda.isFinite && lambda >= 0) {
            throw DiffusionError.invalidHybridWeight(lambda)
        }
        self.schedule = schedule
        self.meanPrediction = meanPrediction
        self.varianceKind = varianceKind
        self.lossKind = lossKind
        self.decoderKind = decoderKind
    }

    /// The same model over a subset of timesteps (IDDPM §4); the model keeps seeing original indices.
    ///
    /// - Throws: ``DiffusionError`` for a spacing that asks for no steps, more than T, or a bad
    ///   explicit list.
    public func respaced(_ spacing: TimestepSpacing) throws -> GaussianDiffusion {
        try GaussianDiffusion(
            schedule: schedule.respaced(spacing), meanPrediction: meanPrediction,
            varianceKind: varianceKind, lossKind: lossKind, decoderKind: decoderKind)
    }

    /// T.
    public var stepCount: Int { schedule.stepCount }

    func coefficient(_ table: [Double], _ timesteps: [Int], like x: Tensor) -> Tensor {
        schedule.coefficient(table, at: timesteps, rank: x.rank, dtype: x.dtype)
    }

    func check(_ timesteps: [Int], batchOf x: Tensor) throws {
        precondition(x.rank >= 1, "GaussianDiffusion: tensors need a batch axis, got shape \(x.shape)")
        try schedule.validate(timesteps: timesteps, batchSize: x.shape[0])
    }
}

// MARK: - Forward process

extension GaussianDiffusion {
    /// q(xₜ|x₀) = N(√ᾱₜ x₀, (1−ᾱₜ) I)   (eq. 4).
    public func forwardDistribution(start: Tensor, timesteps: [Int]) throws -> DiagonalGaussian {
        try check(timesteps, batchOf: start)
        return DiagonalGaussian(
            mean: coefficient(schedule.sqrtAlphaBar, timesteps, like: start) * start,
            variance: coefficient(schedule.alphaBar.map { 1 - $0 }, timesteps, like: start),
            logVariance: coefficient(schedule.logOneMinusAlphaBar, timesteps, like: start))
    }

    /// A sample of q(xₜ|x₀): xₜ = √ᾱₜ x₀ + √(1−ᾱₜ) ε with the given ε ~ N(0, I)   (eq. 4).
    public func sampleForward(start: Tensor, timesteps: [Int], noise: Tensor) throws -> Tensor {
        try check(timesteps, batchOf: start)
        guard noise.shape == start.shape else { throw DiffusionError.noiseShape(expected: start.shape, got: noise.shape) }
        return coefficient(schedule.sqrtAlphaBar, timesteps, like: start) * start
            + coefficient(schedule.sqrtOneMinusAlphaBar, timesteps, like: start) * noise
    }

    /// q(xₜ₋₁|xₜ, x₀) = N(μ̃ₜ, β̃ₜ I) with μ̃ₜ = √ᾱₜ₋₁βₜ/(1−ᾱₜ) x₀ + √αₜ(1−ᾱₜ₋₁)/(1−ᾱₜ) xₜ   (eq. 6–7).
    ///
    /// `variance` is β̃ₜ (0 at t = 1); `logVariance` is `posteriorLogVarianceClipped`.
    public func posterior(start: Tensor, current: Tensor, timesteps: [Int]) throws -> DiagonalGaussian {
        try check(timesteps, batchOf: current)
        precondition(start.shape == current.shape, "posterior: x₀ shape \(start.shape) ≠ xₜ shape \(current.shape)")
        return DiagonalGaussian(
            mean: coefficient(schedule.posteriorMeanCoefficientStart, timesteps, like: current) * start
                + coefficient(schedule.posteriorMeanCoefficientCurrent, timesteps, like: current) * current,
            variance: coefficient(schedule.posteriorVariance, timesteps, like: current),
            logVariance: coefficient(schedule.posteriorLogVarianceClipped, timesteps, like: current))
    }

    /// The velocity target v = √ᾱₜ ε − √(1−ᾱₜ) x₀.
    public func velocity(start: Tensor, noise: Tensor, timesteps: [Int]) throws -> Tensor {
        try check(timesteps, batchOf: start)
        return coefficient(schedule.sqrtAlphaBar, timesteps, like: start) * noise
            - coefficient(schedule.sqrtOneMinusAlphaBar, timesteps, like: start) * start
    }
}

// MARK: - Converting between predictions

extension GaussianDiffusion {
    /// x̂₀ = xₜ/√ᾱₜ − √(1/ᾱₜ − 1) ε̂   (eq. 4 solved for x₀; eq. 15).
    public func predictStart(fromNoise noise: Tensor, current: Tensor, timesteps: [Int]) throws -> Tensor {
        try check(timesteps, batchOf: current)
        return coefficient(schedule.reciprocalSqrtAlphaBar, timesteps, like: current) * current
            - coefficient(schedule.sqrtReciprocalAlphaBarMinusOne, timesteps, like: current) * noise
    }

    /// ε̂ = (xₜ/√ᾱₜ − x̂₀)/√(1/ᾱₜ − 1).
    public func predictNoise(fromStart start: Tensor, current: Tensor, timesteps: [Int]) throws -> Tensor {
        try check(timesteps, batchOf: current)
        return (coefficient(schedule.reciprocalSqrtAlphaBar, timesteps, like: current) * current - start)
            / coefficient(schedule.sqrtReciprocalAlphaBarMinusOne, timesteps, like: current)
    }

    /// x̂₀ = √ᾱₜ xₜ − √(1−ᾱₜ) v̂.
    public func predictStart(fromVelocity velocity: Tensor, current: Tensor, timesteps: [Int]) throws -> Tensor {
        try check(timesteps, batchOf: current)
        return coefficient(schedule.sqrtAlphaBar, timesteps, like: current) * current
            - coefficient(schedule.sqrtOneMinusAlphaBar, timesteps, like: current) * velocity
    }
}

// MARK: - Reverse process

extension GaussianDiffusion {
    /// The shape the model must return for inputs of `shape`.
    public func modelOutputShape(for shape: [Int]) -> [Int] {
        switch varianceKind {
        case .fixedSmall, .fixedLarge: return shape
        case .learnedRange, .learned:
            precondition(shape.count >= 2, "learned variance needs a channel axis (axis 1), got shape \(shape)")
            var s = shape
            s[1] *= 2
            return s
        }
    }

    /// The model output split along axis 1 into the mean part and, for learned variance, the
    /// variance part (v for `.learnedRange`, log σ² for `.learned`); nil for fixed variance.
    public func splitModelOutput(_ output: Tensor, channels: Int) -> (mean: Tensor, variance: Tensor?) {
        switch varianceKind {
        case .fixedSmall, .fixedLarge: return (output, nil)
        case .learnedRange, .learned:
            let parts = output.split(sizes: [channels, channels], axis: 1)
            return (parts[0], parts[1])
        }
    }

    /// Calls `model` with the original timesteps of this (possibly respaced) schedule and checks
    /// the output's shape.
    public func evaluate(_ model: DiffusionModel, current: Tensor, timesteps: [Int]) throws -> Tensor {
        try check(timesteps, batchOf: current)
        let output = model(current, timesteps.map { schedule.originalTimesteps[$0] })
        let expected = modelOutputShape(for: current.shape)
        guard output.shape == expected else { throw DiffusionError.modelOutputShape(expected: expected, got: output.shape) }
        return output
    }

    /// p_θ(xₜ₋₁|xₜ) from the model's output.
    ///
    /// 1. Split the output into the mean part and, for learned variance, the variance part.
    /// 2. Variance: fixed small β̃ₜ, fixed large βₜ (DDPM §3.2), learned range
    ///    log σ² = v log βₜ + (1−v) log β̃ₜ, v = (out + 1)/2   (IDDPM eq. 15), or learned
    ///    log σ² = out (eq. 1 with Σ_θ from the network; SD15 §2.4).
    /// 3. x̂₀ from the mean part: ε (eq. 15), x₀ itself, or v; clipped to [−1, 1] if `clipStart`.
    /// 4. μ_θ = μ̃ₜ(xₜ, x̂₀)   (eq. 7), and ε̂ consistent with the clipped x̂₀.
    public func reverseStep(
        modelOutput: Tensor, current: Tensor, timesteps: [Int], clipStart: Bool = false
    ) throws -> ReverseStep {
        try check(timesteps, batchOf: current)
        let expected = modelOutputShape(for: current.shape)
        guard modelOutput.shape == expected else {
            throw DiffusionError.modelOutputShape(expected: expected, got: modelOutput.shape)
        }
        // 1. Split.
        let (meanOutput, varianceOutput) = splitModelOutput(modelOutput, channels: current.shape[1])
        // 2. Variance.
        let logVariance: Tensor
        switch varianceKind {
        case .fixedSmall:
            logVariance = coefficient(schedule.posteriorLogVarianceClipped, timesteps, like: current)
        case .fixedLarge:
            logVariance = coefficient(schedule.fixedLargeLogVariance, timesteps, like: current)
        case .learnedRange:
            let fraction = (varianceOutput! + 1.0) * 0.5
            let maxLog = coefficient(schedule.logBetas, timesteps, like: current)
            let minLog = coefficient(schedule.posteriorLogVarianceClipped, timesteps, like: current)
            logVariance = fraction * maxLog + (1.0 - fraction) * minLog
        case .learned:
            logVariance = varianceOutput!
        }
        // 3. x̂₀.
        var predictedStart: Tensor
        switch meanPrediction {
        case .noise: predictedStart = try predictStart(fromNoise: meanOutput, current: current, timesteps: timesteps)
        case .start: predictedStart = meanOutput
        case .velocity: predictedStart = try predictStart(fromVelocity: meanOutput, current: current, timesteps: timesteps)
        }
        if clipStart { predictedStart = predictedStart.clamped(min: -1, max: 1) }
        // 4. Mean (eq. 7 with x̂₀) and the matching ε̂.
        let mean = try posterior(start: predictedStart, current: current, timesteps: timesteps).mean
        let predictedNoise: Tensor
        if meanPrediction == .noise && !clipStart {
            predictedNoise = meanOutput
        } else {
            predictedNoise = try predictNoise(fromStart: predictedStart, current: current, timesteps: timesteps)
        }
        return ReverseStep(
            mean: mean, variance: logVariance.exp(), logVariance: logVariance,
            predictedStart: predictedStart, predictedNoise: predictedNoise)
    }

    /// p_θ(xₜ₋₁|xₜ) with the model evaluated at xₜ (see `reverseStep(modelOutput:current:timesteps:clipStart:)`).
    public func reverseStep(
        model: DiffusionModel, current: Tensor, timesteps: [Int], clipStart: Bool = false
    ) throws -> ReverseStep {
        let output = try evaluate(model, current: current, timesteps: timesteps)
        return try reverseStep(modelOutput: output, current: current, timesteps: timesteps, clipStart: clipStart)
    }
}
