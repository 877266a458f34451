// Bernoulli distributions parameterised by logits: log σ, Bernoulli KL and log-likelihood,
// sampling; all elementwise and numerically safe in log space (for SD15's binomial diffusion).
import Foundation
import DDPMTensors

/// softplus(z) = log(1 + eᶻ) = max(z, 0) + log(1 + e^(−|z|)); never overflows.
public func softplus(_ z: Tensor) -> Tensor {
    z.clamped(min: 0) + ((-z.abs()).exp() + 1.0).log()
}

/// log σ(z) = −softplus(−z), the log-probability of 1 under B(σ(z)); finite for every finite z.
public func logSigmoid(_ z: Tensor) -> Tensor {
    -softplus(-z)
}

/// KL(B(σ(a)) ‖ B(σ(b))) per element, in nats:
/// σ(a)(log σ(a) − log σ(b)) + σ(−a)(log σ(−a) − log σ(−b)).
///
/// Written with log σ throughout, so it stays finite (and ≥ 0 up to rounding) for logits of any
/// size, including the near-deterministic posterior at t = 1. Arguments broadcast.
public func bernoulliKL(logits1 a: Tensor, logits2 b: Tensor) -> Tensor {
    a.sigmoid() * (logSigmoid(a) - logSigmoid(b)) + (-a).sigmoid() * (logSigmoid(-a) - logSigmoid(-b))
}

/// log B(x; σ(z)) = x log σ(z) + (1 − x) log σ(−z) per element, in nats, for x ∈ {0, 1}.
public func bernoulliLogLikelihood(_ x: Tensor, logits z: Tensor) -> Tensor {
    x * logSigmoid(z) + (1.0 - x) * logSigmoid(-z)
}

/// x ~ B(p) from uniform noise u ∈ [0, 1): x = 1 where u < p, else 0 (no gradient).
///
/// - Parameters:
///   - probability: p, any shape.
///   - uniformNoise: u of p's shape, e.g. `Tensor.randomUniform`.
public func bernoulliSample(probability: Tensor, uniformNoise: Tensor) -> Tensor {
    precondition(
        probability.shape == uniformNoise.shape,
        "bernoulliSample: probability shape \(probability.shape) ≠ noise shape \(uniformNoise.shape)")
    return withoutGradients { (probability - uniformNoise.converted(to: probability.dtype)).greaterThan(0) }
}
