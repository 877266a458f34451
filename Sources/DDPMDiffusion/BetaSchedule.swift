// Variance schedules β₁…β_T: DDPM's linear schedule, IDDPM's cosine schedule (IDDPM eq. 17), SD15's
// reciprocal schedule of binomial diffusion, or any user-given array.
import Foundation

/// How the forward-process variances β₁…β_T are chosen.
public enum BetaSchedule: Equatable, Sendable {
    /// βₜ evenly spaced from `start` (t = 1) to `end` (t = T), exactly as given for every T.
    ///
    /// DDPM §4 uses T = 1000 with β from 1e-4 to 0.02 — the default. (IDDPM's code rescales the
    /// endpoints by 1000/T for other T; this schedule does not, so the numbers are the ones you pass.)
    case linear(start: Double = 1e-4, end: Double = 0.02)
    /// IDDPM eq. 17: ᾱₜ = f(t)/f(0), f(t) = cos²(((t/T + s)/(1 + s))·π/2), βₜ = 1 − ᾱₜ/ᾱₜ₋₁ clipped to
    /// ≤ 0.999 so that the last steps stay finite. IDDPM uses s = 0.008 so that √β₁ is a little
    /// smaller than the 8-bit bin width.
    case cosine(s: Double = 0.008)
    /// βₜ = (T − t + 1)⁻¹   (SD15 Table App.1), binomial diffusion's default.
    ///
    /// Then 1 − βₜ = (T − t)/(T − t + 1), the product telescopes to ᾱₜ = (T − t)/T, and β_T = 1
    /// makes ᾱ_T = 0: x_T ~ B(½) exactly whatever x₀ was, so the prior term L_T is exactly 0.
    /// Each step erases the same fraction 1/T of the original signal (SD15 §2.4.1).
    case reciprocal
    /// β₁…β_T given by the user (index i holds β for t = i + 1); T is the array's length.
    case custom([Double])

    /// The DDPM default: linear from 1e-4 to 0.02.
    public static let ddpm = BetaSchedule.linear()

    /// The largest β the cosine schedule allows (IDDPM §3.2).
    public static let cosineMaximumBeta = 0.999

    /// β₁…β_T (index i holds t = i + 1), validated: T ≥ 1 and every β a finite number in (0, 1].
    ///
    /// - Parameter stepCount: T; ignored by `.custom`, whose length is T.
    /// - Throws: `DiffusionError` naming the bad value and what to pass instead.
    public func betas(stepCount: Int) throws -> [Double] {
        let betas: [Double]
        switch self {
        case .linear(let start, let end):
            guard stepCount >= 1 else { throw DiffusionError.invalidStepCount(stepCount) }
            guard start.isFinite, end.isFinite, start > 0, start <= 1, end > 0, end <= 1 else {
                throw DiffusionError.invalidLinearRange(start: start, end: end)
            }
            // numpy.linspace: start + i·(end − start)/(T − 1), with the last entry exactly `end`.
            if stepCount == 1 {
                betas = [start]
            } else {
                let step = (end - start) / Double(stepCount - 1)
                betas = (0..<stepCount).map { $0 == stepCount - 1 ? end : start + Double($0) * step }
            }
        case .cosine(let s):
            guard stepCount >= 1 else { throw DiffusionError.invalidStepCount(stepCount) }
            guard s.isFinite, s >= 0 else { throw DiffusionError.invalidCosineOffset(s) }
            let total = Double(stepCount)
            func f(_ t: Double) -> Double {
                let c = Foundation.cos((t / total + s) / (1 + s) * Double.pi / 2)
                return c * c
            }
            betas = (1...stepCount).map { t in
                Swift.min(1 - f(Double(t)) / f(Double(t - 1)), BetaSchedule.cosineMaximumBeta)
            }
        case .reciprocal:
            guard stepCount >= 1 else { throw DiffusionError.invalidStepCount(stepCount) }
            betas = (1...stepCount).map { t in 1 / Double(stepCount - t + 1) }
        case .custom(let values):
            guard !values.isEmpty else { throw DiffusionError.invalidStepCount(0) }
            betas = values
        }
        for (index, beta) in betas.enumerated() where !(beta.isFinite && beta > 0 && beta <= 1) {
            throw DiffusionError.betaOutOfRange(index: index, value: beta)
        }
        return betas
    }
}

/// The schedules of binomial diffusion: the same type, usually `.reciprocal` (SD15).
public typealias BinomialSchedule = BetaSchedule
