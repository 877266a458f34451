// Progressive lossy compression: rate and distortion along the reverse chain (DDPM §4.3,
// Algorithms 3–4, Fig. 5).
import Foundation
import DDPMTensors

/// Rate and distortion of sending x₀ through the chain, per example and step.
///
/// Column i is t = i + 1. A receiver holding xₜ has been sent x_T (L_T bits) and xₜ₋₁ … for
/// every later step: rate(t) = L_T + Σ_{s>t} L_{s−1} (DDPM Algorithm 3), and decodes
/// x̂₀(xₜ) (eq. 15): distortion(t) = ‖x₀ − x̂₀‖/√D on the 0–255 scale. Sending the last term
/// L₀ gives x₀ itself: rate = the whole bound, distortion 0.
public struct RateDistortion {
    /// The bound the rates are made of, in bits/dim.
    public var bound: VariationalBound
    /// [B, T], bits/dim, non-increasing in t; Float64 (summed in Float64 from the terms).
    public var rate: Tensor
    /// [B, T], RMSE on the 0–255 scale.
    public var distortion: Tensor
}

extension GaussianDiffusion {
    /// Rate and distortion for a batch x₀ of 8-bit images scaled to [−1, 1], one xₜ ~ q(xₜ|x₀)
    /// per step as in the bound (DDPM §4.3).
    ///
    /// 1. The bound, recording x̂₀ (clipped if `clipStart`) at each step.
    /// 2. Distortion: 127.5 · √(mean over dimensions of (x₀ − x̂₀)²).
    /// 3. Rate: L_T plus the terms of all later steps, a reversed cumulative sum.
    public func rateDistortion(
        model: DiffusionModel, start: Tensor, clipStart: Bool = true, generator: inout PhiloxGenerator,
        onStep: ((_ index: Int) -> Void)? = nil
    ) throws -> RateDistortion {
        let batch = start.shape[0]
        // 1. Bound and x̂₀.
        var distortions = [Tensor](repeating: Tensor(zeros: [batch, 1], dtype: start.dtype), count: stepCount)
        let bound = try variationalBound(model: model, start: start, clipStart: clipStart, generator: &generator) { index, _, reverse in
            // 2. Distortion on the 0–255 scale.
            let error = meanOverNonBatchAxes((start - reverse.predictedStart).squared()).sqrt() * 127.5
            distortions[index] = error.reshaped([batch, 1])
            onStep?(index)
        }
        // 3. rate[i] = L_T + Σ_{j > i} terms[j].
        let terms = bound.terms.converted(to: .float64).doubles
        let prior = bound.prior.converted(to: .float64).doubles
        var rate = [Double](repeating: 0, count: batch * stepCount)
        for b in 0..<batch {
            var sum = prior[b]
            for i in stride(from: stepCount - 1, through: 0, by: -1) {
                rate[b * stepCount + i] = sum
                sum += terms[b * stepCount + i]
            }
        }
        return RateDistortion(
            bound: bound, rate: Tensor(rate, shape: [batch, stepCount], dtype: .float64),
            distortion: Tensor.concatenate(distortions, axis: 1))
    }
}
