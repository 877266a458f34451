// Float64 references for binomial diffusion written from SD15 Table App.1 and Bayes' rule
// directly with probabilities (no logits, no tables of the code under test).
import Foundation

/// Plain-probability binomial diffusion over β₁…β_T (index i holds t = i + 1).
struct BinomialReference {
    let betas: [Double]

    var stepCount: Int { betas.count }

    /// q(xₜ | xₜ₋₁) = B(xₜ; xₜ₋₁(1 − βₜ) + ½βₜ) at t = index + 1.
    func kernel(_ current: Int, given previous: Int, index: Int) -> Double {
        let one = Double(previous) * (1 - betas[index]) + betas[index] / 2
        return current == 1 ? one : 1 - one
    }

    /// q(xₜ = 1 | x₀) for t = 0…T by iterating the kernel's transition probabilities.
    func marginals(start: Int) -> [Double] {
        var p = Double(start)
        var out = [p]
        for index in 0..<stepCount {
            p = kernel(1, given: 1, index: index) * p + kernel(1, given: 0, index: index) * (1 - p)
            out.append(p)
        }
        return out
    }

    /// q(xₜ₋₁ = 1 | xₜ, x₀) at t = index + 1 by Bayes: q(xₜ|xₜ₋₁) q(xₜ₋₁|x₀) normalised over xₜ₋₁.
    func posterior(current: Int, start: Int, index: Int) -> Double {
        let previousOne = marginals(start: start)[index]
        let one = kernel(current, given: 1, index: index) * previousOne
        let zero = kernel(current, given: 0, index: index) * (1 - previousOne)
        return one / (one + zero)
    }

    /// p(xₜ₋₁ = 1 | xₜ) ∝ Σ_{x₀} q(xₜ|xₜ₋₁) q(xₜ₋₁|x₀) B(x₀; x̂₀), enumerating x₀.
    func reverse(current: Int, predictedStart: Double, index: Int) -> Double {
        var one = 0.0, zero = 0.0
        for start in 0...1 {
            let weight = start == 1 ? predictedStart : 1 - predictedStart
            let previousOne = marginals(start: start)[index]
            one += weight * kernel(current, given: 1, index: index) * previousOne
            zero += weight * kernel(current, given: 0, index: index) * (1 - previousOne)
        }
        return one / (one + zero)
    }

    /// KL(B(p) ‖ B(q)) in nats, with 0 log 0 = 0.
    static func kl(_ p: Double, _ q: Double) -> Double {
        (p > 0 ? p * log(p / q) : 0) + (p < 1 ? (1 - p) * log((1 - p) / (1 - q)) : 0)
    }

    /// The mean and variance over xₜ ~ q(xₜ | x₀) of one pixel's bound term at t = index + 1 for a
    /// reverse process with x̂₀ fixed, in nats: KL(q(xₜ₋₁|xₜ,x₀) ‖ p(xₜ₋₁|xₜ)) for t > 1 and
    /// −log p(x₀|x₁) at t = 1 — enumerating xₜ ∈ {0, 1}.
    func term(start: Int, index: Int, predictedStart: Double) -> (mean: Double, variance: Double) {
        let currentOne = marginals(start: start)[index + 1]
        var mean = 0.0, square = 0.0
        for current in 0...1 {
            let weight = current == 1 ? currentOne : 1 - currentOne
            let reverseOne = reverse(current: current, predictedStart: predictedStart, index: index)
            let value =
                index == 0
                ? -log(start == 1 ? reverseOne : 1 - reverseOne)
                : Self.kl(posterior(current: current, start: start, index: index), reverseOne)
            mean += weight * value
            square += weight * value * value
        }
        return (mean, square - mean * mean)
    }

    /// L_T = KL(q(x_T | x₀) ‖ B(½)) of one pixel, in nats.
    func prior(start: Int) -> Double {
        Self.kl(marginals(start: start)[stepCount], 0.5)
    }
}

func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
