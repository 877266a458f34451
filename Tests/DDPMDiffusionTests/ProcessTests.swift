// Gaussian KL, the discretised decoder, the posterior and the reverse process against the Float64
// numpy reference; shape and timestep errors.
import DDPMTestSupport
import DDPMDiffusion
import Foundation
import Testing
import DDPMTensors

@Suite struct GaussianMathTests {
    static let fixture = ReferenceFixture.shared

    @Test func normalKLMatchesReference() {
        let k = Self.fixture.normalKL
        let n = k.kl.count
        func t(_ v: [Double]) -> Tensor { Tensor(v, shape: [n], dtype: .float64) }
        let kl = normalKL(mean1: t(k.mean1), logVariance1: t(k.logVariance1), mean2: t(k.mean2), logVariance2: t(k.logVariance2))
        expectClose(kl.doubles, k.kl, relative: Self.fixture.tolerance, absolute: 1e-12 * Self.fixture.tolerance, "normalKL")
    }

    @Test func discretizedLogLikelihoodMatchesReferenceIncludingEdgeBins() {
        let d = Self.fixture.discretizedLogLikelihood
        let n = d.x.count
        func t(_ v: [Double]) -> Tensor { Tensor(v, shape: [n], dtype: .float64) }
        let ll = discretizedGaussianLogLikelihood(t(d.x), mean: t(d.mean), logVariance: t(d.logVariance)).doubles
        for i in 0..<n {
            expectClose(
                [ll[i]], [d.logLikelihood[i]], relative: Self.fixture.tolerance, absolute: 1e-12 * Self.fixture.tolerance,
                "log p(pixel \(d.pixels[i]) | μ = \(d.mean[i]))\(d.pixels[i] == 0 ? " lowest bin" : d.pixels[i] == 255 ? " highest bin" : "")"
            )
        }
    }

    @Test(arguments: [(0.0, -9.0), (-0.98, -7.0), (0.999, -12.0), (0.3, 0.0)])
    func binProbabilitiesSumToOne(mean: Double, logVariance: Double) {
        let x = Tensor((0...255).map { Double($0) / 127.5 - 1 }, shape: [256], dtype: .float64)
        let ll = discretizedGaussianLogLikelihood(
            x, mean: Tensor(scalar: mean, dtype: .float64),
            logVariance: Tensor(scalar: logVariance, dtype: .float64))
        let total = ll.doubles.reduce(0) { $0 + exp($1) }
        #expect(abs(total - 1) < 1e-9, "μ = \(mean), log σ² = \(logVariance): bins sum to \(total)")
    }

    @Test func klOfIdenticalGaussiansIsZeroAndGradientsAreFinite() {
        let m = Tensor([0.1, -0.4], shape: [2], dtype: .float64).requiringGradient()
        let lv = Tensor([-3.0, 0.5], shape: [2], dtype: .float64)
        let kl = normalKL(mean1: m, logVariance1: lv, mean2: m.detached(), logVariance2: lv)
        #expect(kl.doubles.allSatisfy { abs($0) < 1e-15 })
        let x = Tensor([-1.0, 1.0], shape: [2], dtype: .float64)
        let nll = -discretizedGaussianLogLikelihood(x, mean: m, logVariance: lv).sum()
        let g = gradients(of: nll, withRespectTo: [m])[0].doubles
        #expect(g.allSatisfy { $0.isFinite }, "decoder gradient \(g)")
        #expect(g[0] > 0 && g[1] < 0, "moving μ towards the edge bins raises their likelihood: \(g)")
    }
}

@Suite struct ProcessTests {
    static let fixture = ReferenceFixture.shared
    static let diffusionSchedule = try! DiffusionSchedule(.linear(), stepCount: 1000)

    static func diffusion(_ c: ReferenceFixture.Reverse) throws -> GaussianDiffusion {
        try GaussianDiffusion(
            schedule: diffusionSchedule, meanPrediction: MeanPrediction(rawValue: c.prediction)!,
            varianceKind: VarianceKind.allCases.first { "\($0)" == c.variance }!)  // the fixture names the Swift cases
    }

    @Test(arguments: ReferenceFixture.shared.reverse.indices)
    func reverseProcessMatchesReference(_ index: Int) throws {
        let c = Self.fixture.reverse[index]
        let d = try Self.diffusion(c)
        let D = c.current.count
        let current = Tensor(c.current, shape: [1, D], dtype: .float64)
        let output =
            d.varianceKind.isLearned
            ? Tensor(c.modelMean + c.modelVariance, shape: [1, 2 * D], dtype: .float64)
            : Tensor(c.modelMean, shape: [1, D], dtype: .float64)
        let step = try d.reverseStep(modelOutput: output, current: current, timesteps: [c.t - 1], clipStart: c.clip)
        let tol = Self.fixture.tolerance
        expectClose(step.predictedStart.doubles, c.predictedStart, relative: tol, absolute: 1e-12 * tol, "\(c) x̂₀")
        expectClose(step.mean.doubles, c.mean, relative: tol, absolute: 1e-12 * tol, "\(c) μ_θ")
        expectClose(step.logVariance.broadcast(to: [1, D]).doubles, c.logVariance, relative: tol, absolute: 1e-12 * tol, "\(c) log σ²")
        expectClose(step.variance.broadcast(to: [1, D]).doubles, c.logVariance.map(exp), relative: tol, absolute: 1e-12 * tol, "\(c) σ²")
    }

