// The exact end-to-end case: data x₀ ~ N(m, s²I) and its optimal ε-predictor in closed form.
//
// With ε*(xₜ, t) = E[ε|xₜ] = (xₜ − √ᾱₜ m)√(1−ᾱₜ)/(ᾱₜs² + 1 − ᾱₜ), the predicted start is Tweedie's
// x̂₀ = (xₜ − √(1−ᾱₜ) ε*)/√ᾱₜ = E[x₀|xₜ] = m + √ᾱₜ s²(xₜ − √ᾱₜ m)/(ᾱₜs² + 1 − ᾱₜ), and
// Var(x₀|xₜ) = s²(1−ᾱₜ)/(ᾱₜs² + 1 − ᾱₜ).
//
// Analytic L_{t−1} (t ≥ 2), per dimension, in nats. Write c₀ = √ᾱₜ₋₁βₜ/(1−ᾱₜ) (eq. 7). Both
//   q(xₜ₋₁|xₜ,x₀) = N(c₀x₀ + c₁xₜ, β̃ₜ)  and  p_θ(xₜ₋₁|xₜ) = N(c₀x̂₀ + c₁xₜ, σₜ²)
// are Gaussian (μ_θ = μ̃ₜ(xₜ, x̂₀), eq. 11 ≡ eq. 15), so their means differ by c₀(x₀ − x̂₀) and
//   KL = ½(−1 + log σₜ² − log β̃ₜ + β̃ₜ/σₜ² + c₀²(x₀ − x̂₀)²/σₜ²).
// Averaging over (x₀, xₜ): E[(x₀ − x̂₀)²] = E[Var(x₀|xₜ)] = s²(1−ᾱₜ)/(ᾱₜs² + 1 − ᾱₜ), so
//   E[L_{t−1}] = ½(−1 + log σₜ² − log β̃ₜ + β̃ₜ/σₜ² + c₀² s²(1−ᾱₜ)/((ᾱₜs² + 1 − ᾱₜ) σₜ²)).
// The Monte Carlo estimate averages the library's closed-form KL over sampled (x₀, ε); its
// standard error comes from the same samples.
import DDPMDiffusion
import Foundation
import Testing
import DDPMTensors

@Suite struct GaussianDataTests {
    static let m = 0.3
    static let s = 0.5
    static let schedule = try! DiffusionSchedule(.linear(), stepCount: 1000)

    static func analyticBoundTerm(index i: Int, logVariance: Double, schedule: DiffusionSchedule) -> Double {
        let a = schedule.alphaBar[i]
        let c0 = schedule.posteriorMeanCoefficientStart[i]
        let posteriorVariance = schedule.posteriorVariance[i]
        let sigma2 = exp(logVariance)
        let residual = s * s * (1 - a) / (a * s * s + 1 - a)
        return 0.5 * (-1 + logVariance - log(posteriorVariance) + posteriorVariance / sigma2 + c0 * c0 * residual / sigma2)
    }

    static func gaussianData(count: Int, dimensions: Int, generator: inout PhiloxGenerator) -> Tensor {
        Tensor.randomNormal(shape: [count, dimensions], dtype: .float64, generator: &generator) * s + m
    }

