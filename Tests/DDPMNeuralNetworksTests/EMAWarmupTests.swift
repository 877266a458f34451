// The EMA's warm-up: decays min(β, (1 + n)/(10 + n)), the share of the initial weights it keeps,
// and restoring it from a count of updates.
import Foundation
import DDPMNeuralNetworks
import Testing
import DDPMTensors

@Suite struct EMAWarmupTests {
    final class One: Module {
        let w = Parameter(Tensor([0, 0, 0], shape: [3], dtype: .float64))
        var namedParameters: [(name: String, parameter: Parameter)] { [("w", w)] }
    }

    /// With the weights held at θ₁ after starting at θ₀ = 0, the average after N updates is
    /// (1 − ∏ dₙ) θ₁, and ∏_{n<N} (1 + n)/(10 + n) = N! 9! / (N + 9)! while the cap is not reached.
    @Test(arguments: [1, 5, 40])
    func warmupForgetsTheInitialWeights(_ updates: Int) {
        let module = One()
        let ema = ExponentialMovingAverage(of: module, decay: 0.999, warmup: true)
        module.w.value = Tensor([1, -2, 4], shape: [3], dtype: .float64)
        for _ in 0..<updates { ema.update(from: module) }
        let closedForm = exp(lgamma(Double(updates) + 1) + lgamma(10) - lgamma(Double(updates) + 10))
        #expect(abs(ema.initialWeight - closedForm) <= 1e-12 * closedForm)
        let average = ema.averages["w"]!.doubles
        for (a, target) in zip(average, [1.0, -2, 4]) {
            #expect(abs(a - (1 - closedForm) * target) <= 1e-12)
        }
        #expect(ema.decay(atUpdate: 0) == 0.1 && ema.decay(atUpdate: 90) == 0.91 && ema.decay(atUpdate: 100_000) == 0.999)
    }

    @Test func constantDecayKeepsDecayToTheNAndRestoreAgrees() {
        let module = One()
        let ema = ExponentialMovingAverage(of: module, decay: 0.995)
        for _ in 0..<500 { ema.update(from: module) }
        // DDPM-style constant decay: after 500 steps 0.995⁵⁰⁰ ≈ 8 % is still the initial weights.
        #expect(abs(ema.initialWeight - pow(0.995, 500)) < 1e-12 && abs(ema.initialWeight - 0.0816) < 1e-4)
        let restored = ExponentialMovingAverage(of: module, decay: 0.995)
        restored.restore(ema.averages, updates: 500)
        #expect(restored.initialWeight == ema.initialWeight && restored.updates == 500)
        let warm = ExponentialMovingAverage(of: module, decay: 0.995, warmup: true)
        for _ in 0..<500 { warm.update(from: module) }
        let warmRestored = ExponentialMovingAverage(of: module, decay: 0.995, warmup: true)
        warmRestored.restore(warm.averages, updates: 500)
        #expect(warmRestored.initialWeight == warm.initialWeight && warm.initialWeight < 1e-3)
    }
}
