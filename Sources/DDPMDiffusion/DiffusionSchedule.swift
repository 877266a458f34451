// The Float64 coefficient tables of a variance schedule (DDPM §2, eq. 4 and 6–7), validated once.
import Foundation

/// Every per-timestep coefficient of the forward process and its posterior, in Float64.
///
/// ## Index convention (the one place it is written down)
/// Every table and every `timesteps` argument in this module is indexed **0..<T, where index i
/// means the paper's t = i + 1**. So `betas[0]` is β₁ and `betas[T - 1]` is β_T; a model called
/// with timestep index 0 is denoising x₁. This is the convention of the official DDPM and IDDPM code
/// and of diffusers (integer timesteps 0…999 for T = 1000). Only the CLI's output uses 1-based t.
///
/// ## Tables (glossary names; each is `[Double]` of length T)
/// - `betas` βₜ, `alphas` αₜ = 1 − βₜ
/// - `alphaBar` ᾱₜ = ∏_{s≤t} αₛ; `alphaBarPrevious` ᾱₜ₋₁ with ᾱ₀ = 1
/// - `sqrtAlphaBar` √ᾱₜ, `sqrtOneMinusAlphaBar` √(1−ᾱₜ), `logOneMinusAlphaBar` log(1−ᾱₜ)   (eq. 4)
/// - `reciprocalSqrtAlphaBar` 1/√ᾱₜ, `sqrtReciprocalAlphaBarMinusOne` √(1/ᾱₜ − 1)
///   (x̂₀ = xₜ/√ᾱₜ − √(1/ᾱₜ − 1) ε, eq. 15; infinite where ᾱₜ = 0, which only β = 1 can cause)
/// - `posteriorVariance` β̃ₜ = (1−ᾱₜ₋₁)/(1−ᾱₜ) βₜ   (eq. 7; β̃₁ = 0)
/// - `posteriorLogVarianceClipped` log β̃ₜ with the t = 1 entry replaced by log β̃₂ (β̃₁ = 0 has no
///   log); when T = 1 there is no β̃₂ and the entry is log β₁.
/// - `posteriorMeanCoefficientStart` √ᾱₜ₋₁ βₜ/(1−ᾱₜ) and `posteriorMeanCoefficientCurrent`
///   √αₜ (1−ᾱₜ₋₁)/(1−ᾱₜ): μ̃ₜ = coefficientStart · x₀ + coefficientCurrent · xₜ   (eq. 7)
///
/// A respaced schedule (see `respaced(_:)`) keeps a subset of the original timesteps; its tables
/// are indexed 0..<count of the kept steps and `originalTimesteps[i]` is the index into the
/// original schedule that the model must be called with.
public struct DiffusionSchedule: Equatable, Sendable {
    /// βₜ, the forward-process variances (eq. 2), each a finite number in (0, 1].
    public let betas: [Double]
    /// αₜ = 1 − βₜ.
    public let alphas: [Double]
    /// ᾱₜ = ∏_{s≤t} αₛ, the signal fraction of q(xₜ|x₀) (eq. 4).
    public let alphaBar: [Double]
    /// ᾱₜ₋₁, with ᾱ₀ = 1 at index 0.
    public let alphaBarPrevious: [Double]
    /// √ᾱₜ, the mean coefficient of q(xₜ|x₀) (eq. 4).
    public let sqrtAlphaBar: [Double]
    /// √(1 − ᾱₜ), the standard deviation of q(xₜ|x₀) (eq. 4).
    public let sqrtOneMinusAlphaBar: [Double]
    /// log(1 − ᾱₜ), the log variance of q(xₜ|x₀) (eq. 4).
    public let logOneMinusAlphaBar: [Double]
    /// 1/√ᾱₜ, the coefficient of xₜ in x̂₀ = xₜ/√ᾱₜ − √(1/ᾱₜ − 1) ε (eq. 15).
    public let reciprocalSqrtAlphaBar: [Double]
    /// √(1/ᾱₜ − 1), the coefficient of ε in x̂₀ = xₜ/√ᾱₜ − √(1/ᾱₜ − 1) ε (eq. 15).
    public let sqrtReciprocalAlphaBarMinusOne: [Double]
    /// β̃ₜ = (1 − ᾱₜ₋₁)/(1 − ᾱₜ) · βₜ, the posterior variance (eq. 7); β̃₁ = 0.
    public let posteriorVariance: [Double]
    /// log β̃ₜ with the t = 1 entry replaced by log β̃₂ (log β₁ when T = 1), so every entry is
    /// finite; the fixed-small log variance σₜ² = β̃ₜ.
    public let posteriorLogVarianceClipped: [Double]
    /// √ᾱₜ₋₁ βₜ/(1 − ᾱₜ), the coefficient of x₀ in μ̃ₜ (eq. 7); 1 at t = 1.
    public let posteriorMeanCoefficientStart: [Double]
    /// √αₜ (1 − ᾱₜ₋₁)/(1 − ᾱₜ), the coefficient of xₜ in μ̃ₜ (eq. 7); 0 at t = 1.
    public let posteriorMeanCoefficientCurrent: [Double]
    /// For each index of this schedule, the index in the schedule it was respaced from (the
    /// timestep the model sees). The identity for a schedule that was not respaced.
    public let originalTimesteps: [Int]