    @Test(arguments: [VarianceKind.fixedSmall, .fixedLarge], [2, 3, 500, 999, 1000])
    func monteCarloBoundTermMatchesAnalyticKL(variance: VarianceKind, t: Int) throws {
        let d = try GaussianDiffusion(schedule: Self.schedule, meanPrediction: .noise, varianceKind: variance)
        var g = PhiloxGenerator(seed: UInt64(t))
        let (n, dims) = (4096, 2)
        let start = Self.gaussianData(count: n, dimensions: dims, generator: &g)
        let timesteps = [Int](repeating: t - 1, count: n)
        let noise = Tensor.randomNormal(shape: [n, dims], dtype: .float64, generator: &g)
        let current = try d.sampleForward(start: start, timesteps: timesteps, noise: noise)
        let model = optimalNoisePredictor(mean: Self.m, std: Self.s, schedule: Self.schedule)
        let reverse = try d.reverseStep(model: model, current: current, timesteps: timesteps)
        let nats = try d.boundTerm(start: start, current: current, timesteps: timesteps, reverse: reverse).doubles.map { $0 * log(2.0) }
        let (mc, variance) = moments(nats)
        let standardError = (variance / Double(n)).squareRoot()
        let analytic = Self.analyticBoundTerm(index: t - 1, logVariance: reverse.logVariance.doubles[0], schedule: Self.schedule)
        #expect(
            abs(mc - analytic) <= 5 * standardError + 1e-12 * abs(analytic),
            "\(variance) t=\(t): Monte Carlo L_{t−1} = \(mc) ± \(standardError) nats/dim, analytic \(analytic)")
    }

    @Test func ancestralSamplingRecoversTheDataDistribution() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule, meanPrediction: .noise, varianceKind: .fixedLarge)
        var g = PhiloxGenerator(seed: 7)
        let n = 4096
        var steps = 0
        let samples = try d.sampleAncestral(
            model: optimalNoisePredictor(mean: Self.m, std: Self.s, schedule: Self.schedule),
            shape: [n, 1], dtype: .float64, generator: &g, onStep: { _ in steps += 1 }
        ).doubles
        let (mean, variance) = moments(samples)
        // Statistical tolerance: 4.5 standard errors of the sample mean (s/√n) and variance (s²√(2/(n−1))).
        let meanTolerance = 4.5 * Self.s / Double(n).squareRoot()
        let varianceTolerance = 4.5 * Self.s * Self.s * (2 / Double(n - 1)).squareRoot()
        #expect(steps == 1000)
        #expect(abs(mean - Self.m) <= meanTolerance, "ancestral (1000 steps): mean \(mean), expected \(Self.m) ± \(meanTolerance)")
        #expect(
            abs(variance - Self.s * Self.s) <= varianceTolerance,
            "ancestral (1000 steps): variance \(variance), expected \(Self.s * Self.s) ± \(varianceTolerance)")
    }

    /// DDIM with η = 0 and a linear predictor is an affine map x_T ↦ A x_T + B. Derived here from
    /// DDIM eq. 12 with ε* and x̂₀ = E[x₀|xₜ], step by step over the kept ᾱ's.
    static func ddimAffineMap(keptAlphaBar: [Double]) -> (a: Double, b: Double) {
        var (gain, offset) = (1.0, 0.0)
        for j in stride(from: keptAlphaBar.count - 1, through: 0, by: -1) {
            let a = keptAlphaBar[j], previous = j > 0 ? keptAlphaBar[j - 1] : 1
            let v = a * s * s + 1 - a
            // x̂₀ = m + k(x − √a m), ε* = e(x − √a m)
            let k = a.squareRoot() * s * s / v, e = (1 - a).squareRoot() / v
            let slope = previous.squareRoot() * k + (1 - previous).squareRoot() * e
            let shift = previous.squareRoot() * m - slope * a.squareRoot() * m
            (gain, offset) = (slope * gain, slope * offset + shift)
        }
        return (gain, offset)
    }

    @Test func ddimFiftyStepsRecoversTheDataDistribution() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule).respaced(.ddim(count: 50))
        var g = PhiloxGenerator(seed: 11)
        let n = 4096
        let xT = Tensor.randomNormal(shape: [n, 1], dtype: .float64, generator: &g)
        var seen: [Int] = []
        let samples = try d.sampleDDIM(
            model: optimalNoisePredictor(mean: Self.m, std: Self.s, schedule: Self.schedule),
            shape: [n, 1], dtype: .float64, initialNoise: xT, generator: &g, onStep: { seen.append($0.timestep) }
        ).doubles
        #expect(seen == Array(stride(from: 980, through: 0, by: -20)), "DDIM visits the kept original timesteps, noisiest first")
        // Exactness: every sample is the affine image of its x_T.
        let (gain, offset) = Self.ddimAffineMap(keptAlphaBar: d.schedule.alphaBar)
        for (i, (x0, x)) in zip(samples, xT.doubles).enumerated().prefix(256) {
            #expect(abs(x0 - (gain * x + offset)) < 1e-9, "DDIM sample \(i): \(x0) vs affine \(gain)·\(x) + \(offset)")
        }
        // Distribution: mean m within statistical tolerance. DDIM with 50 steps contracts the
        // variance by gain² (each step scales the spread by a factor ≤ 1 — Cauchy–Schwarz on the
        // two terms of eq. 12), here about 10% below s², so the variance is compared with
        // s² allowing that computed discretisation error on top of the statistical tolerance.
        let (mean, variance) = moments(samples)
        let meanTolerance = 4.5 * Self.s / Double(n).squareRoot()
        let varianceTolerance = 4.5 * Self.s * Self.s * (2 / Double(n - 1)).squareRoot()
        let discretisation = abs(gain * gain - Self.s * Self.s)
        #expect(discretisation < 0.12 * Self.s * Self.s, "DDIM-50 discretisation error \(discretisation) on s² = \(Self.s * Self.s)")
        #expect(
            abs(mean - Self.m) <= meanTolerance + abs(offset - Self.m),
            "DDIM (50 steps): mean \(mean), expected \(Self.m) ± \(meanTolerance)")
        #expect(abs(mean - Self.m) <= meanTolerance, "DDIM (50 steps): mean \(mean), expected \(Self.m) ± \(meanTolerance)")
        #expect(
            abs(variance - gain * gain) <= varianceTolerance,
            "DDIM (50 steps): variance \(variance), exact DDIM variance \(gain * gain) ± \(varianceTolerance)")
        #expect(
            abs(variance - Self.s * Self.s) <= varianceTolerance + discretisation,
            "DDIM (50 steps): variance \(variance), expected s² = \(Self.s * Self.s) ± \(varianceTolerance) + discretisation \(discretisation)"
        )
    }

    @Test func ddimWithEtaZeroIsDeterministicGivenXT() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule).respaced(.ddim(count: 50))
        let model = optimalNoisePredictor(mean: Self.m, std: Self.s, schedule: Self.schedule)
        var g0 = PhiloxGenerator(seed: 3)
        let xT = Tensor.randomNormal(shape: [64, 1], dtype: .float64, generator: &g0)
        var g1 = PhiloxGenerator(seed: 100), g2 = PhiloxGenerator(seed: 200)
        let a = try d.sampleDDIM(model: model, shape: [64, 1], dtype: .float64, initialNoise: xT, generator: &g1).doubles
        let b = try d.sampleDDIM(model: model, shape: [64, 1], dtype: .float64, initialNoise: xT, generator: &g2).doubles
        #expect(a == b, "η = 0: same x_T must give bit-identical samples whatever the generator")
        var g3 = PhiloxGenerator(seed: 100), g4 = PhiloxGenerator(seed: 200)
        let c = try d.sampleDDIM(model: model, shape: [64, 1], dtype: .float64, eta: 1, initialNoise: xT, generator: &g3).doubles
        let e = try d.sampleDDIM(model: model, shape: [64, 1], dtype: .float64, eta: 1, initialNoise: xT, generator: &g4).doubles
        #expect(c != e, "η = 1 must use the generator")
        #expect(throws: DiffusionError.invalidEta(1.5)) {
            try d.sampleDDIM(model: model, shape: [1, 1], eta: 1.5, generator: &g3)
        }
    }

    @Test func fullBoundTermsMatchAnalyticKLPerStep() throws {
        let schedule = try DiffusionSchedule(.linear(start: 1e-3, end: 0.2), stepCount: 20)
        let d = try GaussianDiffusion(schedule: schedule, varianceKind: .fixedSmall)
        var g = PhiloxGenerator(seed: 5)
        let n = 2048
        let start = Self.gaussianData(count: n, dimensions: 1, generator: &g)
        let bound = try d.variationalBound(
            model: optimalNoisePredictor(mean: Self.m, std: Self.s, schedule: schedule), start: start, generator: &g)
        #expect(bound.terms.shape == [n, 20] && bound.prior.shape == [n] && bound.total.shape == [n])
        let terms = bound.terms.doubles, prior = bound.prior.doubles, total = bound.total.doubles
        for b in 0..<8 {
            let sum = prior[b] + (0..<20).reduce(0) { $0 + terms[b * 20 + $1] }
            #expect(abs(total[b] - sum) < 1e-12, "example \(b): total \(total[b]) ≠ L_T + Σ terms \(sum)")
        }
        let expectedPrior = try d.priorBitsPerDim(start: start).doubles
        #expect(prior == expectedPrior, "L_T column")
        for t in 2...20 {
            let column = (0..<n).map { terms[$0 * 20 + t - 1] * log(2.0) }
            let (mc, variance) = moments(column)
            let analytic = Self.analyticBoundTerm(
                index: t - 1, logVariance: schedule.posteriorLogVarianceClipped[t - 1], schedule: schedule)
            #expect(
                abs(mc - analytic) <= 5 * (variance / Double(n)).squareRoot() + 1e-12,
                "full bound column for t=\(t): \(mc) nats/dim, analytic \(analytic)")
        }
    }
}
