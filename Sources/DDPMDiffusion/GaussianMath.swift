// Gaussian KL divergence, the discretised Gaussian decoder likelihood (DDPM eq. 13) and the
// continuous Gaussian log-density, elementwise.
import Foundation
import DDPMTensors

/// KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) per element, in nats:
/// ½(−1 + log σ₂² − log σ₁² + σ₁²/σ₂² + (μ₁ − μ₂)²/σ₂²).
///
/// All four arguments broadcast (numpy rules); the result has the broadcast shape.
public func normalKL(mean1: Tensor, logVariance1: Tensor, mean2: Tensor, logVariance2: Tensor) -> Tensor {
    0.5
        * (-1.0 + logVariance2 - logVariance1 + (logVariance1 - logVariance2).exp()
            + (mean1 - mean2).squared() * (-logVariance2).exp())
}

/// Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF (exact up to the erf kernel's rounding).
public func standardNormalCDF(_ x: Tensor) -> Tensor {
    0.5 * (1.0 + (x * (1 / 2.0.squareRoot())).erf())
}

/// log p(x) of 8-bit data x ∈ {−1, −1 + 2/255, …, 1} under the discretised Gaussian decoder
/// N(mean, exp(logVariance)) integrated over x's bin   (DDPM eq. 13), per element, in nats.
///
/// Bins are [x − 1/255, x + 1/255]; the lowest bin extends to −∞ (x = −1) and the highest to +∞
/// (x = 1). The CDF is exact through erf; bins above the mean use the survival function
/// Φ(−z) so that tail probabilities keep their precision. Probabilities are floored at 1e-12
/// before the log (as in the official code) so gradients stay finite.
public func discretizedGaussianLogLikelihood(_ x: Tensor, mean: Tensor, logVariance: Tensor) -> Tensor {
    let halfBin = 1.0 / 255.0
    let floor = 1e-12
    let centered = x - mean
    let inverseStd = (-0.5 * logVariance).exp()
    let upper = inverseStd * (centered + halfBin)  // z of the bin's top edge
    let lower = inverseStd * (centered - halfBin)  // z of the bin's bottom edge
    // Lowest bin: P(X ≤ x + 1/255) = Φ(upper). Highest bin: P(X ≥ x − 1/255) = Φ(−lower).
    let logCDFUpper = standardNormalCDF(upper).clamped(min: floor).log()
    let logSurvivalLower = standardNormalCDF(-lower).clamped(min: floor).log()
    // Interior bins: Φ(upper) − Φ(lower), or Φ(−lower) − Φ(−upper) when the bin lies above the mean.
    let aboveMean = centered.greaterThan(0)
    let belowMass = standardNormalCDF(upper) - standardNormalCDF(lower)
    let aboveMass = standardNormalCDF(-lower) - standardNormalCDF(-upper)
    let logBinMass = (aboveMean * aboveMass + (1.0 - aboveMean) * belowMass).clamped(min: floor).log()
    let isLowest = x.lessThan(-0.999)
    let isHighest = x.greaterThan(0.999)
    return isLowest * logCDFUpper + isHighest * logSurvivalLower + (1.0 - isLowest - isHighest) * logBinMass
}

/// log N(x; mean, exp(logVariance)) per element, in nats: −½(log 2π + log σ² + (x − μ)²/σ²).
///
/// The continuous decoder's log-likelihood (`DecoderKind.continuous`). A density, so it can be
/// positive (when σ² < 1/(2π)). All arguments broadcast.
public func gaussianLogDensity(_ x: Tensor, mean: Tensor, logVariance: Tensor) -> Tensor {
    -0.5 * (Foundation.log(2 * Double.pi) + logVariance + (x - mean).squared() * (-logVariance).exp())
}

/// Nats summed over D dimensions → bits per dimension: nats / (D · ln 2).
public func bitsPerDimension(nats: Tensor, dimensions: Int) -> Tensor {
    nats * (1 / (Double(dimensions) * Foundation.log(2.0)))
}

/// The mean over every axis but the first: [B, …] → [B].
public func meanOverNonBatchAxes(_ x: Tensor) -> Tensor {
    x.rank <= 1 ? x : x.mean(axes: Array(1..<x.rank))
}