    @Test(arguments: [1, 2, 500, 1000])
    func posteriorAndForwardMatchReference(_ t: Int) throws {
        let c = Self.fixture.reverse.first { $0.t == t }!
        let d = try Self.diffusion(c)
        let D = c.start.count
        let start = Tensor(c.start, shape: [1, D], dtype: .float64)
        let noise = Tensor(c.noise, shape: [1, D], dtype: .float64)
        let current = try d.sampleForward(start: start, timesteps: [t - 1], noise: noise)
        expectClose(
            current.doubles, c.current, relative: Self.fixture.tolerance, absolute: 1e-12 * Self.fixture.tolerance, "t=\(t) xₜ (eq. 4)")
        let q = try d.posterior(start: start, current: current, timesteps: [t - 1])
        expectClose(
            q.mean.doubles, c.posteriorMean, relative: Self.fixture.tolerance, absolute: 1e-12 * Self.fixture.tolerance, "t=\(t) μ̃ (eq. 7)")
        expectClose(
            q.variance.doubles, [c.posteriorVariance], relative: Self.fixture.tolerance, absolute: 1e-12 * Self.fixture.tolerance,
            "t=\(t) β̃ (eq. 7)")
        // The three predictions are interconvertible.
        let fromNoise = try d.predictStart(fromNoise: noise, current: current, timesteps: [t - 1])
        expectClose(fromNoise.doubles, c.start, relative: 1e-9, absolute: 1e-12 * 1e-9, "t=\(t) x₀ from ε")
        let v = try d.velocity(start: start, noise: noise, timesteps: [t - 1])
        let fromVelocity = try d.predictStart(fromVelocity: v, current: current, timesteps: [t - 1])
        expectClose(fromVelocity.doubles, c.start, relative: 1e-9, absolute: 1e-12 * 1e-9, "t=\(t) x₀ from v")
        if t < 1000 {  // at t = T, ᾱ ≈ 4e-5 makes ε from x₀ ill-conditioned
            let eps = try d.predictNoise(fromStart: start, current: current, timesteps: [t - 1])
            expectClose(eps.doubles, c.noise, relative: 1e-6, absolute: 1e-12 * 1e-6, "t=\(t) ε from x₀")
        }
    }

    @Test func priorTermMatchesReference() throws {
        let d = try GaussianDiffusion(schedule: Self.diffusionSchedule)
        for (i, p) in Self.fixture.prior.enumerated() {
            let bits = try d.priorBitsPerDim(start: Tensor(p.start, shape: [1, p.start.count], dtype: .float64))
            expectClose(
                bits.doubles, [p.bitsPerDim], relative: Self.fixture.tolerance, absolute: 1e-12 * Self.fixture.tolerance, "prior case \(i)")
        }
    }

    @Test func float32PathAgreesWithFloat64() throws {
        let c = Self.fixture.reverse.first { $0.t == 500 && $0.variance == "learnedRange" }!
        let d = try Self.diffusion(c)
        let D = c.current.count
        let step = try d.reverseStep(
            modelOutput: Tensor((c.modelMean + c.modelVariance).map { Float($0) }, shape: [1, 2 * D]),
            current: Tensor(c.current.map { Float($0) }, shape: [1, D]), timesteps: [499])
        #expect(step.mean.dtype == .float32)
        for (a, e) in zip(step.mean.doubles, c.mean) { #expect(abs(a - e) <= 1e-5 * max(1, abs(e)), "\(c) Float32 μ: \(a) vs \(e)") }
    }

    @Test func badTimestepsAndShapesThrow() throws {
        let d = try GaussianDiffusion(schedule: try DiffusionSchedule(.linear(), stepCount: 10), varianceKind: .learnedRange)
        let x = Tensor(zeros: [2, 3], dtype: .float64)
        #expect(throws: DiffusionError.timestepOutOfRange(timestep: 10, stepCount: 10)) {
            try d.sampleForward(start: x, timesteps: [0, 10], noise: x)
        }
        #expect(throws: DiffusionError.timestepCountMismatch(timesteps: 1, batch: 2)) {
            try d.posterior(start: x, current: x, timesteps: [3])
        }
        #expect(throws: DiffusionError.noiseShape(expected: [2, 3], got: [2, 1])) {
            try d.sampleForward(start: x, timesteps: [0, 1], noise: Tensor(zeros: [2, 1], dtype: .float64))
        }
        #expect(throws: DiffusionError.modelOutputShape(expected: [2, 6], got: [2, 3])) {
            try d.reverseStep(model: { x, _ in x }, current: x, timesteps: [1, 1])
        }
        #expect(throws: DiffusionError.invalidHybridWeight(-1)) {
            try GaussianDiffusion(schedule: d.schedule, lossKind: .hybrid(lambda: -1))
        }
    }
}
