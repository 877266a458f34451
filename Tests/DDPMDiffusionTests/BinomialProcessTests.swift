// Binomial diffusion (SD15 §2.4): schedule, forward marginal, posterior, reverse process, Bernoulli
// math and sampling, against the Float64 references of BinomialReference.swift.
import DDPMDiffusion
import Foundation
import Testing
import DDPMTensors

@Suite struct BinomialProcessTests {
    /// Schedules to sweep: SD15's (ᾱ_T = 0), a custom one with β = 1 inside and one with ᾱ_T > 0.
    static let schedules: [BinomialSchedule] = [
        .reciprocal, .custom([0.1, 0.3, 1.0, 0.05, 0.2]), .custom([0.02, 0.05, 0.1, 0.2, 0.3, 0.4]),
    ]

    static func diffusion(_ schedule: BinomialSchedule) throws -> BinomialDiffusion {
        try BinomialDiffusion(schedule: schedule, stepCount: 7)
    }

    /// Every (t, x₀, xₜ) combination as a batch of one-element examples, in Float64.
    static func grid(_ T: Int) -> (timesteps: [Int], start: Tensor, current: Tensor, cases: [(Int, Int, Int)]) {
        let cases = (0..<T).flatMap { i in [(i, 0, 0), (i, 0, 1), (i, 1, 0), (i, 1, 1)] }
        return (
            cases.map(\.0), Tensor(cases.map { Double($0.1) }, shape: [cases.count, 1], dtype: .float64),
            Tensor(cases.map { Double($0.2) }, shape: [cases.count, 1], dtype: .float64), cases
        )
    }

    @Test func reciprocalScheduleIsSD15s() throws {
        let T = 7
        let d = try BinomialDiffusion(schedule: .reciprocal, stepCount: T)
        for t in 1...T {
            #expect(abs(d.schedule.betas[t - 1] - 1 / Double(T - t + 1)) < 1e-15, "β at t = \(t)")
            #expect(abs(d.schedule.alphaBar[t - 1] - Double(T - t) / Double(T)) < 1e-15, "ᾱ at t = \(t)")
        }
        // x_T ~ B(½) whatever x₀: the prior term is exactly 0.
        let start = Tensor([0, 1, 1, 0], shape: [2, 2], dtype: .float64)
        #expect(try d.priorBitsPerDim(start: start).doubles == [0, 0])
        #expect(throws: DiffusionError.betaOutOfRange(index: 1, value: 0)) { try BinomialDiffusion(schedule: .custom([0.5, 0])) }
    }

    @Test(arguments: schedules)
    func forwardMarginalMatchesTheIteratedKernel(_ schedule: BinomialSchedule) throws {
        let d = try Self.diffusion(schedule)
        let reference = BinomialReference(betas: d.schedule.betas)
        let T = d.stepCount
        for start in 0...1 {
            let x0 = Tensor(repeating: Double(start), shape: [T, 1], dtype: .float64)
            let probability = try d.forwardProbability(start: x0, timesteps: Array(0..<T)).doubles
            let logits = try d.forwardLogits(start: x0, timesteps: Array(0..<T)).doubles
            let expected = Array(reference.marginals(start: start).dropFirst())
            for i in 0..<T {
                #expect(abs(probability[i] - expected[i]) < 1e-14, "\(schedule) x₀ = \(start) t = \(i + 1)")
                #expect(abs(sigmoid(logits[i]) - expected[i]) < 1e-14, "\(schedule) logit x₀ = \(start) t = \(i + 1)")
            }
        }
    }

    @Test(arguments: schedules)
    func posteriorIsBayesByEnumeration(_ schedule: BinomialSchedule) throws {
        let d = try Self.diffusion(schedule)
        let reference = BinomialReference(betas: d.schedule.betas)
        let (timesteps, start, current, cases) = Self.grid(d.stepCount)
        let logits = try d.posteriorLogits(start: start, current: current, timesteps: timesteps).doubles
        for (k, (i, x0, xt)) in cases.enumerated() {
            let one = sigmoid(logits[k]), zero = sigmoid(-logits[k])
            #expect(abs(one + zero - 1) < 1e-15)
            #expect(
                abs(one - reference.posterior(current: xt, start: x0, index: i)) < 1e-14, "\(schedule) t = \(i + 1) x₀ = \(x0) xₜ = \(xt)")
            if i == 0 { #expect(abs(one - Double(x0)) < 1e-15, "t = 1 puts all mass on x₀") }
        }
        // Normalised as a conditional: Σ_{xₜ} q(xₜ₋₁ = 1|xₜ,x₀) q(xₜ|x₀) = q(xₜ₋₁ = 1|x₀).
        for i in 0..<d.stepCount {
            for x0 in 0...1 {
                let marginal = reference.marginals(start: x0)
                var total = 0.0
                for xt in 0...1 {
                    let k = cases.firstIndex { $0 == (i, x0, xt) }!
                    total += sigmoid(logits[k]) * (xt == 1 ? marginal[i + 1] : 1 - marginal[i + 1])
                }
                #expect(abs(total - marginal[i]) < 1e-14, "\(schedule) t = \(i + 1) x₀ = \(x0)")
            }
        }
    }

