// The kernel inception distance (Bińkowski et al. 2018): the unbiased MMD² with a cubic polynomial kernel over random subsets, as torch-fidelity computes it.

/// KID: the unbiased estimate of the squared maximum mean discrepancy between two feature sets with
/// the kernel k(x, y) = (xᵀy / d + 1)³, averaged over random subsets, with its standard deviation
/// over the subsets — torch-fidelity's `kid_features_to_metric` with its defaults (100 subsets of
/// 1000, `RandomState(2020)`).
///
/// For subsets X, Y of m vectors each:
///
///     MMD²ᵤ = (Σ_{i≠j} k(xᵢ, xⱼ) + Σ_{i≠j} k(yᵢ, yⱼ)) / (m(m − 1)) − 2 Σ_{i,j} k(xᵢ, yⱼ) / m².
///
/// Unlike FID it is unbiased at small N (its expectation does not depend on the sample size), and it
/// can be negative. Each subset is drawn as numpy does (``NumPyRandomState/choice(_:size:)``, the
/// first set's subset, then the second's), so the subsets are torch-fidelity's. The kernels are
/// computed in Float64 (OpenBLAS `dgemm`; torch-fidelity multiplies in the features' Float32).
public struct KernelInceptionDistance: Equatable, Sendable {
    /// The mean of MMD²ᵤ over the subsets.
    public let mean: Double
    /// Its standard deviation over the subsets (population, as `numpy.std`).
    public let standardDeviation: Double
    /// How many subsets were drawn.
    public let subsets: Int
    /// Vectors per subset.
    public let subsetSize: Int

    /// torch-fidelity's default number of subsets.
    public static let defaultSubsets = 100
    /// torch-fidelity's default subset size.
    public static let defaultSubsetSize = 1000
    /// torch-fidelity's default seed (`rng_seed`).
    public static let defaultSeed: UInt32 = 2020

    /// KID between `first` (`firstCount` vectors) and `second` (`secondCount` vectors) of `dimension`
    /// values each, row-major.
    ///
    /// - Parameters:
    ///   - first: the first set's vectors, row-major.
    ///   - firstCount: how many vectors `first` holds.
    ///   - second: the second set's vectors, row-major.
    ///   - secondCount: how many vectors `second` holds.
    ///   - dimension: the length of every vector.
    ///   - subsets: how many subset pairs to average over.
    ///   - subsetSize: m, vectors per subset; at least 2 and at most the smaller set (torch-fidelity
    ///     refuses smaller sets; `ddpm fid` passes min(1000, N)).
    ///   - seed: the `RandomState` seed of the subsets.
    /// - Throws: ``MetricsError/tooFewSamples(count:needed:what:)`` when a set has fewer than
    ///   `subsetSize` vectors or `subsetSize` < 2.
    public init(
        _ first: [Float], count firstCount: Int, _ second: [Float], count secondCount: Int, dimension: Int,
        subsets: Int = defaultSubsets, subsetSize: Int = defaultSubsetSize, seed: UInt32 = defaultSeed
    ) throws {
        precondition(
            first.count == firstCount * dimension && second.count == secondCount * dimension && dimension > 0,
            "KernelInceptionDistance: \(first.count) and \(second.count) values are not \(firstCount) and \(secondCount) × \(dimension)")
        precondition(subsets >= 1, "KernelInceptionDistance: subsets \(subsets) must be at least 1")
        let smaller = min(firstCount, secondCount)
        guard subsetSize >= 2, smaller >= subsetSize else {
            throw MetricsError.tooFewSamples(
                count: min(smaller, max(subsetSize, 2) - 1), needed: max(subsetSize, 2), what: "KID with subsets of \(subsetSize)")
        }
        var random = NumPyRandomState(seed: seed)
        var values: [Double] = []
        for _ in 0..<subsets {
            let x = Self.rows(first, random.choice(firstCount, size: subsetSize), dimension)
            let y = Self.rows(second, random.choice(secondCount, size: subsetSize), dimension)
            values.append(Self.unbiasedMMD2(x, y, m: subsetSize, dimension: dimension))
        }
        let mean = values.reduce(0, +) / Double(subsets)
        self.mean = mean
        self.standardDeviation = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(subsets)).squareRoot()
        self.subsets = subsets
        self.subsetSize = subsetSize
    }

    /// The chosen rows, widened to Float64.
    static func rows(_ features: [Float], _ indices: [Int], _ dimension: Int) -> [Double] {
        var out = [Double](repeating: 0, count: indices.count * dimension)
        for (r, index) in indices.enumerated() {
            for j in 0..<dimension { out[r * dimension + j] = Double(features[index * dimension + j]) }
        }
        return out
    }

    /// MMD²ᵤ of two m-row subsets (torch-fidelity's `mmd2` with `mmd_est="unbiased"`).
    static func unbiasedMMD2(_ x: [Double], _ y: [Double], m: Int, dimension: Int) -> Double {
        let gamma = 1 / Double(dimension)
        func kernelSums(_ a: [Double], _ b: [Double]) -> (all: Double, diagonal: Double) {
            let gram = LinearAlgebra.multiply(a, b, m: m, n: m, k: dimension, transposeB: true)
            var all = 0.0, diagonal = 0.0
            for i in 0..<m {
                for j in 0..<m {
                    let t = gram[i * m + j] * gamma + 1
                    let k = t * t * t
                    all += k
                    if i == j { diagonal += k }
                }
            }
            return (all, diagonal)
        }
        let xx = kernelSums(x, x), yy = kernelSums(y, y), xy = kernelSums(x, y)
        let mm = Double(m)
        return (xx.all - xx.diagonal + yy.all - yy.diagonal) / (mm * (mm - 1)) - 2 * xy.all / (mm * mm)
    }
}
