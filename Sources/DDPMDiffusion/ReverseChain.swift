// The reverse chain started part-way: from xₜ at any t down to x₀ (DDPM §4.3–4.4), optionally
// conditioned on known dimensions (SD15 §2.5 and Fig. 5: inpainting).
import Foundation
import DDPMTensors

/// Known dimensions of x₀ for conditioning: where `mask` is 1 the value is the observation's,
/// where it is 0 the model fills it in.
public struct KnownDimensions {
    /// The observed x₀, [B, …] (values under a 0 of the mask are ignored).
    public var observation: Tensor
    /// 1 for known, 0 for unknown; broadcasts against `observation`.
    public var mask: Tensor

    /// Known dimensions: `observation` x₀ᵒᵇˢ where `mask` is 1.
    ///
    /// - Parameters:
    ///   - observation: x₀ᵒᵇˢ, [B, …] or [1, …] (broadcast over the batch).
    ///   - mask: 1 for known, 0 for unknown; broadcasts against `observation`.
    public init(observation: Tensor, mask: Tensor) {
        self.observation = observation
        self.mask = mask
    }

    /// `x` with its known dimensions replaced by `known`.
    func merged(_ x: Tensor, known: Tensor) -> Tensor {
        mask * known + (1.0 - mask) * x
    }
}

extension GaussianDiffusion {
    /// A draw of x₀ ~ p_θ(x₀|xₜ): ancestral sampling (Algorithm 2) from `current` = xₜ at schedule
    /// index `index` (t = index + 1) down to t = 1.
    ///
    /// 1. With `known`: the known dimensions of xₜ are replaced by a draw of q(xₜ|x₀ᵒᵇˢ) (eq. 4).
    /// 2. For s = t…1: p_θ(xₛ₋₁|xₛ) (eq. 11 / 15); `onStep` sees xₛ and x̂₀.
    /// 3. xₛ₋₁ = μ_θ + σₛ z, z ~ N(0, I), no noise at s = 1. With `sharedNoise` one z of shape
    ///    [1, …] serves every batch element (interpolation rows that differ only in xₜ); the draws
    ///    of q for known dimensions are then shared too.
    /// 4. With `known`: the known dimensions of xₛ₋₁ are replaced by a draw of q(xₛ₋₁|x₀ᵒᵇˢ), and by
    ///    x₀ᵒᵇˢ itself at s = 1 — SD15's conditioning, which multiplies the reverse chain by a
    ///    distribution that fixes the known pixels.
    ///
    /// Runs without gradients.
    ///
    /// - Parameters:
    ///   - model: the network.
    ///   - current: xₜ, [B, …].
    ///   - index: the schedule index of t (t = index + 1).
    ///   - known: known dimensions to clamp (inpainting), or nil.
    ///   - sharedNoise: one z per step for the whole batch (drawn as a batch of one: a source of
    ///     one generator per example needs exactly one).
    ///   - clipStart: clip x̂₀ to [−1, 1] at every step (images).
    ///   - generator: the source of every z and every draw of q for known dimensions.
    ///   - onStep: called at each step with xₛ and x̂₀.
    /// - Returns: x₀, `current`'s shape.
    /// - Throws: ``DiffusionError/timestepOutOfRange(timestep:stepCount:)`` for an index outside
    ///   0..<T, or a model-output shape error.
    public func reverseChain(
        model: DiffusionModel, from current: Tensor, index: Int, known: KnownDimensions? = nil,
        sharedNoise: Bool = false, clipStart: Bool = false, generator: inout some NoiseSource,
        onStep: SamplingCallback? = nil
    ) throws -> Tensor {
        guard index >= 0, index < stepCount else { throw DiffusionError.timestepOutOfRange(timestep: index, stepCount: stepCount) }
        return try withoutGradients {
            let batch = current.shape[0]
            var noiseShape = current.shape
            if sharedNoise { noiseShape[0] = 1 }
            func draw(_ generator: inout some NoiseSource) -> Tensor {
                let z = generator.normal(shape: noiseShape, dtype: current.dtype)
                return sharedNoise ? z.broadcast(to: current.shape) : z
            }
            // 1. Known dimensions of xₜ.
            var x = current
            if let known {
                let noisy = try sampleForward(
                    start: known.observation.broadcast(to: current.shape),
                    timesteps: [Int](repeating: index, count: batch), noise: draw(&generator))
                x = known.merged(x, known: noisy)
            }
            for s in stride(from: index, through: 0, by: -1) {
                let timesteps = [Int](repeating: s, count: batch)
                // 2. p_θ(xₛ₋₁|xₛ).
                let step = try reverseStep(model: model, current: x, timesteps: timesteps, clipStart: clipStart)
                onStep?(SamplingStep(index: s, timestep: schedule.originalTimesteps[s], current: x, predictedStart: step.predictedStart))
                // 3. xₛ₋₁.
                x = s > 0 ? step.mean + (0.5 * step.logVariance).exp() * draw(&generator) : step.mean
                // 4. Known dimensions of xₛ₋₁.
                if let known {
                    let observation = known.observation.broadcast(to: current.shape)
                    if s > 0 {
                        let previous = [Int](repeating: s - 1, count: batch)
                        x = known.merged(x, known: try sampleForward(start: observation, timesteps: previous, noise: draw(&generator)))
                    } else {
                        x = known.merged(x, known: observation)
                    }
                }
            }
            return x
        }
    }

    /// Interpolation in latent space (DDPM §4.4, Fig. 8): xₜ = q(xₜ|x₀) and x′ₜ = q(x′ₜ|x′₀) with
    /// one shared ε (eq. 4), x̄ₜ = (1−λ)xₜ + λx′ₜ for each λ, decoded by the reverse chain from t
    /// with noise shared across λ, so that the rows differ only through x̄ₜ.
    ///
    /// - Parameters:
    ///   - model: the network.
    ///   - first: x₀, [1, …].
    ///   - second: x′₀, of `first`'s shape.
    ///   - index: schedule index of t (t = index + 1).
    ///   - lambdas: the mixing weights λ, usually in [0, 1].
    ///   - clipStart: clip x̂₀ to [−1, 1] at every step (images).
    ///   - generator: the source of ε and of the shared reverse noise.
    /// - Returns: [λ count, …], row i decoded from λ = `lambdas[i]`.
    /// - Throws: ``DiffusionError/timestepOutOfRange(timestep:stepCount:)`` for an index outside 0..<T.
    public func interpolate(
        model: DiffusionModel, first: Tensor, second: Tensor, index: Int, lambdas: [Double],
        clipStart: Bool = false, generator: inout PhiloxGenerator
    ) throws -> Tensor {
        precondition(
            first.shape == second.shape && first.shape.first == 1,
            "interpolate: x₀ and x′₀ must both be [1, …], got \(first.shape) and \(second.shape)")
        precondition(!lambdas.isEmpty, "interpolate: no λ values")
        guard index >= 0, index < stepCount else { throw DiffusionError.timestepOutOfRange(timestep: index, stepCount: stepCount) }
        let noise = Tensor.randomNormal(shape: first.shape, dtype: first.dtype, generator: &generator)
        let a = try sampleForward(start: first, timesteps: [index], noise: noise)
        let b = try sampleForward(start: second, timesteps: [index], noise: noise)
        let mixed = Tensor.concatenate(lambdas.map { (1 - $0) * a + $0 * b }, axis: 0)
        return try reverseChain(model: model, from: mixed, index: index, sharedNoise: true, clipStart: clipStart, generator: &generator)
    }
}
