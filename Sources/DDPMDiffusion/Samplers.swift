// Samplers: ancestral sampling (DDPM Algorithm 2) and DDIM (DDIM eq. 12), over the full or a
// respaced schedule, with injected randomness and an optional per-step callback.
import Foundation
import DDPMTensors

/// What a sampler shows its callback at each step (for progressive-generation figures, DDPM §4.3).
public struct SamplingStep {
    /// Index into the sampler's (possibly respaced) schedule, counting down to 0.
    public var index: Int
    /// The original 0-based timestep the model saw (t = timestep + 1).
    public var timestep: Int
    /// xₜ, the input of this step.
    public var current: Tensor
    /// x̂₀ predicted from xₜ (clipped if the sampler clips).
    public var predictedStart: Tensor
}

/// Called once per step, from the noisiest to t = 1.
public typealias SamplingCallback = (SamplingStep) -> Void

extension GaussianDiffusion {
    /// Ancestral sampling   (DDPM Algorithm 2; with learned or fixed variance per `varianceKind`).
    ///
    /// 1. x_T ~ N(0, I), or `initialNoise` if given.
    /// 2. For t = T…1: p_θ(xₜ₋₁|xₜ) = N(μ_θ, σₜ²) (eq. 11 / 15); call `onStep` with xₜ and x̂₀.
    /// 3. xₜ₋₁ = μ_θ + σₜ z with z ~ N(0, I) for t > 1, and z = 0 at t = 1.
    ///
    /// On a respaced schedule this is IDDPM's strided sampling. Runs without gradients.
    ///
    /// - Parameters:
    ///   - model: the network.
    ///   - shape: [B, …] of the samples; ignored if `initialNoise` is given.
    ///   - dtype: the samples' element type; ignored if `initialNoise` is given.
    ///   - initialNoise: x_T, or nil to draw it from `generator`.
    ///   - clipStart: clip x̂₀ to [−1, 1] at every step, as the official code does for images.
    ///   - generator: the source of x_T (unless given) and of every z.
    ///   - onStep: called at each step with xₜ and x̂₀.
    public func sampleAncestral(
        model: DiffusionModel, shape: [Int], dtype: DType = .float32, initialNoise: Tensor? = nil,
        clipStart: Bool = false, generator: inout some NoiseSource, onStep: SamplingCallback? = nil
    ) throws -> Tensor {
        // 1. x_T; 2–3. the chain from t = T.
        let x = initialNoise ?? generator.normal(shape: shape, dtype: dtype)
        return try reverseChain(model: model, from: x, index: stepCount - 1, clipStart: clipStart, generator: &generator, onStep: onStep)
    }

    /// DDIM sampling   (DDIM eq. 12) over this schedule's timesteps (respace first for fewer steps).
    ///
    /// 1. x_T ~ N(0, I), or `initialNoise` if given.
    /// 2. For each kept step τᵢ from the last: x̂₀ and ε̂ from the model (ε̂ recomputed from the
    ///    clipped x̂₀ when clipping); call `onStep`.
    /// 3. σ = η √((1−ᾱ_{τᵢ₋₁})/(1−ᾱ_{τᵢ})) √(1 − ᾱ_{τᵢ}/ᾱ_{τᵢ₋₁})   (DDIM eq. 16).
    /// 4. x_{τᵢ₋₁} = √ᾱ_{τᵢ₋₁} x̂₀ + √(1 − ᾱ_{τᵢ₋₁} − σ²) ε̂ + σ z; ᾱ before the first kept step is 1,
    ///    so the last update returns x̂₀.
    ///
    /// η = 0 (the default) is deterministic given x_T; η = 1 matches DDPM's fixed-small variance.
    /// The variance kind of this diffusion is not used (only x̂₀ and ε̂ are).
    ///
    /// - Throws: ``DiffusionError/invalidEta(_:)`` for η outside [0, 1], or a model-output shape error.
    public func sampleDDIM(
        model: DiffusionModel, shape: [Int], dtype: DType = .float32, eta: Double = 0, initialNoise: Tensor? = nil,
        clipStart: Bool = false, generator: inout some NoiseSource, onStep: SamplingCallback? = nil
    ) throws -> Tensor {
        guard eta.isFinite, eta >= 0, eta <= 1 else { throw DiffusionError.invalidEta(eta) }
        return try withoutGradients {
            // 1. x_T.
            var x = initialNoise ?? generator.normal(shape: shape, dtype: dtype)
            let batch = x.shape[0]
            for index in stride(from: stepCount - 1, through: 0, by: -1) {
                let timesteps = [Int](repeating: index, count: batch)
                // 2. Predictions.
                let step = try reverseStep(model: model, current: x, timesteps: timesteps, clipStart: clipStart)
                onStep?(
                    SamplingStep(index: index, timestep: schedule.originalTimesteps[index], current: x, predictedStart: step.predictedStart)
                )
                // 3. σ.
                let alphaBar = schedule.alphaBar[index]
                let alphaBarPrevious = schedule.alphaBarPrevious[index]
                let sigma =
                    eta * ((1 - alphaBarPrevious) / (1 - alphaBar)).squareRoot()
                    * Swift.max(0, 1 - alphaBar / alphaBarPrevious).squareRoot()
                // 4. Update.
                let noiseScale = Swift.max(0, 1 - alphaBarPrevious - sigma * sigma).squareRoot()
                x = step.predictedStart * alphaBarPrevious.squareRoot() + step.predictedNoise * noiseScale
                if sigma > 0 {
                    x = x + generator.normal(shape: x.shape, dtype: x.dtype) * sigma
                }
            }
            return x
        }
    }
}
