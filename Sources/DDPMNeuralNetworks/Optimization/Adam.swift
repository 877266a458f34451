// Adam (Kingma & Ba 2015) with DDPM's defaults, learning-rate warm-up and global-norm clipping.
import Foundation
import DDPMTensors

/// Adam over a module's parameters.
///
/// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·m̂/(√v̂ + ε) with bias-corrected m̂, v̂.
/// Defaults β₁ 0.9, β₂ 0.999, ε 1e-8 and lr 2e-4 are DDPM's CIFAR-10 settings; warm-up ramps the
/// learning rate linearly over the first `warmupSteps` steps (5,000 in DDPM).
///
/// Moments are kept by parameter name (as checkpoints store them, `m.NAME` and `v.NAME`) and
/// created as zeros on a parameter's first update. The update itself is one fused in-place pass
/// per parameter (`adamStep`).
public final class Adam {
    /// The peak learning rate lr, reached after the warm-up (DDPM: 2e-4 on CIFAR-10).
    public var learningRate: Double
    /// β₁, the decay of the first moment m.
    public var beta1: Double
    /// β₂, the decay of the second moment v.
    public var beta2: Double
    /// ε, added to √v̂ in the denominator.
    public var epsilon: Double
    /// Steps over which the learning rate ramps up linearly from lr/warmupSteps to lr; 0 for none.
    public var warmupSteps: Int
    /// Steps taken so far.
    public private(set) var step: Int = 0
    /// First moments m (running means of g), by parameter name.
    public private(set) var firstMoments: [String: Tensor] = [:]
    /// Second moments v (running means of g²), by parameter name.
    public private(set) var secondMoments: [String: Tensor] = [:]

    /// An optimiser with no moments yet, at step 0; the defaults are DDPM's.
    public init(learningRate: Double = 2e-4, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, warmupSteps: Int = 0) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.warmupSteps = warmupSteps
    }

    /// The learning rate of step `step` (1-based): lr · min(1, step / warmupSteps).
    public func learningRate(atStep step: Int) -> Double {
        warmupSteps > 0 ? learningRate * min(1, Double(step) / Double(warmupSteps)) : learningRate
    }

    /// Applies one update to `parameters` with `gradients` (same order, same shapes): advances
    /// ``step``, takes the learning rate of that step and updates each parameter and its
    /// moments in place. Runs without recording. Clipping, if any, is the caller's
    /// (``clipByGlobalNorm(_:maxNorm:)``).
    public func update(_ parameters: [(name: String, parameter: Parameter)], gradients: [Tensor]) {
        precondition(parameters.count == gradients.count, "Adam.update: \(parameters.count) parameters, \(gradients.count) gradients")
        step += 1
        let lr = learningRate(atStep: step)
        let correction1 = 1 - Foundation.pow(beta1, Double(step))
        let correction2 = 1 - Foundation.pow(beta2, Double(step))
        let constants = AdamStepConstants(
            learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon, correction1: correction1, correction2: correction2)
        for ((name, parameter), g) in zip(parameters, gradients) {
            precondition(
                g.shape == parameter.value.shape, "Adam.update: gradient \(g.shape) for parameter \(name) \(parameter.value.shape)")
            // Taken out of their owners so that the step can update them in place (one pass, no temporaries).
            var value = parameter.value.detached()
            parameter.value = placeholder
            var m = firstMoments.removeValue(forKey: name) ?? Tensor(zeros: value.shape, dtype: value.dtype)
            var v = secondMoments.removeValue(forKey: name) ?? Tensor(zeros: value.shape, dtype: value.dtype)
            adamStep(value: &value, firstMoment: &m, secondMoment: &v, gradient: g.detached(), constants)
            firstMoments[name] = m
            secondMoments[name] = v
            parameter.value = value
        }
    }

    /// Holds a parameter's place while its value is updated in place.
    private let placeholder = Tensor(zeros: [0])

    /// Restores moments and step (from a checkpoint), so the next update continues the bias
    /// correction and the warm-up where the saved run left them.
    public func restore(step: Int, firstMoments: [String: Tensor], secondMoments: [String: Tensor]) {
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }
}

/// Scales `gradients` so that their global L2 norm is at most `maxNorm` (DDPM clips at 1.0).
/// Returns the clipped gradients and the norm before clipping.
///
/// The global norm is √(Σ over all tensors of Σ g²). When it exceeds `maxNorm` every gradient is
/// multiplied by maxNorm/norm, which keeps their direction. A NaN or infinite norm is returned
/// with the gradients unchanged, so the caller can refuse the step.
public func clipByGlobalNorm(_ gradients: [Tensor], maxNorm: Double) -> (gradients: [Tensor], norm: Double) {
    withoutGradients {
        let squared = gradients.reduce(0.0) { $0 + $1.squared().sum().item }
        let norm = squared.squareRoot()
        guard norm > maxNorm, norm.isFinite else { return (gradients, norm) }
        let factor = maxNorm / norm
        return (gradients.map { $0 * factor }, norm)
    }
}
