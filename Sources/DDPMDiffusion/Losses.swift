// Training losses: L_simple (eq. 14), the variational-bound terms (eq. 5, 13), L_T, and IDDPM's
// hybrid loss; all per example.
import Foundation
import DDPMTensors

/// Per-example training losses, each of shape [B].
public struct TrainingLosses {
    /// The loss to minimise (per `LossKind`); average it, weighted by importance weights if the
    /// timesteps were importance-sampled.
    public var loss: Tensor
    /// ‖target − prediction‖² averaged over dimensions (eq. 14); nil for `.vlb`.
    public var meanSquaredError: Tensor?
    /// L_{t−1} in bits/dim for each example's t (L₀ where t = 1); nil for `.simple`.
    public var boundTerm: Tensor?
}

extension GaussianDiffusion {
    /// L_T = KL(q(x_T|x₀) ‖ N(0, I)) in bits/dim, per example [B]   (eq. 5). Constant in θ.
    public func priorBitsPerDim(start: Tensor) throws -> Tensor {
        let last = [Int](repeating: stepCount - 1, count: start.shape[0])
        let q = try forwardDistribution(start: start, timesteps: last)
        let zero = Tensor(zeros: [], dtype: start.dtype)
        let kl = normalKL(mean1: q.mean, logVariance1: q.logVariance, mean2: zero, logVariance2: zero)
        return meanOverNonBatchAxes(kl.broadcast(to: start.shape)) * (1 / Foundation.log(2.0))
    }

    /// The bound term at each example's t, in bits/dim, per example [B]   (eq. 5, 13):
    /// L_{t−1} = KL(q(xₜ₋₁|xₜ,x₀) ‖ p_θ(xₜ₋₁|xₜ)) for t > 1, and L₀ = −log p_θ(x₀|x₁) for t = 1 per
    /// `decoderKind`: the discretised decoder (eq. 13; x₀ must then be 8-bit data scaled to
    /// [−1, 1]) or the continuous one, −log N(x₀; μ_θ(x₁, 1), σ₁²), a density that can make L₀
    /// negative.
    ///
    /// - Parameters:
    ///   - start: x₀, [B, …].
    ///   - current: xₜ, x₀'s shape.
    ///   - timesteps: one 0-based index per example.
    ///   - reverse: p_θ(xₜ₋₁|xₜ) at these timesteps (from `reverseStep`).
    public func boundTerm(start: Tensor, current: Tensor, timesteps: [Int], reverse: ReverseStep) throws -> Tensor {
        let q = try posterior(start: start, current: current, timesteps: timesteps)
        // 1. KL between the true posterior and p_θ, per element, nats.
        let kl = normalKL(mean1: q.mean, logVariance1: q.logVariance, mean2: reverse.mean, logVariance2: reverse.logVariance)
        // 2. Decoder negative log-likelihood, per element, nats   (eq. 13, or the density).
        let decoderNLL: Tensor
        switch decoderKind {
        case .discretized: decoderNLL = -discretizedGaussianLogLikelihood(start, mean: reverse.mean, logVariance: reverse.logVariance)
        case .continuous: decoderNLL = -gaussianLogDensity(start, mean: reverse.mean, logVariance: reverse.logVariance)
        }
        // 3. Average over dimensions, convert to bits, and pick per example by t.
        let toBits = 1 / Foundation.log(2.0)
        let klBits = meanOverNonBatchAxes(kl.broadcast(to: start.shape)) * toBits
        let decoderBits = meanOverNonBatchAxes(decoderNLL.broadcast(to: start.shape)) * toBits
        let isFirst = Tensor(timesteps.map { $0 == 0 ? 1.0 : 0.0 }, shape: [timesteps.count], dtype: start.dtype)
        return isFirst * decoderBits + (1.0 - isFirst) * klBits
    }

    /// Per-example losses for a batch x₀ at the given timesteps with the given noise ε.
    ///
    /// 1. xₜ = √ᾱₜ x₀ + √(1−ᾱₜ) ε   (eq. 4).
    /// 2. Evaluate the model; split off the variance part if learned.
    /// 3. L_simple = mean over dimensions of (target − prediction)², target ε, x₀ or v   (eq. 14).
    /// 4. Bound term L_{t−1} in bits/dim (eq. 5, 13). For `.hybrid` it sees a detached mean, so it
    ///    trains only the variance (IDDPM §3.1).
    /// 5. `.simple`: L_simple. `.vlb`: T · L_{t−1}, an unbiased estimate of Σₜ L_{t−1} (the bound
    ///    without the constant L_T) under uniform t. `.hybrid(λ)`: L_simple + λ · T · L_{t−1}
    ///    (IDDPM: λ L_vlb with λ = 0.001).
    public func trainingLosses(model: DiffusionModel, start: Tensor, timesteps: [Int], noise: Tensor) throws -> TrainingLosses {
        // 1. Forward process.
        let current = try sampleForward(start: start, timesteps: timesteps, noise: noise)
        // 2. Model.
        let output = try evaluate(model, current: current, timesteps: timesteps)
        let (meanOutput, varianceOutput) = splitModelOutput(output, channels: start.shape[1])
        // 3. L_simple.
        func simple() throws -> Tensor {
            let target: Tensor
            switch meanPrediction {
            case .noise: target = noise
            case .start: target = start
            case .velocity: target = try velocity(start: start, noise: noise, timesteps: timesteps)
            }
            return meanOverNonBatchAxes((target - meanOutput).squared())
        }
        // 4. Bound term, with the mean part detached if asked.
        func bound(detachingMean: Bool) throws -> Tensor {
            var boundOutput = output
            if detachingMean {
                if let varianceOutput {
                    boundOutput = Tensor.concatenate([meanOutput.detached(), varianceOutput], axis: 1)
                } else {
                    boundOutput = output.detached()
                }
            }
            let reverse = try reverseStep(modelOutput: boundOutput, current: current, timesteps: timesteps)
            return try boundTerm(start: start, current: current, timesteps: timesteps, reverse: reverse)
        }
        // 5. Combine.
        let steps = Double(stepCount)
        switch lossKind {
        case .simple:
            let mse = try simple()
            return TrainingLosses(loss: mse, meanSquaredError: mse, boundTerm: nil)
        case .vlb:
            let term = try bound(detachingMean: false)
            return TrainingLosses(loss: term * steps, meanSquaredError: nil, boundTerm: term)
        case .hybrid(let lambda):
            let mse = try simple()
            let term = try bound(detachingMean: true)
            return TrainingLosses(loss: mse + term * (lambda * steps), meanSquaredError: mse, boundTerm: term)
        }
    }
}
