// VarianceKind.learned (log σₜ² straight from the network; SD15's learned covariance, IDDPM's
// LEARNED): the reverse step, the bound term against a Float64 KL written out here (eq. 5, 7, 11),
// and the gradient that reaches the variance output.
import DDPMTestSupport
import DDPMDiffusion
import Foundation
import Testing
import DDPMTensors

@Suite struct LearnedVarianceTests {
    static let schedule = try! DiffusionSchedule(.linear(start: 1e-3, end: 0.5), stepCount: 40)
    static let diffusion = try! GaussianDiffusion(
        schedule: schedule, varianceKind: .learned, lossKind: .vlb, decoderKind: .continuous)

    static func batch(_ seed: UInt64) -> (start: Tensor, noise: Tensor, output: Tensor) {
        var g = PhiloxGenerator(seed: seed)
        return (
            Tensor.randomNormal(shape: [4, 2], dtype: .float64, generator: &g),
            Tensor.randomNormal(shape: [4, 2], dtype: .float64, generator: &g),
            Tensor.randomNormal(shape: [4, 4], dtype: .float64, generator: &g) * 0.5
        )
    }

    @Test func outputIsDoubledAndLearned() {
        #expect(VarianceKind.learned.isLearned)
        #expect(VarianceKind(rawValue: "learned") == .learned)
        #expect(Self.diffusion.modelOutputShape(for: [5, 2]) == [5, 4])
        #expect(Self.diffusion.modelOutputShape(for: [5, 3, 8, 8]) == [5, 6, 8, 8])
    }

    /// μ_θ = (xₜ − βₜ/√(1−ᾱₜ) ε̂)/√αₜ (eq. 11), log σₜ² = the second half of the output as is.
    @Test(arguments: [0, 1, 19, 39])
    func reverseStepUsesTheOutputAsLogVariance(_ index: Int) throws {
        let (_, _, output) = Self.batch(UInt64(index + 1))
        let current = output.sliced(axis: 1, range: 2..<4) * 3.0
        let timesteps = [Int](repeating: index, count: 4)
        let step = try Self.diffusion.reverseStep(modelOutput: output, current: current, timesteps: timesteps)
        let beta = Self.schedule.betas[index], alphaBar = Self.schedule.betas[0...index].reduce(1.0) { $0 * (1 - $1) }
        let o = output.doubles, x = current.doubles
        var mean: [Double] = [], logVariance: [Double] = []
        for b in 0..<4 {
            for i in 0..<2 {
                mean.append((x[2 * b + i] - beta / (1 - alphaBar).squareRoot() * o[4 * b + i]) / (1 - beta).squareRoot())
                logVariance.append(o[4 * b + 2 + i])
            }
        }
        expectClose(step.mean.doubles, mean, relative: 1e-12, absolute: 1e-12 * 1e-12, "t = \(index + 1) μ_θ")
        #expect(step.logVariance.doubles == logVariance, "t = \(index + 1): log σ² is the output")
        expectClose(step.variance.doubles, logVariance.map(exp), relative: 1e-14, absolute: 1e-12 * 1e-14, "t = \(index + 1) σ²")
    }

    /// L_{t−1} = KL(N(μ̃ₜ, β̃ₜ) ‖ N(μ_θ, σ²)) per dimension, averaged, in bits (eq. 5, 7).
    @Test(arguments: [1, 2, 20, 39])
    func boundTermIsTheKLAgainstTheLearnedGaussian(_ index: Int) throws {
        let (start, noise, output) = Self.batch(UInt64(100 + index))
        let timesteps = [Int](repeating: index, count: 4)
        let d = Self.diffusion
        let current = try d.sampleForward(start: start, timesteps: timesteps, noise: noise)
        let reverse = try d.reverseStep(modelOutput: output, current: current, timesteps: timesteps)
        let bits = try d.boundTerm(start: start, current: current, timesteps: timesteps, reverse: reverse).doubles

        let betas = Self.schedule.betas
        let alphaBar = betas[0...index].reduce(1.0) { $0 * (1 - $1) }
        let alphaBarPrevious = alphaBar / (1 - betas[index])
        let posteriorVariance = (1 - alphaBarPrevious) / (1 - alphaBar) * betas[index]
        let x0 = start.doubles, xt = current.doubles, mu = reverse.mean.doubles, o = output.doubles
        for b in 0..<4 {
            var nats = 0.0
            for i in 0..<2 {
                let posteriorMean =
                    alphaBarPrevious.squareRoot() * betas[index] / (1 - alphaBar) * x0[2 * b + i]
                    + (1 - betas[index]).squareRoot() * (1 - alphaBarPrevious) / (1 - alphaBar) * xt[2 * b + i]
                let logVariance = o[4 * b + 2 + i], variance = exp(logVariance)
                nats +=
                    0.5
                    * (-1 + logVariance - log(posteriorVariance) + posteriorVariance / variance
                        + (posteriorMean - mu[2 * b + i]) * (posteriorMean - mu[2 * b + i]) / variance)
            }
            let expected = nats / (2 * log(2.0))
            #expect(abs(bits[b] - expected) <= 1e-10 * max(1, abs(expected)), "t = \(index + 1) example \(b): \(bits[b]) vs \(expected)")
        }
    }

    /// The bound trains the variance: d loss / d log σ² through `gradients(of:withRespectTo:)`
    /// matches a central difference in Float64, at every t including the decoder (t = 1).
    @Test func gradientReachesTheVarianceOutput() throws {
        let (start, noise, output) = Self.batch(9)
        let timesteps = [0, 1, 20, 39]
        func loss(_ out: Tensor) throws -> Tensor {
            try Self.diffusion.trainingLosses(model: { _, _ in out }, start: start, timesteps: timesteps, noise: noise).loss.sum()
        }
        let leaf = output.requiringGradient()
        let gradient = gradients(of: try loss(leaf), withRespectTo: [leaf])[0].doubles
        let values = output.doubles
        let h = 1e-6
        for b in 0..<4 {
            for c in 0..<4 {
                let i = 4 * b + c
                var plus = values, minus = values
                plus[i] += h
                minus[i] -= h
                let numeric =
                    try
                    (loss(Tensor(plus, shape: [4, 4], dtype: .float64)).item
                    - loss(Tensor(minus, shape: [4, 4], dtype: .float64)).item) / (2 * h)
                #expect(
                    abs(gradient[i] - numeric) <= 1e-6 * max(1, abs(numeric)),
                    "t = \(timesteps[b] + 1) output \(c): \(gradient[i]) vs \(numeric)")
                if c >= 2 { #expect(gradient[i] != 0, "t = \(timesteps[b] + 1): the variance output \(c) gets a gradient") }
            }
        }
    }
}