    @Test(arguments: schedules)
    func reverseIsBayesWithThePredictedStart(_ schedule: BinomialSchedule) throws {
        let d = try Self.diffusion(schedule)
        let reference = BinomialReference(betas: d.schedule.betas)
        let (timesteps, _, current, cases) = Self.grid(d.stepCount)
        let startLogits = (0..<cases.count).map { [-4.0, -0.7, 0, 1.3, 3.0][$0 % 5] }
        let lambda = try d.reverseLogits(
            startLogits: Tensor(startLogits, shape: [cases.count, 1], dtype: .float64), current: current, timesteps: timesteps
        ).doubles
        for (k, (i, _, xt)) in cases.enumerated() {
            let expected = reference.reverse(current: xt, predictedStart: sigmoid(startLogits[k]), index: i)
            #expect(abs(sigmoid(lambda[k]) - expected) < 1e-13, "\(schedule) t = \(i + 1) xₜ = \(xt) ℓ = \(startLogits[k])")
        }
        // A confident, correct x̂₀ gives the true posterior (t > 1; at t = 1 both are deterministic).
        let (_, start, _, _) = Self.grid(d.stepCount)
        let confident = 2.0 * start - 1.0
        let sharp = try d.reverseLogits(startLogits: confident * 40.0, current: current, timesteps: timesteps).doubles
        let posterior = try d.posteriorLogits(start: start, current: current, timesteps: timesteps).doubles
        for k in cases.indices {
            #expect(abs(sigmoid(sharp[k]) - sigmoid(posterior[k])) < 1e-12, "case \(cases[k])")
        }
    }

    @Test func bernoulliKLMatchesTheFloat64Formula() {
        let values = [-20.0, -5, -0.3, 0, 0.7, 4, 15]
        let pairs = values.flatMap { a in values.map { b in (a, b) } }
        let a = Tensor(pairs.map(\.0), shape: [pairs.count], dtype: .float64)
        let b = Tensor(pairs.map(\.1), shape: [pairs.count], dtype: .float64)
        let kl = bernoulliKL(logits1: a, logits2: b).doubles
        for (k, (x, y)) in pairs.enumerated() {
            let expected = BinomialReference.kl(sigmoid(x), sigmoid(y))
            #expect(abs(kl[k] - expected) <= 1e-9 * Swift.max(expected, 1e-3), "KL(σ(\(x)) ‖ σ(\(y))): \(kl[k]) vs \(expected)")
        }
        let x = Tensor([0, 1, 1, 0], shape: [4], dtype: .float64), z = Tensor([-2, 0.5, 30, -30], shape: [4], dtype: .float64)
        let ll = bernoulliLogLikelihood(x, logits: z).doubles
        let expected = [log(1 - sigmoid(-2)), log(sigmoid(0.5)), -log1p(exp(-30)), -log1p(exp(-30))]
        for k in 0..<4 { #expect(abs(ll[k] - expected[k]) < 1e-14) }
        // Float32 with logits far beyond where σ saturates: finite, ≥ 0, and KL(a ‖ a) = 0.
        let big = Tensor([-120, -60, 60, 120], shape: [4], dtype: .float32)
        let far = bernoulliKL(logits1: big, logits2: -big).doubles
        #expect(far.allSatisfy { $0.isFinite && $0 > 50 }, "\(far)")
        #expect(bernoulliKL(logits1: big, logits2: big).doubles.allSatisfy { abs($0) < 1e-6 })
        #expect(logSigmoid(Tensor([-1000, 1000], shape: [2], dtype: .float32)).doubles == [-1000, 0])
    }

    @Test func forwardSamplesFollowTheMarginal() throws {
        let d = try BinomialDiffusion(schedule: .reciprocal, stepCount: 10)
        var g = PhiloxGenerator(seed: 3)
        let n = 20_000
        let start = Tensor(repeating: 1, shape: [2, n], dtype: .float32)
        let noise = Tensor.randomUniform(shape: start.shape, generator: &g)
        let x = try d.sampleForward(start: start, timesteps: [2, 8], uniformNoise: noise).doubles
        #expect(x.allSatisfy { $0 == 0 || $0 == 1 })
        for (row, t) in [3, 9].enumerated() {
            let p = 1 - Double(t) / 10 + Double(t) / 20  // ᾱₜ + ½(1 − ᾱₜ), ᾱₜ = 1 − t/T
            let mean = x[row * n..<(row + 1) * n].reduce(0, +) / Double(n)
            #expect(abs(mean - p) < 5 * (p * (1 - p) / Double(n)).squareRoot(), "t = \(t): mean \(mean), expected \(p)")
        }
    }

    @Test func samplingIsBinaryAndAPerfectPredictorReproducesItsTarget() throws {
        let d = try BinomialDiffusion(schedule: .reciprocal, stepCount: 20)
        var g = PhiloxGenerator(seed: 5)
        let target = Tensor((0..<64).map { Double(($0 / 3 + $0 / 8) % 2) }, shape: [1, 1, 8, 8], dtype: .float32)
        let knows: DiffusionModel = { x, _ in ((2.0 * target - 1.0) * 30.0).broadcast(to: x.shape) }
        var steps: [Int] = []
        let x = try d.sampleAncestral(model: knows, shape: [3, 1, 8, 8], generator: &g) { steps.append($0.index) }
        #expect(steps == Array((0..<20).reversed()))
        #expect(x.doubles == (0..<3).flatMap { _ in target.doubles })
        // An untrained network (ℓ = 0) samples uniform data.
        let noise = try d.sampleAncestral(model: { x, _ in x * 0.0 }, shape: [16, 256], generator: &g).doubles
        #expect(noise.allSatisfy { $0 == 0 || $0 == 1 })
        let mean = noise.reduce(0, +) / Double(noise.count)
        #expect(abs(mean - 0.5) < 5 * (0.25 / Double(noise.count)).squareRoot(), "mean \(mean)")
    }
}
