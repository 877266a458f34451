// The analyses' building blocks on the exact Gaussian case (see GaussianDataTests): the reverse
// chain from any t, conditioning on known dimensions, interpolation, rate and distortion.
import DDPMDiffusion
import Foundation
import Testing
import DDPMTensors

@Suite struct AnalysisTests {
    static let (m, s) = (0.3, 0.5)
    static let schedule = try! DiffusionSchedule(.linear(start: 1e-3, end: 0.2), stepCount: 20)
    static var model: DiffusionModel { optimalNoisePredictor(mean: m, std: s, schedule: schedule) }

    static func data(_ count: Int, _ dims: Int, seed: UInt64) -> Tensor {
        var g = PhiloxGenerator(seed: seed)
        return Tensor.randomNormal(shape: [count, dims], dtype: .float64, generator: &g) * s + m
    }

    @Test func reverseChainFromTEqualsAncestralSampling() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule)
        var g = PhiloxGenerator(seed: 3)
        let xT = Tensor.randomNormal(shape: [16, 3], dtype: .float64, generator: &g)
        var g1 = g, g2 = g
        let a = try d.sampleAncestral(model: Self.model, shape: [16, 3], initialNoise: xT, generator: &g1)
        let b = try d.reverseChain(model: Self.model, from: xT, index: 19, generator: &g2)
        #expect(a.doubles == b.doubles, "the chain from t = T is Algorithm 2")
    }

    @Test func knownDimensionsEndExactlyAsObserved() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule)
        let observation = Self.data(8, 4, seed: 11)
        let mask = Tensor([1, 0, 1, 0], shape: [1, 4], dtype: .float64)
        var g = PhiloxGenerator(seed: 12)
        let start = Tensor.randomNormal(shape: [8, 4], dtype: .float64, generator: &g)
        let x = try d.reverseChain(
            model: Self.model, from: start, index: 19,
            known: KnownDimensions(observation: observation, mask: mask), generator: &g
        ).doubles
        let o = observation.doubles
        var unknownDiffers = false
        for i in 0..<8 {
            for j in 0..<4 {
                if j % 2 == 0 {
                    #expect(x[i * 4 + j] == o[i * 4 + j], "known dimension \(i),\(j): \(x[i * 4 + j]) ≠ \(o[i * 4 + j])")
                } else if abs(x[i * 4 + j] - o[i * 4 + j]) > 1e-3 {
                    unknownDiffers = true
                }
            }
        }
        #expect(unknownDiffers, "unknown dimensions are generated, not copied")
    }

    @Test func interpolationEndsReturnTheInputsFromSmallT() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule, varianceKind: .fixedSmall)
        let a = Tensor([1.0, -0.5, 0.2], shape: [1, 3], dtype: .float64)
        let b = Tensor([-0.8, 0.6, 0.9], shape: [1, 3], dtype: .float64)
        var g = PhiloxGenerator(seed: 4)
        let rows = try d.interpolate(model: Self.model, first: a, second: b, index: 0, lambdas: [0, 0.5, 1], generator: &g).doubles
        // From t = 1, x̂₀ = E[x₀|x₁] shrinks toward m by a factor ≈ 1 − √(1−ᾱ₁)-order terms.
        let a1 = Self.schedule.alphaBar[0]
        let tolerance = 6 * (1 - a1).squareRoot() + 2 * (1 - a1) / (a1 * Self.s * Self.s)
        for k in 0..<3 {
            #expect(abs(rows[k] - a.doubles[k]) < tolerance, "λ = 0, dimension \(k): \(rows[k]) vs \(a.doubles[k])")
            #expect(abs(rows[6 + k] - b.doubles[k]) < tolerance, "λ = 1, dimension \(k): \(rows[6 + k]) vs \(b.doubles[k])")
            let middle = (a.doubles[k] + b.doubles[k]) / 2
            #expect(abs(rows[3 + k] - middle) < 0.2, "λ = ½ mixes, dimension \(k)")
        }
    }

    @Test func interpolationSharesTheReverseNoise() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule)
        let a = Tensor([0.4, -0.1], shape: [1, 2], dtype: .float64)
        var g = PhiloxGenerator(seed: 9)
        let rows = try d.interpolate(model: Self.model, first: a, second: a, index: 10, lambdas: [0, 0.3, 1], generator: &g).doubles
        #expect(
            Array(rows[0..<2]) == Array(rows[2..<4]) && Array(rows[2..<4]) == Array(rows[4..<6]),
            "equal inputs decode to one image when the noise is shared: \(rows)")
    }

    @Test func rateFallsWithTAndDistortionMatchesThePosteriorVariance() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule, varianceKind: .fixedSmall)
        let n = 2048
        let start = Self.data(n, 1, seed: 21)
        var g = PhiloxGenerator(seed: 22)
        let result = try d.rateDistortion(model: Self.model, start: start, clipStart: false, generator: &g)
        let T = 20
        let rate = result.rate.doubles, terms = result.bound.terms.doubles, total = result.bound.total.doubles
        let distortion = result.distortion.doubles
        for b in 0..<n {
            for i in 0..<(T - 1) {
                #expect(
                    abs(rate[b * T + i] - (rate[b * T + i + 1] + terms[b * T + i + 1])) <= 1e-12,
                    "example \(b), t=\(i + 1): holding xₜ costs what holding xₜ₊₁ did plus L_t")
                #expect(terms[b * T + i + 1] >= 0, "example \(b): KL terms are not negative")
            }
            #expect(abs(rate[b * T] + terms[b * T] - total[b]) < 1e-12, "example \(b): rate(1) + L₀ = the whole bound")
            #expect(abs(rate[b * T + T - 1] - result.bound.prior.doubles[b]) < 1e-15, "example \(b): rate(T) = L_T")
        }
        // E[(x₀ − x̂₀)²] = Var(x₀|xₜ) = s²(1−ᾱₜ)/(ᾱₜs² + 1 − ᾱₜ); distortion² = 127.5² (x₀ − x̂₀)² for D = 1.
        for t in [1, 5, 10, 20] {
            let a = Self.schedule.alphaBar[t - 1]
            let expected = Self.s * Self.s * (1 - a) / (a * Self.s * Self.s + 1 - a)
            let squared = (0..<n).map { pow(distortion[$0 * T + t - 1] / 127.5, 2) }
            let (mean, variance) = moments(squared)
            #expect(
                abs(mean - expected) <= 5 * (variance / Double(n)).squareRoot(),
                "t=\(t): mean squared distortion \(mean), posterior variance \(expected)")
        }
        // E[L_T] = ½(−log(1−ᾱ_T) − 1 + (1−ᾱ_T) + ᾱ_T(m² + s²)) nats/dim.
        let aT = Self.schedule.alphaBar[T - 1]
        let expectedPrior = 0.5 * (-log(1 - aT) - 1 + (1 - aT) + aT * (Self.m * Self.m + Self.s * Self.s)) / log(2.0)
        let (priorMean, priorVariance) = moments(result.bound.prior.doubles)
        #expect(abs(priorMean - expectedPrior) <= 5 * (priorVariance / Double(n)).squareRoot(), "L_T \(priorMean) vs \(expectedPrior)")
    }
}
