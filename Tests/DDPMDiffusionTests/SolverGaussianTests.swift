// The multistep solvers on Gaussian data x₀ ~ N(m, s²), whose exact ε-predictor and exact
// probability-flow ODE are known in closed form; and the settings they refuse.
//
// For data N(m, s²) the marginal of xₜ is N(√ᾱₜ m, vₜ) with vₜ = ᾱₜ s² + 1 − ᾱₜ, and the
// probability-flow ODE carries xₜ along u = (xₜ − √ᾱₜ m)/√vₜ, which it keeps constant. So a chain
// started from x at timestep τ ends exactly at √ᾱ m + √(ᾱ s² + 1 − ᾱ)·u(x, τ) at noise level ᾱ, and
// at m + s·u for ᾱ = 1. With the linear ε*, every sampler here (DDIM, DPM-Solver, UniPC) is an
// affine map x_T ↦ A x_T + B per dimension, so the mean and variance of its output distribution
// are exact from two chains: B + A·E[x_T] and A²·Var[x_T] — no sampling noise in the comparison.
import DDPMDiffusion
import DDPMTensors
import DDPMTestSupport
import Foundation
import Testing

@Suite("multistep solvers: Gaussian data and refusals")
struct SolverGaussianTests {
    static let m = 0.5
    static let s = 0.3

    /// ε*(x, t) = (x − √ᾱₜ m)√(1 − ᾱₜ)/(ᾱₜ s² + 1 − ᾱₜ) for the table `alphaBar`.
    static func optimalModel(alphaBar: [Double]) -> DiffusionModel {
        { x, timesteps in
            let a = alphaBar[timesteps[0]]
            precondition(timesteps.allSatisfy { $0 == timesteps[0] })
            return (x - a.squareRoot() * m) * ((1 - a).squareRoot() / (a * s * s + 1 - a))
        }
    }

    /// The exact marginal N(√ᾱ m, ᾱ s² + 1 − ᾱ) of xₜ at ᾱ.
    static func marginal(_ a: Double) -> (mean: Double, std: Double) { (a.squareRoot() * m, (a * s * s + 1 - a).squareRoot()) }

    /// Mean and variance of the output of the affine `sampler` for x_T ~ N(mean, std²).
    static func outputMoments(mean: Double, std: Double, _ sampler: (Tensor) throws -> Tensor) rethrows -> (mean: Double, variance: Double)
    {
        let out = try sampler(Tensor([mean, mean + std], shape: [2, 1], dtype: .float64)).doubles
        return (out[0], (out[1] - out[0]) * (out[1] - out[0]))
    }

    static let linear = try! DiffusionSchedule(.linear(), stepCount: 1000)

    @Test("20 steps on Gaussian data (linear β, T = 1000): DPM-Solver++(2M) lands closer to the exact mean and variance than DDIM")
    func dpmSolverBeatsDDIMAtTwentySteps() throws {
        let alphaBar = Self.linear.alphaBar
        let model = Self.optimalModel(alphaBar: alphaBar)
        let solver = try DPMSolver(alphaBar: alphaBar)  // diffusers' defaults: 2M, linspace, final σ 0
        let ddim = try GaussianDiffusion(schedule: Self.linear).respaced(.ddim(count: 20))  // `ddpm sample --sampler ddim --steps 20`
        var generator = PhiloxGenerator(seed: 0)
        let dpmStart = try solver.steps(20).timesteps[0], ddimStart = ddim.schedule.originalTimesteps.last!
        func dpm(_ x: Tensor) throws -> Tensor { try solver.sample(model: model, initialNoise: x, steps: 20, generator: &generator) }
        func ddimSample(_ x: Tensor) throws -> Tensor {
            try ddim.sampleDDIM(model: model, shape: x.shape, initialNoise: x, generator: &generator)
        }

        // 1. x_T from the exact marginal at each sampler's first timestep: the data N(m, s²) is the exact target.
        let p = Self.marginal(alphaBar[dpmStart]), q = Self.marginal(alphaBar[ddimStart])
        let a = try Self.outputMoments(mean: p.mean, std: p.std, dpm)
        let b = try Self.outputMoments(mean: q.mean, std: q.std, ddimSample)
        let target = Self.s * Self.s
        print(
            "Gaussian data, 20 steps, exact x_T: DPM-Solver++(2M) mean \(a.mean) variance \(a.variance); DDIM mean \(b.mean) variance \(b.variance); "
                + "data mean \(Self.m) variance \(target)")
        #expect(abs(a.mean - Self.m) <= 1e-12 && abs(b.mean - Self.m) <= 1e-12, "both keep the mean path exactly: \(a.mean), \(b.mean)")
        #expect(
            abs(a.variance - target) < abs(b.variance - target), "variance: DPM-Solver++ \(a.variance), DDIM \(b.variance), exact \(target)"
        )

