// Respacing: keep a subset of the timesteps and recompute β so one model serves fewer steps
// (IDDPM §4 "improving sampling speed"; DDIM §4.2).

/// Which timesteps a respaced schedule keeps. Indices are 0-based (t = index + 1).
public enum TimestepSpacing: Equatable, Sendable {
    /// `count` timesteps evenly spaced over 0…T−1, both ends included (rounded half to even, like Python's round in
    /// IDDPM's `space_timesteps` with one section). A single step keeps T − 1, so that
    /// sampling still starts from the noisiest step.
    case even(count: Int)
    /// DDIM's "uniform" spacing: 0, c, 2c, … (count of them) with stride c = ⌊T/count⌋, as in DDIM
    /// and IDDPM's `ddimN`. For T = 1000 and 50 steps: 0, 20, …, 980.
    case ddim(count: Int)
    /// Exactly these indices (strictly increasing, within 0..<T).
    case explicit([Int])

    /// The kept 0-based indices for a schedule of `stepCount` steps, strictly increasing.
    ///
    /// - Throws: `DiffusionError.respacingTooManySteps` when more steps are asked for than exist,
    ///   `.respacingEmpty` for none, `.respacingNotIncreasing` for a bad explicit list.
    public func timesteps(stepCount: Int) throws -> [Int] {
        guard stepCount >= 1 else { throw DiffusionError.invalidStepCount(stepCount) }
        switch self {
        case .even(let count):
            try Self.check(count: count, stepCount: stepCount)
            if count == 1 { return [stepCount - 1] }
            let stride = Double(stepCount - 1) / Double(count - 1)
            return (0..<count).map { Int((Double($0) * stride).rounded(.toNearestOrEven)) }
        case .ddim(let count):
            try Self.check(count: count, stepCount: stepCount)
            let stride = stepCount / count
            return (0..<count).map { $0 * stride }
        case .explicit(let steps):
            guard !steps.isEmpty else { throw DiffusionError.respacingEmpty }
            guard steps.count <= stepCount else {
                throw DiffusionError.respacingTooManySteps(requested: steps.count, available: stepCount)
            }
            let increasing = zip(steps, steps.dropFirst()).allSatisfy { $0 < $1 }
            guard increasing, steps.first! >= 0, steps.last! < stepCount else {
                throw DiffusionError.respacingNotIncreasing(steps)
            }
            return steps
        }
    }

    private static func check(count: Int, stepCount: Int) throws {
        guard count >= 1 else { throw DiffusionError.respacingEmpty }
        guard count <= stepCount else {
            throw DiffusionError.respacingTooManySteps(requested: count, available: stepCount)
        }
    }
}

extension DiffusionSchedule {
    /// The schedule restricted to the timesteps `spacing` keeps, with βᵢ' = 1 − ᾱ_{τᵢ}/ᾱ_{τᵢ₋₁}
    /// (ᾱ before the first kept step is 1) so that ᾱ at every kept step is unchanged (IDDPM §4).
    ///
    /// `originalTimesteps` of the result maps its indices to this schedule's original indices
    /// (composing if this schedule was itself respaced).
    public func respaced(_ spacing: TimestepSpacing) throws -> DiffusionSchedule {
        let kept = try spacing.timesteps(stepCount: stepCount)
        var previous = 1.0
        var betas: [Double] = []
        for i in kept {
            betas.append(1 - alphaBar[i] / previous)
            previous = alphaBar[i]
        }
        for (index, beta) in betas.enumerated() where !(beta.isFinite && beta > 0 && beta <= 1) {
            throw DiffusionError.betaOutOfRange(index: index, value: beta)
        }
        return try DiffusionSchedule(validatedBetas: betas, originalTimesteps: kept.map { originalTimesteps[$0] })
    }
}
