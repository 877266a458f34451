// Schedules and coefficient tables against the Float64 numpy reference; the index convention at
// t = 1 and t = T; respacing; invalid input.
import DDPMTestSupport
import DDPMDiffusion
import Foundation
import Testing

@Suite struct ScheduleTests {
    static let fixture = ReferenceFixture.shared

    static func tables(_ name: String, steps: Int) throws -> DiffusionSchedule {
        switch name {
        case "linear": try DiffusionSchedule(.linear(), stepCount: steps)
        case "cosine": try DiffusionSchedule(.cosine(), stepCount: steps)
        default: throw DiffusionError.invalidStepCount(-1)
        }
    }

    @Test(arguments: ReferenceFixture.shared.schedules.map { "\($0.schedule) T=\($0.steps)" })
    func tablesMatchNumpyReference(_ label: String) throws {
        let entry = Self.fixture.schedules.first { "\($0.schedule) T=\($0.steps)" == label }!
        let schedule = try Self.tables(entry.schedule, steps: entry.steps)
        var seen = Set<String>()
        for (name, table) in schedule.namedTables {
            let expected = try #require(entry.tables[name], "\(label): fixture has no table \(name)")
            let actual = entry.t.map { table[$0 - 1] }  // fixture t is 1-based
            expectClose(
                actual, expected, relative: Self.fixture.tolerance, absolute: 1e-12 * Self.fixture.tolerance,
                "\(label) \(name) at t=\(entry.t)")
            seen.insert(name)
        }
        #expect(seen == Set(entry.tables.keys), "\(label): tables not compared: \(Set(entry.tables.keys).subtracting(seen))")
    }

    @Test(arguments: ["linear", "cosine"])
    func indexConventionAtTheEdges(_ name: String) throws {
        let s = try Self.tables(name, steps: 1000)
        // t = 1 is index 0: nothing has been diffused before it.
        #expect(s.alphaBarPrevious[0] == 1, "\(name): ᾱ₀ must be 1")
        #expect(s.alphaBar[0] == 1 - s.betas[0], "\(name): ᾱ₁ = 1 − β₁")
        #expect(s.posteriorVariance[0] == 0, "\(name): β̃₁ = 0")
        #expect(s.posteriorLogVarianceClipped[0] == log(s.posteriorVariance[1]), "\(name): clipped log β̃ at t = 1 is log β̃₂")
        #expect(abs(s.posteriorMeanCoefficientStart[0] - 1) < 1e-12, "\(name): μ̃₁ = x₀")
        #expect(s.posteriorMeanCoefficientCurrent[0] == 0, "\(name): μ̃₁ ignores x₁")
        // t = T is index T − 1.
        let product = s.betas.reduce(1.0) { $0 * (1 - $1) }
        #expect(relativeError(s.alphaBar[999], product) < 1e-12, "\(name): ᾱ_T = ∏(1 − βₜ)")
        #expect(s.alphaBarPrevious[999] == s.alphaBar[998], "\(name): ᾱ_{T−1} at index T − 1")
        #expect(s.stepCount == 1000)
        if name == "linear" {
            #expect(s.betas[0] == 1e-4 && s.betas[999] == 0.02, "linear: β₁ = 1e-4 and β_T = 0.02 at indices 0 and T − 1")
        } else {
            #expect(s.betas[999] == BetaSchedule.cosineMaximumBeta, "cosine: β_T is clipped to 0.999")
        }
    }

