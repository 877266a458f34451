// The continuous Gaussian decoder L₀ = −log N(x₀; μ_θ(x₁, 1), σ₁²) for real-valued data, against
// an independent Float64 computation from the schedule's β's (eq. 5, 7, 11).
import DDPMDiffusion
import Foundation
import Testing
import DDPMTensors

@Suite struct ContinuousDecoderTests {
    static let schedule = try! DiffusionSchedule(.linear(start: 1e-3, end: 0.5), stepCount: 40)

    @Test func gaussianLogDensityMatchesTheFormula() {
        let x: [Double] = [0.3, -1.2, 2.0, 0.0]
        let mean: [Double] = [0.1, -1.0, -0.5, 0.0]
        let logVariance: [Double] = [-6.0, 0.0, 1.5, -0.2]
        let density = gaussianLogDensity(
            Tensor(x, shape: [4], dtype: .float64), mean: Tensor(mean, shape: [4], dtype: .float64),
            logVariance: Tensor(logVariance, shape: [4], dtype: .float64)
        ).doubles
        for i in 0..<4 {
            let variance = exp(logVariance[i])
            let expected = -0.5 * log(2 * Double.pi * variance) - (x[i] - mean[i]) * (x[i] - mean[i]) / (2 * variance)
            #expect(abs(density[i] - expected) <= 1e-13 * max(1, abs(expected)), "element \(i): \(density[i]) vs \(expected)")
        }
    }

    /// At t = 1 with ε̂ = 0.1 x₁ and σ₁² = β̃₂ (fixed small): μ = (x₁ − β₁/√(1−ᾱ₁) ε̂)/√α₁ (eq. 11),
    /// L₀ = Σᵢ −log N(x₀ⁱ; μⁱ, σ₁²) / (D ln 2). Every coefficient is recomputed here from β₁, β₂.
    @Test func boundTermAtTOneIsTheGaussianNLL() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule, varianceKind: .fixedSmall, decoderKind: .continuous)
        let x0: [Double] = [0.42, -1.3, 0.05, 1.7, -0.6]
        let eps: [Double] = [0.3, -0.8, 1.1, 0.2, -1.5]
        let D = x0.count
        let start = Tensor(x0, shape: [1, D], dtype: .float64)
        let current = try d.sampleForward(start: start, timesteps: [0], noise: Tensor(eps, shape: [1, D], dtype: .float64))
        let reverse = try d.reverseStep(model: { x, _ in x * 0.1 }, current: current, timesteps: [0])
        let bits = try d.boundTerm(start: start, current: current, timesteps: [0], reverse: reverse).item

        let (beta1, beta2) = (1e-3, 1e-3 + (0.5 - 1e-3) / 39)
        let alphaBar1 = 1 - beta1, alphaBar2 = (1 - beta1) * (1 - beta2)
        let variance = (1 - alphaBar1) / (1 - alphaBar2) * beta2  // β̃₂, the clipped t = 1 entry
        var nats = 0.0
        for i in 0..<D {
            let x1 = alphaBar1.squareRoot() * x0[i] + (1 - alphaBar1).squareRoot() * eps[i]
            let mean = (x1 - beta1 / (1 - alphaBar1).squareRoot() * (0.1 * x1)) / (1 - beta1).squareRoot()
            nats += 0.5 * log(2 * Double.pi * variance) + (x0[i] - mean) * (x0[i] - mean) / (2 * variance)
        }
        let expected = nats / (Double(D) * log(2.0))
        #expect(abs(bits - expected) <= 1e-10 * max(1, abs(expected)), "L₀ \(bits) vs \(expected) bits/dim")
    }

    /// A density: a sharp decoder centred near x₀ gives L₀ < 0 (bits/dim can be negative).
    @Test func boundTermCanBeNegative() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule, meanPrediction: .start, varianceKind: .learned, decoderKind: .continuous)
        let start = Tensor([0.5, -0.25], shape: [1, 2], dtype: .float64)
        let current = try d.sampleForward(start: start, timesteps: [0], noise: Tensor([0.1, 0.2], shape: [1, 2], dtype: .float64))
        let output = Tensor([0.5, -0.25, -8, -8], shape: [1, 4], dtype: .float64)  // x̂₀ = x₀, log σ₁² = −8
        let reverse = try d.reverseStep(modelOutput: output, current: current, timesteps: [0])
        let bits = try d.boundTerm(start: start, current: current, timesteps: [0], reverse: reverse).item
        #expect(bits < 0 && bits.isFinite, "L₀ = \(bits) bits/dim")
    }

    /// The decoder changes only the t = 1 term; the KL terms (t > 1) are the same for both kinds.
    @Test(arguments: [1, 2, 20, 39])
    func decoderKindChangesOnlyTheFirstTerm(_ index: Int) throws {
        let continuous = try GaussianDiffusion(schedule: Self.schedule, varianceKind: .fixedLarge, decoderKind: .continuous)
        let discretized = try GaussianDiffusion(schedule: Self.schedule, varianceKind: .fixedLarge, decoderKind: .discretized)
        var g = PhiloxGenerator(seed: 7)
        let start = Tensor.randomNormal(shape: [3, 2], dtype: .float64, generator: &g)
        let current = try continuous.sampleForward(
            start: start, timesteps: [index, index, index], noise: Tensor.randomNormal(shape: [3, 2], dtype: .float64, generator: &g))
        let model: DiffusionModel = { x, _ in x * -0.3 }
        let a = try continuous.boundTerm(
            start: start, current: current, timesteps: [index, index, index],
            reverse: continuous.reverseStep(model: model, current: current, timesteps: [index, index, index]))
        let b = try discretized.boundTerm(
            start: start, current: current, timesteps: [index, index, index],
            reverse: discretized.reverseStep(model: model, current: current, timesteps: [index, index, index]))
        #expect(a.doubles == b.doubles, "t = \(index + 1): \(a.doubles) vs \(b.doubles)")
    }

    @Test func respacingKeepsTheDecoder() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule, decoderKind: .continuous)
        #expect(try d.respaced(.even(count: 10)).decoderKind == .continuous)
        #expect(try GaussianDiffusion(schedule: Self.schedule).decoderKind == .discretized, "the default is eq. 13")
    }
}
