// Per-timestep coefficients: entries of a Float64 table, shaped to broadcast over a batch.
import Foundation
import DDPMTensors

extension DiffusionSchedule {
    /// `table[timesteps[b]]` for each example b as a tensor of shape [B, 1, …, 1] with `rank`
    /// dimensions and the given dtype (the `extract` of DDPM's code). The table stays in Float64;
    /// only the gathered entries are cast. Timesteps must have been validated.
    func coefficient(_ table: [Double], at timesteps: [Int], rank: Int, dtype: DType) -> Tensor {
        precondition(rank >= 1, "coefficient: target rank must be ≥ 1, got \(rank)")
        let values = timesteps.map { table[$0] }
        return Tensor(values, shape: [timesteps.count] + [Int](repeating: 1, count: rank - 1), dtype: dtype)
    }

    /// log βₜ.
    var logBetas: [Double] { betas.map { Foundation.log($0) } }

    /// The fixed-large log variance: log βₜ, with the t = 1 entry log β̃₂ as in DDPM's and IDDPM's
    /// code (equal to log β₁ when T = 1).
    var fixedLargeLogVariance: [Double] {
        [posteriorLogVarianceClipped[0]] + betas.dropFirst().map { Foundation.log($0) }
    }
}
