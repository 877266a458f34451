// The Fréchet distance between two Gaussians (Heusel et al. 2017, FID): d² = |μ₁ − μ₂|² + tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), in Float64.
import Foundation

/// The Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂), the FID when both are statistics of
/// Inception pool3 features:
///
///     d² = |μ₁ − μ₂|² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½.
///
/// pytorch-fid takes the square root of the non-symmetric product with `scipy.linalg.sqrtm`. Here
/// the trace comes from two symmetric eigendecompositions (LAPACK's dsyevd): with A = Σ₁^½ =
/// V·diag(√λ)·Vᵀ from Σ₁ = V·diag(λ)·Vᵀ, the product Σ₁Σ₂ = A(AΣ₂A)A⁻¹ is similar to the
/// symmetric positive semi-definite AΣ₂A, so tr (Σ₁Σ₂)^½ = Σᵢ √μᵢ over the eigenvalues μᵢ of
/// AΣ₂A. This holds for singular covariances too (fewer samples than dimensions), where `sqrtm`
/// loses accuracy. Everything is Float64.
///
/// pytorch-fid's safeguards, kept: ε·I (ε = 1e-6) is added to both covariances when the first
/// attempt fails (for `sqrtm`, a non-finite root; here, LAPACK not converging), and the result is
/// refused when the root's imaginary part exceeds 1e-3 — here when an eigenvalue μ is negative with
/// √−μ > 1e-3 (rounding leaves |μ| near 1e-16·|Σ|; such a value means a covariance is not positive
/// semi-definite). Eigenvalues below the rounding level n·ε·max|λ| (numpy's `matrix_rank`
/// threshold) count as 0 — negative ones as `sqrtm`'s discarded imaginary part, positive ones
/// because √ would turn noise of 1e-16 into 1e-8 per dimension: with fewer samples than dimensions
/// (most of Σ's eigenvalues are 0) the 2,000 of them would add up to 1e-5, while with them dropped
/// a set's FID against itself is 0 to 1e-12.
public struct FrechetDistance: Equatable, Sendable {
    /// d², the FID.
    public let value: Double
    /// |μ₁ − μ₂|².
    public let meanTerm: Double
    /// tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½.
    public let covarianceTerm: Double
    /// Whether ε·I had to be added to the covariances (pytorch-fid prints a warning then).
    public let offsetApplied: Bool

    /// pytorch-fid's ε.
    public static let epsilon = 1e-6

    /// The distance between two sets of statistics of the same dimension.
    /// - Throws: ``MetricsError/dimensionMismatch(_:_:)``, ``MetricsError/nonFinite(_:)``,
    ///   ``MetricsError/imaginaryComponent(_:)``, ``MetricsError/eigensolverFailed(_:)``.
    public init(_ a: FeatureStatistics, _ b: FeatureStatistics) throws {
        guard a.dimension == b.dimension else { throw MetricsError.dimensionMismatch(a.dimension, b.dimension) }
        guard (a.mean + b.mean).allSatisfy(\.isFinite) else { throw MetricsError.nonFinite("a mean") }
        guard a.covariance.allSatisfy(\.isFinite), b.covariance.allSatisfy(\.isFinite) else { throw MetricsError.nonFinite("a covariance") }
        let n = a.dimension
        var meanTerm = 0.0
        for i in 0..<n { meanTerm += (a.mean[i] - b.mean[i]) * (a.mean[i] - b.mean[i]) }
        let traces = (0..<n).reduce(0.0) { $0 + a.covariance[$1 * n + $1] + b.covariance[$1 * n + $1] }
        var rootTrace: Double
        var offsetApplied = false
        do {
            rootTrace = try Self.traceOfRoot(a.covariance, b.covariance, n: n)
        } catch MetricsError.eigensolverFailed {
            offsetApplied = true
            var (s1, s2) = (a.covariance, b.covariance)
            for i in 0..<n {
                s1[i * n + i] += Self.epsilon
                s2[i * n + i] += Self.epsilon
            }
            rootTrace = try Self.traceOfRoot(s1, s2, n: n)
        }
        self.meanTerm = meanTerm
        self.covarianceTerm = traces - 2 * rootTrace
        self.value = meanTerm + covarianceTerm
        self.offsetApplied = offsetApplied
    }

    /// tr (Σ₁Σ₂)^½ = Σᵢ √μᵢ, μ the eigenvalues of Σ₁^½ Σ₂ Σ₁^½.
    static func traceOfRoot(_ s1: [Double], _ s2: [Double], n: Int) throws -> Double {
        // 1. A = Σ₁^½ = V·diag(√λ)·Vᵀ.
        let (lambda, v) = try LinearAlgebra.symmetricEigen(s1, n: n, vectors: true)
        try checkReal(lambda)
        let rootLambda = roundingLevelDropped(lambda).map { $0.squareRoot() }
        var scaled = v
        for i in 0..<n {
            for j in 0..<n { scaled[i * n + j] *= rootLambda[j] }
        }
        let root = LinearAlgebra.multiply(scaled, v, m: n, n: n, k: n, transposeB: true)
        // 2. M = AΣ₂A, symmetrised against rounding; its eigenvalues are those of Σ₁Σ₂.
        var m = LinearAlgebra.multiply(LinearAlgebra.multiply(root, s2, m: n, n: n, k: n), root, m: n, n: n, k: n)
        for i in 0..<n {
            for j in 0..<i {
                let mean = (m[i * n + j] + m[j * n + i]) / 2
                (m[i * n + j], m[j * n + i]) = (mean, mean)
            }
        }
        let mu = try LinearAlgebra.symmetricEigen(m, n: n, vectors: false).values
        try checkReal(mu)
        return roundingLevelDropped(mu).reduce(0) { $0 + $1.squareRoot() }
    }

    /// The eigenvalues with those below n·ε·max|λ| (the rounding level of a symmetric eigensolver) set to 0.
    static func roundingLevelDropped(_ eigenvalues: [Double]) -> [Double] {
        let largest = eigenvalues.reduce(0) { max($0, abs($1)) }
        let threshold = Double(eigenvalues.count) * Double.ulpOfOne * largest
        return eigenvalues.map { $0 > threshold ? $0 : 0 }
    }

    /// pytorch-fid's limit on the imaginary part of the root (1e-3), applied to √−μ of the most negative eigenvalue.
    static func checkReal(_ eigenvalues: [Double]) throws {
        guard eigenvalues.allSatisfy(\.isFinite) else { throw MetricsError.eigensolverFailed(-1) }
        if let lowest = eigenvalues.min(), lowest < 0, (-lowest).squareRoot() > 1e-3 {
            throw MetricsError.imaginaryComponent((-lowest).squareRoot())
        }
    }
}
