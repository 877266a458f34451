// The variational bound of binomial diffusion in bits/dim: its terms, the training loss and the
// whole bound over all T steps (SD15 §2.4's bound as KL divergences, grouped as in DDPM eq. 5).
import Foundation
import DDPMTensors

extension BinomialDiffusion {
    /// L_T = KL(q(x_T | x₀) ‖ B(½)) in bits/dim, per example [B]. Constant in θ; exactly 0 when
    /// ᾱ_T = 0, as on SD15's schedule.
    public func priorBitsPerDim(start: Tensor) throws -> Tensor {
        let last = [Int](repeating: stepCount - 1, count: start.shape[0])
        let logits = try forwardLogits(start: start, timesteps: last)
        let kl = bernoulliKL(logits1: logits, logits2: Tensor(zeros: [], dtype: start.dtype))
        return meanOverNonBatchAxes(kl.broadcast(to: start.shape)) * (1 / Foundation.log(2.0))
    }

    /// The bound term at each example's t, in bits/dim, per example [B]:
    /// L_{t−1} = KL(q(xₜ₋₁|xₜ,x₀) ‖ p_θ(xₜ₋₁|xₜ)) for t > 1 and L₀ = −log p_θ(x₀|x₁) for t = 1.
    ///
    /// 1. p_θ's logits from the network's logits of x₀ (`reverseLogits`).
    /// 2. The posterior's logits (`posteriorLogits`) and the Bernoulli KL, per element, nats.
    /// 3. The decoder's negative log-likelihood of x₀, per element, nats.
    /// 4. Average over dimensions, convert to bits, and pick per example by t.
    public func boundTerm(start: Tensor, current: Tensor, timesteps: [Int], startLogits: Tensor) throws -> Tensor {
        // 1. p_θ(xₜ₋₁ | xₜ).
        let reverse = try reverseLogits(startLogits: startLogits, current: current, timesteps: timesteps)
        // 2. KL.
        let posterior = try posteriorLogits(start: start, current: current, timesteps: timesteps)
        let kl = bernoulliKL(logits1: posterior, logits2: reverse)
        // 3. Decoder.
        let decoderNLL = -bernoulliLogLikelihood(start, logits: reverse)
        // 4. Bits/dim per example.
        let toBits = 1 / Foundation.log(2.0)
        let isFirst = Tensor(timesteps.map { $0 == 0 ? 1.0 : 0.0 }, shape: [timesteps.count], dtype: start.dtype)
        return isFirst * (meanOverNonBatchAxes(decoderNLL) * toBits) + (1.0 - isFirst) * (meanOverNonBatchAxes(kl) * toBits)
    }

    /// The per-example training loss T · L_{t−1} in bits/dim, [B]: with t uniform on 1…T it is an
    /// unbiased estimate of Σₜ L_{t−1}, the bound without the constant L_T. Differentiable in the
    /// model's parameters.
    ///
    /// 1. xₜ ~ q(xₜ | x₀) from the given uniform noise.
    /// 2. The network's logits of x₀ from 2xₜ − 1.
    /// 3. T · L_{t−1} (`boundTerm`).
    ///
    /// - Parameters:
    ///   - model: the network, called on 2xₜ − 1; returns logits of x₀ = 1 in xₜ's shape.
    ///   - start: x₀ ∈ {0, 1}, [B, …].
    ///   - timesteps: one 0-based index per example, drawn uniformly by the caller.
    ///   - uniformNoise: u ~ U[0, 1) of x₀'s shape.
    /// - Throws: `DiffusionError.nonBinaryData` unless x₀ is binary.
    public func trainingLoss(model: DiffusionModel, start: Tensor, timesteps: [Int], uniformNoise: Tensor) throws -> Tensor {
        try Self.checkBinary(start)
        // 1. Forward process.
        let current = try sampleForward(start: start, timesteps: timesteps, uniformNoise: uniformNoise)
        // 2. Network.
        let startLogits = try evaluate(model, current: current, timesteps: timesteps)
        // 3. Scaled bound term.
        return try boundTerm(start: start, current: current, timesteps: timesteps, startLogits: startLogits) * Double(stepCount)
    }

    /// The whole bound L = L_T + Σ_{t>1} L_{t−1} + L₀ for a batch x₀ ∈ {0, 1}, in bits/dim, with one
    /// fresh xₜ ~ q(xₜ | x₀) per step drawn from `generator`. Runs without gradients.
    ///
    /// 1. For t = T…1: xₜ ~ q(xₜ | x₀); the network's logits of x₀; the term L_{t−1}.
    /// 2. L_T.
    /// 3. Total = L_T + Σₜ L_{t−1}.
    ///
    /// - Returns: the terms as in the Gaussian `VariationalBound` (column i holds t = i + 1,
    ///   column 0 is L₀; `prior` is L_T).
    /// - Throws: `DiffusionError.nonBinaryData` unless x₀ is binary.
    public func variationalBound(
        model: DiffusionModel, start: Tensor, generator: inout some NoiseSource, progress: StepProgress? = nil
    ) throws -> VariationalBound {
        try Self.checkBinary(start)
        let T = stepCount
        return try accumulateBound(stepCount: stepCount, start: start, prior: priorBitsPerDim) { index, timesteps in
            let noise = generator.uniform(shape: start.shape, dtype: start.dtype)
            let current = try sampleForward(start: start, timesteps: timesteps, uniformNoise: noise)
            let startLogits = try evaluate(model, current: current, timesteps: timesteps)
            defer { progress?(T - index) }
            return try boundTerm(start: start, current: current, timesteps: timesteps, startLogits: startLogits)
        }
    }
}
