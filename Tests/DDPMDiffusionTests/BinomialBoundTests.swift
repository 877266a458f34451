// The binomial variational bound: an untrained (x̂₀ = ½) reverse process against its value computed
// by enumeration, the training loss's gradient by central differences, and training lowering the bound.
import DDPMDiffusion
import Foundation
import Testing
import DDPMTensors

@Suite struct BinomialBoundTests {
    /// A binary batch [B, 1, H, W] with a different pattern per example, in `dtype`.
    static func pattern(batch: Int, side: Int, dtype: DType, seed: UInt64) -> Tensor {
        var g = PhiloxGenerator(seed: seed)
        let values = (0..<batch * side * side).map { _ in g.nextUniform() < 0.3 ? 1.0 : 0.0 }
        return Tensor(values, shape: [batch, 1, side, side], dtype: dtype)
    }

    @Test(arguments: [BinomialSchedule.reciprocal, .custom([0.02, 0.1, 0.3, 0.5, 0.2, 0.1])])
    func untrainedBoundMatchesEnumeration(_ schedule: BinomialSchedule) throws {
        let d = try BinomialDiffusion(schedule: schedule, stepCount: 8)
        let reference = BinomialReference(betas: d.schedule.betas)
        let T = d.stepCount
        let start = Self.pattern(batch: 3, side: 32, dtype: .float64, seed: 11)
        var g = PhiloxGenerator(seed: 12)
        let bound = try d.variationalBound(model: { x, _ in x * 0.0 }, start: start, generator: &g)
        #expect(bound.terms.shape == [3, T] && bound.prior.shape == [3] && bound.total.shape == [3])
        let pixels = start.doubles
        let D = pixels.count / 3
        let toBits = 1 / log(2.0)
        let terms = bound.terms.doubles, prior = bound.prior.doubles, total = bound.total.doubles
        for b in 0..<3 {
            let ones = pixels[b * D..<(b + 1) * D].filter { $0 == 1 }.count
            let count = [D - ones, ones]
            // Each column: the mean over D pixels of a term with the enumerated mean and variance.
            var expectedTotal = 0.0, totalVariance = 0.0
            for i in 0..<T {
                let moments = (0...1).map { reference.term(start: $0, index: i, predictedStart: 0.5) }
                let mean = (Double(count[0]) * moments[0].mean + Double(count[1]) * moments[1].mean) / Double(D) * toBits
                let variance =
                    (Double(count[0]) * moments[0].variance + Double(count[1]) * moments[1].variance)
                    / Double(D * D) * toBits * toBits
                let got = terms[b * T + i]
                #expect(
                    abs(got - mean) <= 6 * variance.squareRoot() + 1e-12,
                    "\(schedule) example \(b) t = \(i + 1): \(got) vs \(mean) ± \(variance.squareRoot())")
                expectedTotal += mean
                totalVariance += variance
            }
            let expectedPrior =
                (Double(count[0]) * reference.prior(start: 0) + Double(count[1]) * reference.prior(start: 1)) / Double(D) * toBits
            #expect(abs(prior[b] - expectedPrior) < 1e-12, "L_T \(prior[b]) vs \(expectedPrior)")
            // The exact reverse process of uniform data: 1 bit/dim in expectation, for every schedule.
            #expect(abs(expectedTotal + expectedPrior - 1) < 1e-12, "expected bound \(expectedTotal + expectedPrior)")
            #expect(abs(total[b] - 1) <= 6 * totalVariance.squareRoot(), "bound \(total[b]) ± \(totalVariance.squareRoot())")
        }
        if case .reciprocal = schedule { #expect(prior == [0, 0, 0]) } else { #expect(prior.allSatisfy { $0 > 1e-3 }) }
    }

