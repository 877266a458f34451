// Ancestral sampling of binomial diffusion: x_T ~ B(½), then xₜ₋₁ ~ p_θ(xₜ₋₁|xₜ) down to x₀ (SD15 §2.4).
import Foundation
import DDPMTensors

extension BinomialDiffusion {
    /// Ancestral sampling of binary data.
    ///
    /// 1. x_T ~ B(½) (the prior p(x_T)).
    /// 2. For t = T…1: the network's logits ℓ of x₀ and p_θ(xₜ₋₁ | xₜ) = B(σ(λ)) (`reverseLogits`);
    ///    call `onStep` with xₜ and x̂₀ = σ(ℓ).
    /// 3. xₜ₋₁ ~ B(σ(λ)), including x₀ at t = 1, so samples are exactly 0 or 1.
    ///
    /// Runs without gradients.
    ///
    /// - Parameters:
    ///   - model: the network, called on 2xₜ − 1; returns logits of x₀ = 1 in xₜ's shape.
    ///   - shape: [B, …] of the samples.
    ///   - dtype: the samples' element type.
    ///   - generator: the source of every coin flip.
    ///   - onStep: called at each step with xₜ and x̂₀ = σ(ℓ).
    /// - Returns: x₀ ∈ {0, 1} of `shape`.
    public func sampleAncestral(
        model: DiffusionModel, shape: [Int], dtype: DType = .float32,
        generator: inout some NoiseSource, onStep: SamplingCallback? = nil
    ) throws -> Tensor {
        try withoutGradients {
            // 1. x_T ~ B(½).
            let half = Tensor(repeating: 0.5, shape: shape, dtype: dtype)
            var x = bernoulliSample(
                probability: half, uniformNoise: generator.uniform(shape: shape, dtype: dtype))
            let batch = shape[0]
            for index in stride(from: stepCount - 1, through: 0, by: -1) {
                let timesteps = [Int](repeating: index, count: batch)
                // 2. p_θ(xₜ₋₁ | xₜ).
                let startLogits = try evaluate(model, current: x, timesteps: timesteps)
                onStep?(SamplingStep(index: index, timestep: index, current: x, predictedStart: startLogits.sigmoid()))
                let reverse = try reverseLogits(startLogits: startLogits, current: x, timesteps: timesteps)
                // 3. xₜ₋₁ ~ B(σ(λ)).
                x = bernoulliSample(
                    probability: reverse.sigmoid(), uniformNoise: generator.uniform(shape: shape, dtype: dtype))
            }
            return x
        }
    }
}