        // 2. x_T ~ N(0, I) as in sampling, both from T − 1 (DDIM evenly respaced, both ends kept): the exact
        //    probability-flow ODE from N(0, I) ends at mean m − s√ᾱ_T m/√v_T, variance s²/v_T.
        let even = try GaussianDiffusion(schedule: Self.linear).respaced(.even(count: 20))
        let c = try Self.outputMoments(mean: 0, std: 1, dpm)
        let d = try Self.outputMoments(mean: 0, std: 1) {
            try even.sampleDDIM(model: model, shape: $0.shape, initialNoise: $0, generator: &generator)
        }
        let prior = Self.marginal(alphaBar[999])
        let exactMean = Self.m - Self.s * prior.mean / prior.std, exactVariance = target / (prior.std * prior.std)
        print(
            "Gaussian data, 20 steps, x_T ~ N(0, I): DPM-Solver++(2M) mean \(c.mean) variance \(c.variance); DDIM mean \(d.mean) variance \(d.variance); "
                + "exact flow mean \(exactMean) variance \(exactVariance)")
        #expect(abs(c.mean - exactMean) < abs(d.mean - exactMean), "mean: DPM-Solver++ \(c.mean), DDIM \(d.mean), exact \(exactMean)")
        #expect(
            abs(c.variance - exactVariance) < abs(d.variance - exactVariance),
            "variance: DPM-Solver++ \(c.variance), DDIM \(d.variance), exact \(exactVariance)")
    }

    /// A schedule linear in λ = log(α/σ) from 4.6 (t = 0) to −5.06 (t = T − 1), T = 1281: every
    /// step count dividing 1280 lands on whole timesteps with equal λ-steps, so the solvers' grid is
    /// uniform in λ and the network is exact at every σ it sees.
    static let lambdaLinear: [Double] = (0..<1281).map { t in
        let lambda = 4.6 + (-5.06 - 4.6) * Double(t) / 1280
        return 1 / (1 + Foundation.exp(-2 * lambda))
    }

    /// Errors of `sampler(n)` against the exact ODE solution, for n = 10, 20, …, 320; and the
    /// empirical orders log₂(error(n)/error(2n)).
    static func convergence(_ sampler: (Int, Tensor) throws -> Tensor) rethrows -> (errors: [Double], orders: [Double]) {
        let alphaBar = lambdaLinear
        let start = marginal(alphaBar[1280]), end = marginal(alphaBar[0])
        let x = Tensor([-1.5, -0.5, 0, 0.5, 1.5], shape: [5, 1], dtype: .float64)
        let exact = x.doubles.map { end.mean + end.std * ($0 - start.mean) / start.std }
        let errors = try [10, 20, 40, 80, 160, 320].map { n in zip(try sampler(n, x).doubles, exact).map { abs($0 - $1) }.max()! }
        return (errors, zip(errors, errors.dropFirst()).map { log2($0 / $1) })
    }

    @Test(
        "convergence as the steps double (uniform λ, exact ε*): DPM-Solver++ order 3 at a higher empirical order than order 1; UniPC p + 1")
    func empiricalOrders() throws {
        let model = Self.optimalModel(alphaBar: Self.lambdaLinear)
        let grid = SolverGrid(finalNoise: .minimum)
        var generator = PhiloxGenerator(seed: 0)
        var measured: [String: [Double]] = [:]
        for order in 1...3 {
            let solver = try DPMSolver(alphaBar: Self.lambdaLinear, order: order, lowerOrderFinal: false, grid: grid)
            let (errors, orders) = try Self.convergence {
                try solver.sample(model: model, initialNoise: $1, steps: $0, generator: &generator)
            }
            measured["dpmsolver++ \(order)"] = orders
            print(
                "DPM-Solver++ order \(order): errors \(errors.map { String(format: "%.2e", $0) }), orders \(orders.map { String(format: "%.2f", $0) })"
            )
            let unipc = try UniPC(alphaBar: Self.lambdaLinear, order: order, lowerOrderFinal: false, grid: grid)
            let (uErrors, uOrders) = try Self.convergence { try unipc.sample(model: model, initialNoise: $1, steps: $0) }
            measured["unipc \(order)"] = uOrders
            print(
                "UniPC-\(order) (bh2, corrector): errors \(uErrors.map { String(format: "%.2e", $0) }), orders \(uOrders.map { String(format: "%.2f", $0) })"
            )
        }
        // The last doubling (160 → 320 steps) is asymptotic. Multistep DPM-Solver++ of order 3 starts with a
        // first-order step whose O(h²) error bounds the global order by 2 (measured 2.02; 3.3 and 2.4 over the
        // first doublings); order 1 converges at order 1, order 2 at 2. UniPC-p with its corrector is of order p + 1.
        let last = measured.mapValues { $0.last! }
        #expect(abs(last["dpmsolver++ 1"]! - 1) < 0.1, "\(measured)")
        #expect(abs(last["dpmsolver++ 2"]! - 2) < 0.1, "\(measured)")
        #expect(last["dpmsolver++ 3"]! > last["dpmsolver++ 1"]! + 0.8, "\(measured)")
        #expect(measured["dpmsolver++ 3"]!.allSatisfy { $0 > 1.9 }, "\(measured)")
        #expect(abs(last["unipc 1"]! - 2) < 0.1 && abs(last["unipc 2"]! - 3) < 0.1 && last["unipc 3"]! > 3.5, "\(measured)")
    }

    @Test("bad settings are refused by name")
    func refusals() throws {
        let alphaBar = Self.linear.alphaBar
        #expect(throws: DiffusionError.solverOrderUnsupported(solver: "dpmsolver++", order: 4, maximum: 3)) {
            try DPMSolver(alphaBar: alphaBar, order: 4)
        }
        #expect(throws: DiffusionError.solverOrderUnsupported(solver: "dpmsolver++", order: 0, maximum: 3)) {
            try DPMSolver(alphaBar: alphaBar, order: 0)
        }
        #expect(throws: DiffusionError.solverOrderUnsupported(solver: "sde-dpmsolver++", order: 3, maximum: 2)) {
            try DPMSolver(alphaBar: alphaBar, algorithm: .stochasticDataPrediction, order: 3)
        }
        #expect(throws: DiffusionError.solverOrderUnsupported(solver: "unipc", order: 4, maximum: 3)) {
            try UniPC(alphaBar: alphaBar, order: 4)
        }
        let solver = try DPMSolver(alphaBar: alphaBar)
        var generator = PhiloxGenerator(seed: 0)
        let x = Tensor(zeros: [1, 1], dtype: .float64)
        #expect(throws: DiffusionError.solverStepCount(solver: "dpmsolver++", requested: 1001, available: 1000)) {
            try solver.sample(model: Self.optimalModel(alphaBar: alphaBar), initialNoise: x, steps: 1001, generator: &generator)
        }
        #expect(throws: DiffusionError.solverStepCount(solver: "unipc", requested: 0, available: 1000)) {
            try UniPC(alphaBar: alphaBar).steps(0)
        }
        #expect(throws: DiffusionError.self) { try DPMSolver(alphaBar: alphaBar, algorithm: .noisePrediction) }  // final σ 0
        #expect(throws: DiffusionError.self) {
            try DPMSolver(
                alphaBar: alphaBar, algorithm: .noisePrediction, thresholding: DynamicThresholding(), grid: SolverGrid(finalNoise: .minimum)
            )
        }
        #expect(throws: DiffusionError.self) { try UniPC(alphaBar: alphaBar, order: 2, lowerOrderFinal: false) }  // order 2 into σ = 0
        #expect(throws: DiffusionError.self) { try DPMSolver(alphaBar: alphaBar + [0]) }  // ᾱ = 0: σ = ∞
        // Karras σ with final σ(0) repeats the last σ: an order-3 step across it is undefined.
        let karras = try DPMSolver(
            alphaBar: alphaBar, order: 3, lowerOrderFinal: false, grid: SolverGrid(placement: .karras, finalNoise: .minimum))
        #expect(throws: DiffusionError.self) {
            try karras.sample(model: Self.optimalModel(alphaBar: alphaBar), initialNoise: x, steps: 20, generator: &generator)
        }
        for error: DiffusionError in [
            .solverOrderUnsupported(solver: "sde-dpmsolver++", order: 3, maximum: 2),
            .solverStepCount(solver: "unipc", requested: 1001, available: 1000),
        ] {
            print(error.description)
        }
    }
}