    @Test func lossGradientMatchesCentralDifferences() throws {
        let d = try BinomialDiffusion(schedule: .reciprocal, stepCount: 6)
        let timesteps = [0, 1, 3, 5]
        let start = Tensor([1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0], shape: [4, 3], dtype: .float64)
        var g = PhiloxGenerator(seed: 21)
        let noise = Tensor.randomUniform(shape: [4, 3], dtype: .float64, generator: &g)
        let weights = Tensor([0.7, 1.3, 0.9, 1.1], shape: [4], dtype: .float64)
        func loss(_ w: Tensor, _ b: Tensor) throws -> Tensor {
            (try d.trainingLoss(model: { x, _ in x * w + b }, start: start, timesteps: timesteps, uniformNoise: noise) * weights).sum()
        }
        let w0 = Tensor.randomNormal(shape: [4, 3], dtype: .float64, generator: &g)
        let b0 = Tensor.randomNormal(shape: [4, 3], dtype: .float64, generator: &g) * 2.0
        let leaves = [w0.requiringGradient(), b0.requiringGradient()]
        let analytic = gradients(of: try loss(leaves[0], leaves[1]), withRespectTo: leaves).map(\.doubles)
        let h = 1e-6
        for (k, base) in [w0.doubles, b0.doubles].enumerated() {
            for i in base.indices {
                var plus = base, minus = base
                plus[i] += h
                minus[i] -= h
                func value(_ v: [Double]) throws -> Double {
                    let t = Tensor(v, shape: [4, 3], dtype: .float64)
                    return try (k == 0 ? loss(t, b0) : loss(w0, t)).item
                }
                let numeric = (try value(plus) - value(minus)) / (2 * h)
                #expect(
                    abs(analytic[k][i] - numeric) <= 1e-6 + 1e-5 * abs(numeric),
                    "\(k == 0 ? "w" : "b")[\(i)]: \(analytic[k][i]) vs \(numeric)")
            }
        }
        #expect(analytic[1].contains { abs($0) > 1e-3 }, "the loss reaches the logits")
        #expect(throws: DiffusionError.nonBinaryData(0.5)) {
            try d.trainingLoss(model: { x, _ in x }, start: start * 0.5, timesteps: timesteps, uniformNoise: noise)
        }
    }

    @Test func trainingOnTheLossLowersTheBound() throws {
        // Pixels that are 1 with probability 0.9 or 0.1; a network of per-pixel logits (ignoring xₜ)
        // can reach the data's entropy, H(0.1) = 0.469 bits/dim, from the untrained 1 bit/dim.
        let d = try BinomialDiffusion(schedule: .reciprocal, stepCount: 10)
        let (batch, size) = (128, 16)
        var g = PhiloxGenerator(seed: 31)
        let data = Tensor(
            (0..<batch * size).map { k in g.nextUniform() < (k % 2 == 0 ? 0.9 : 0.1) ? 1.0 : 0.0 }, shape: [batch, size], dtype: .float32)
        var bias = Tensor(zeros: [1, size])
        func model(_ b: Tensor) -> DiffusionModel { { x, _ in b.broadcast(to: x.shape) } }
        let untrained = try d.variationalBound(model: model(bias), start: data, generator: &g).total.mean().item
        for _ in 0..<150 {
            let timesteps = (0..<batch).map { _ in g.nextInt(below: d.stepCount) }
            let noise = Tensor.randomUniform(shape: data.shape, generator: &g)
            let leaf = bias.requiringGradient()
            let loss = try d.trainingLoss(model: model(leaf), start: data, timesteps: timesteps, uniformNoise: noise).mean()
            bias = (bias - 2.0 * gradients(of: loss, withRespectTo: [leaf])[0]).detached()
        }
        let trained = try d.variationalBound(model: model(bias), start: data, generator: &g).total.mean().item
        #expect(abs(untrained - 1) < 0.05, "untrained bound \(untrained) bits/dim")
        #expect(trained < 0.55 && trained > 0.4, "trained bound \(trained) bits/dim")
    }
}
