// Flip-rate schedules β₁…β_T of binomial diffusion (SD15 §2.4, Table App.1).
import Foundation

/// How the binomial forward process's βₜ are chosen (index i holds t = i + 1, as everywhere).
public enum BinomialSchedule: Equatable, Sendable {
    /// βₜ = (T − t + 1)⁻¹   (SD15 Table App.1), the default.
    ///
    /// Then 1 − βₜ = (T − t)/(T − t + 1), the product telescopes to ᾱₜ = (T − t)/T, and β_T = 1
    /// makes ᾱ_T = 0: x_T ~ B(½) exactly whatever x₀ was, so the prior term L_T is exactly 0.
    /// Each step erases the same fraction 1/T of the original signal (SD15 §2.4.1).
    case reciprocal
    /// β₁…β_T given by the user; T is the array's length. Every β must lie in (0, 1].
    case custom([Double])

    /// β₁…β_T, validated (T ≥ 1, every β a finite number in (0, 1]).
    ///
    /// - Parameter stepCount: T; ignored by `.custom`.
    /// - Throws: `DiffusionError` naming the bad value.
    public func betas(stepCount: Int) throws -> [Double] {
        switch self {
        case .reciprocal:
            guard stepCount >= 1 else { throw DiffusionError.invalidStepCount(stepCount) }
            return (1...stepCount).map { t in 1 / Double(stepCount - t + 1) }
        case .custom(let values):
            return try BetaSchedule.custom(values).betas(stepCount: values.count)
        }
    }
}