    @Test func singleStepScheduleHasFiniteTables() throws {
        let s = try DiffusionSchedule(betas: [0.3])
        #expect(s.posteriorLogVarianceClipped == [log(0.3)], "T = 1: no β̃₂, clipped log variance falls back to log β₁")
        for (name, table) in s.namedTables { #expect(table.allSatisfy { $0.isFinite }, "T = 1: \(name) = \(table)") }
    }

    @Test(arguments: ReferenceFixture.shared.respacing.map { "\($0.spacing)\($0.count)" })
    func respacingMatchesReference(_ label: String) throws {
        let entry = Self.fixture.respacing.first { "\($0.spacing)\($0.count)" == label }!
        let spacing: TimestepSpacing = entry.spacing == "ddim" ? .ddim(count: entry.count) : .even(count: entry.count)
        let base = try DiffusionSchedule(.linear(), stepCount: entry.steps)
        let respaced = try base.respaced(spacing)
        #expect(respaced.originalTimesteps == entry.kept, "\(label): kept timesteps")
        if let betas = entry.betas {
            expectClose(
                respaced.betas, betas, relative: Self.fixture.tolerance, absolute: 1e-12 * Self.fixture.tolerance, "\(label) respaced β")
        }
        // ᾱ at every kept step is unchanged.
        expectClose(
            respaced.alphaBar, entry.kept.map { base.alphaBar[$0] }, relative: 1e-12, absolute: 1e-12 * 1e-12, "\(label) respaced ᾱ")
    }

    @Test func respacingTwiceComposesTheTimestepMap() throws {
        let base = try DiffusionSchedule(.linear(), stepCount: 1000)
        let twice = try base.respaced(.ddim(count: 100)).respaced(.explicit([0, 50, 99]))
        #expect(twice.originalTimesteps == [0, 500, 990])
        expectClose(twice.alphaBar, [0, 500, 990].map { base.alphaBar[$0] }, relative: 1e-12, absolute: 1e-12 * 1e-12, "respaced twice ᾱ")
    }

    // MARK: Invalid input

    static let invalidBetas: [(String, [Double])] = [
        ("zero", [0.1, 0, 0.2]), ("negative", [-0.1]), ("above one", [0.5, 1.5]), ("NaN", [0.1, .nan]), ("infinite", [.infinity]),
    ]

    @Test(arguments: invalidBetas.indices)
    func betaOutsideUnitIntervalThrows(_ caseIndex: Int) {
        let (label, betas) = Self.invalidBetas[caseIndex]
        let bad = betas.firstIndex { !($0 > 0 && $0 <= 1) }!
        let error = #expect(throws: DiffusionError.self, "case \(label)") { try DiffusionSchedule(betas: betas) }
        guard case .betaOutOfRange(let index, let value) = error else {
            Issue.record("case \(label): expected betaOutOfRange, got \(String(describing: error))")
            return
        }
        #expect(index == bad, "case \(label): reported index")
        #expect(value == betas[bad] || (value.isNaN && betas[bad].isNaN), "case \(label): reported value \(value)")
    }

    @Test func betaOfOneIsAllowed() throws {
        let s = try DiffusionSchedule(betas: [0.5, 1.0])
        #expect(s.alphaBar[1] == 0)
    }

    @Test(arguments: [0, -3])
    func stepCountBelowOneThrows(_ steps: Int) {
        for schedule in [BetaSchedule.linear(), .cosine()] {
            #expect(throws: DiffusionError.invalidStepCount(steps), "\(schedule) T=\(steps)") {
                try DiffusionSchedule(schedule, stepCount: steps)
            }
        }
        #expect(throws: DiffusionError.invalidStepCount(0)) { try DiffusionSchedule(betas: []) }
    }

    @Test func badLinearEndpointsAndCosineOffsetThrow() {
        #expect(throws: DiffusionError.invalidLinearRange(start: 0, end: 0.02)) { try DiffusionSchedule(.linear(start: 0), stepCount: 10) }
        #expect(throws: DiffusionError.invalidLinearRange(start: 1e-4, end: 2)) { try DiffusionSchedule(.linear(end: 2), stepCount: 10) }
        #expect(throws: DiffusionError.invalidCosineOffset(-0.1)) { try DiffusionSchedule(.cosine(s: -0.1), stepCount: 10) }
    }

    @Test(arguments: [TimestepSpacing.even(count: 11), .ddim(count: 11), .explicit(Array(0..<11))])
    func respacingToMoreStepsThanTThrows(_ spacing: TimestepSpacing) throws {
        let s = try DiffusionSchedule(.linear(), stepCount: 10)
        #expect(throws: DiffusionError.respacingTooManySteps(requested: 11, available: 10), "\(spacing)") { try s.respaced(spacing) }
    }

    @Test func badExplicitRespacingThrows() throws {
        let s = try DiffusionSchedule(.linear(), stepCount: 10)
        #expect(throws: DiffusionError.respacingEmpty) { try s.respaced(.explicit([])) }
        #expect(throws: DiffusionError.respacingEmpty) { try s.respaced(.even(count: 0)) }
        for bad in [[3, 2], [1, 1], [-1, 4], [2, 10]] {
            #expect(throws: DiffusionError.respacingNotIncreasing(bad), "\(bad)") { try s.respaced(.explicit(bad)) }
        }
    }

    @Test(arguments: [-1, 10, 1000])
    func timestepOutOfRangeThrows(_ t: Int) throws {
        let s = try DiffusionSchedule(.linear(), stepCount: 10)
        #expect(throws: DiffusionError.timestepOutOfRange(timestep: t, stepCount: 10), "timestep \(t)") {
            try s.validate(timesteps: [0, t])
        }
    }

    @Test func errorMessagesSayWhatToFix() {
        let messages: [(DiffusionError, String)] = [
            (.betaOutOfRange(index: 4, value: 1.5), "t = 5"),
            (.invalidStepCount(0), "at least 1"),
            (.respacingTooManySteps(requested: 60, available: 50), "at most 50"),
            (.timestepOutOfRange(timestep: 1000, stepCount: 1000), "0 to 999"),
        ]
        for (error, phrase) in messages {
            #expect(error.description.contains(phrase), "\(error): message \"\(error.description)\" should contain \"\(phrase)\"")
        }
    }
}