    /// T, the number of diffusion steps.
    public var stepCount: Int { betas.count }

    /// The tables of `schedule` with T = `stepCount` (ignored for `.custom`).
    ///
    /// - Throws: `DiffusionError` if T < 1 or any β is outside (0, 1].
    public init(_ schedule: BetaSchedule = .ddpm, stepCount: Int = 1000) throws {
        try self.init(betas: schedule.betas(stepCount: stepCount))
    }

    /// The tables of the given β₁…β_T (index i holds t = i + 1).
    ///
    /// - Throws: `DiffusionError` if the array is empty or any β is outside (0, 1].
    public init(betas: [Double]) throws {
        let betas = try BetaSchedule.custom(betas).betas(stepCount: betas.count)
        try self.init(validatedBetas: betas, originalTimesteps: Array(betas.indices))
    }

    init(validatedBetas betas: [Double], originalTimesteps: [Int]) throws {
        let count = betas.count
        guard count >= 1 else { throw DiffusionError.invalidStepCount(count) }
        let alphas = betas.map { 1 - $0 }
        var product = 1.0
        let alphaBar = alphas.map {
            product *= $0; return product
        }
        let alphaBarPrevious = [1] + alphaBar.dropLast()
        // eq. 7. 1 − ᾱₜ ≥ β₁ > 0 for every t, so no division by zero.
        let variance = (0..<count).map { i in (1 - alphaBarPrevious[i]) / (1 - alphaBar[i]) * betas[i] }
        self.betas = betas
        self.originalTimesteps = originalTimesteps
        self.alphas = alphas
        self.alphaBar = alphaBar
        self.alphaBarPrevious = alphaBarPrevious
        sqrtAlphaBar = alphaBar.map { $0.squareRoot() }
        sqrtOneMinusAlphaBar = alphaBar.map { (1 - $0).squareRoot() }
        logOneMinusAlphaBar = alphaBar.map { Foundation.log(1 - $0) }
        reciprocalSqrtAlphaBar = alphaBar.map { 1 / $0.squareRoot() }
        sqrtReciprocalAlphaBarMinusOne = alphaBar.map { (1 / $0 - 1).squareRoot() }
        posteriorVariance = variance
        posteriorLogVarianceClipped = (0..<count).map { i in
            if i > 0 { return Foundation.log(variance[i]) }
            return count > 1 ? Foundation.log(variance[1]) : Foundation.log(betas[0])
        }
        posteriorMeanCoefficientStart = (0..<count).map { i in
            alphaBarPrevious[i].squareRoot() * betas[i] / (1 - alphaBar[i])
        }
        posteriorMeanCoefficientCurrent = (0..<count).map { i in
            alphas[i].squareRoot() * (1 - alphaBarPrevious[i]) / (1 - alphaBar[i])
        }
    }

    /// Throws unless every index lies in 0..<T and there is one per example.
    ///
    /// - Parameters:
    ///   - timesteps: 0-based indices (t = index + 1).
    ///   - batchSize: the number of examples, or nil to check only the range.
    /// - Throws: ``DiffusionError/timestepCountMismatch(timesteps:batch:)`` or
    ///   ``DiffusionError/timestepOutOfRange(timestep:stepCount:)``.
    public func validate(timesteps: [Int], batchSize: Int? = nil) throws {
        if let batchSize, timesteps.count != batchSize {
            throw DiffusionError.timestepCountMismatch(timesteps: timesteps.count, batch: batchSize)
        }
        for t in timesteps where !(0..<stepCount).contains(t) {
            throw DiffusionError.timestepOutOfRange(timestep: t, stepCount: stepCount)
        }
    }

    /// The named tables in a fixed order, for printing and for comparing against references.
    public var namedTables: KeyValuePairs<String, [Double]> {
        [
            "beta": betas,
            "alpha": alphas,
            "alphaBar": alphaBar,
            "alphaBarPrevious": alphaBarPrevious,
            "sqrtAlphaBar": sqrtAlphaBar,
            "sqrtOneMinusAlphaBar": sqrtOneMinusAlphaBar,
            "reciprocalSqrtAlphaBar": reciprocalSqrtAlphaBar,
            "sqrtReciprocalAlphaBarMinusOne": sqrtReciprocalAlphaBarMinusOne,
            "posteriorVariance": posteriorVariance,
            "posteriorLogVarianceClipped": posteriorLogVarianceClipped,
            "posteriorMeanCoefficientStart": posteriorMeanCoefficientStart,
            "posteriorMeanCoefficientCurrent": posteriorMeanCoefficientCurrent,
        ]
    }
}
