// The whole variational bound of a batch over all T steps, per term, in bits/dim (DDPM eq. 5;
// IDDPM's calc_bpd_loop).
import Foundation
import DDPMTensors

/// The terms of −log p_θ(x₀) ≤ L = L_T + Σ_{t>1} L_{t−1} + L₀, each per example, in bits/dim.
public struct VariationalBound {
    /// L_T = KL(q(x_T|x₀) ‖ p(x_T)), shape [B]: p(x_T) = N(0, I) for Gaussian diffusion, B(½) for
    /// binomial diffusion. Constant in θ.
    public var prior: Tensor
    /// Shape [B, T]; column i is the term of t = i + 1: column 0 is L₀ (decoder), column i ≥ 1 is
    /// L_i = KL(q(x_i|x_{i+1},x₀) ‖ p_θ(x_i|x_{i+1})).
    public var terms: Tensor
    /// L_T + Σ terms, shape [B].
    public var total: Tensor
}

extension GaussianDiffusion {
    /// The whole bound for a batch x₀ (8-bit data scaled to [−1, 1] for the discretised L₀, any
    /// real data for the continuous one; see `DecoderKind`), with one fresh xₜ ~ q(xₜ|x₀) per step
    /// drawn from `generator`. Runs without gradients.
    ///
    /// 1. For t = T…1: xₜ = √ᾱₜ x₀ + √(1−ᾱₜ) ε (eq. 4); p_θ(xₜ₋₁|xₜ); the term L_{t−1} (eq. 5, 13).
    /// 2. L_T (eq. 5).
    /// 3. Total = L_T + Σₜ L_{t−1}.
    ///
    /// `onStep` sees each step's index, xₜ and p_θ(xₜ₋₁|xₜ) (for rate–distortion and progress).
    ///
    /// - Throws: ``DiffusionError/modelOutputShape(expected:got:)`` when the model returns the
    ///   wrong shape.
    public func variationalBound(
        model: DiffusionModel, start: Tensor, clipStart: Bool, generator: inout some NoiseSource,
        onStep: ((_ index: Int, _ current: Tensor, _ reverse: ReverseStep) -> Void)?
    ) throws -> VariationalBound {
        try accumulateBound(stepCount: stepCount, start: start, prior: priorBitsPerDim) { index, timesteps in
            let noise = generator.normal(shape: start.shape, dtype: start.dtype)
            let current = try sampleForward(start: start, timesteps: timesteps, noise: noise)
            let reverse = try reverseStep(model: model, current: current, timesteps: timesteps, clipStart: clipStart)
            let term = try boundTerm(start: start, current: current, timesteps: timesteps, reverse: reverse)
            onStep?(index, current, reverse)
            return term
        }
    }
}

/// The bound's loop, shared by every process: for t = T…1 the term L_{t−1} from `term(index,
/// timesteps)` ([B], the same index for the whole batch), then L_T from `prior`, then the total.
/// Runs without gradients.
func accumulateBound(
    stepCount: Int, start: Tensor, prior: (Tensor) throws -> Tensor, term: (_ index: Int, _ timesteps: [Int]) throws -> Tensor
) throws -> VariationalBound {
    try withoutGradients {
        let batch = start.shape[0]
        var columns = [Tensor](repeating: Tensor(zeros: [batch, 1], dtype: start.dtype), count: stepCount)
        // 1. Every step, from T down to 1.
        for index in stride(from: stepCount - 1, through: 0, by: -1) {
            columns[index] = try term(index, [Int](repeating: index, count: batch)).reshaped([batch, 1])
        }
        // 2. Prior.
        let prior = try prior(start)
        // 3. Total.
        let terms = Tensor.concatenate(columns, axis: 1)
        return VariationalBound(prior: prior, terms: terms, total: prior + terms.sum(axes: [1]))
    }
}
