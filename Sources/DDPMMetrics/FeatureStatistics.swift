// The mean and covariance of Inception features in Float64 (pytorch-fid's mu and sigma), and their .npz files.
import DDPMNeuralNetworks
import Foundation

/// The statistics FID compares: the mean μ and the covariance Σ of a set of feature vectors, in
/// Float64.
///
/// Σ is `numpy.cov(features, rowvar=False)`: centred, divided by N − 1. pytorch-fid stores them as
/// `mu` (D) and `sigma` (D × D) in an `.npz` file (``read(from:)``, ``write(to:)``).
public struct FeatureStatistics: Equatable, Sendable {
    /// μ, D values.
    public let mean: [Double]
    /// Σ, D × D, row-major and symmetric.
    public let covariance: [Double]
    /// D, the feature dimension (2048 for pool3).
    public let dimension: Int
    /// How many feature vectors the statistics summarise, when known (files do not record it).
    public let count: Int?

    /// Statistics given as they are; `covariance` must have `mean.count`² elements (a precondition).
    public init(mean: [Double], covariance: [Double], count: Int? = nil) {
        precondition(
            covariance.count == mean.count * mean.count,
            "FeatureStatistics: covariance of \(covariance.count) elements for dimension \(mean.count)")
        self.mean = mean
        self.covariance = covariance
        self.dimension = mean.count
        self.count = count
    }

    /// μ and Σ of `count` feature vectors of `dimension` values each (`features` row-major, as
    /// ``FIDInceptionV3`` returns them), in Float64: the mean first, then Σ from the centred
    /// vectors (two passes, so no cancellation from large means), accumulated by OpenBLAS's
    /// `dsyrk` 256 rows at a time.
    /// - Throws: ``MetricsError/tooFewSamples(count:needed:what:)`` for fewer than 2 vectors,
    ///   ``MetricsError/nonFinite(_:)`` when a feature is NaN or infinite.
    public init(features: [Float], count: Int, dimension: Int) throws {
        precondition(
            features.count == count * dimension && dimension > 0,
            "FeatureStatistics: \(features.count) values are not \(count) × \(dimension)")
        guard count >= 2 else { throw MetricsError.tooFewSamples(count: count, needed: 2, what: "a covariance") }
        var mean = [Double](repeating: 0, count: dimension)
        for i in 0..<count {
            for j in 0..<dimension { mean[j] += Double(features[i * dimension + j]) }
        }
        for j in 0..<dimension { mean[j] /= Double(count) }
        guard mean.allSatisfy(\.isFinite) else { throw MetricsError.nonFinite("the features") }
        var covariance = [Double](repeating: 0, count: dimension * dimension)
        let chunk = 256
        var centred = [Double](repeating: 0, count: chunk * dimension)
        for start in stride(from: 0, to: count, by: chunk) {
            let rows = min(chunk, count - start)
            for r in 0..<rows {
                for j in 0..<dimension { centred[r * dimension + j] = Double(features[(start + r) * dimension + j]) - mean[j] }
            }
            centred.withUnsafeBufferPointer { LinearAlgebra.addGram($0.baseAddress!, rows: rows, n: dimension, into: &covariance) }
        }
        LinearAlgebra.symmetrizeFromUpper(&covariance, n: dimension)
        let scale = 1 / Double(count - 1)
        for i in covariance.indices { covariance[i] *= scale }
        self.init(mean: mean, covariance: covariance, count: count)
    }

    /// Reads pytorch-fid statistics: an `.npz` with `mu` (D) and `sigma` (D × D), float64 (float32 is
    /// widened). Other arrays in the file are ignored.
    /// - Throws: `TensorFileError` for an unreadable or malformed file, ``MetricsError/invalidStatistics(_:reason:)``
    ///   when `mu` or `sigma` is missing, not floating point or of shapes that do not fit.
    public static func read(from url: URL) throws -> FeatureStatistics {
        let arrays = try NPZFile.read(url)
        func values(_ name: String) throws -> (shape: [Int], values: [Double]) {
            guard let array = arrays.first(where: { $0.name == name })?.array else {
                throw MetricsError.invalidStatistics(
                    url, reason: "no array \"\(name)\"; the file has \(arrays.map(\.name).joined(separator: ", "))")
            }
            switch array.elements {
            case let .float64(v): return (array.shape, v)
            case let .float32(v): return (array.shape, v.map(Double.init))
            default: throw MetricsError.invalidStatistics(url, reason: "\"\(name)\" is \(array.elements.descr), not floating point")
            }
        }
        let (muShape, mu) = try values("mu"), (sigmaShape, sigma) = try values("sigma")
        guard muShape.count == 1, sigmaShape == [muShape[0], muShape[0]] else {
            throw MetricsError.invalidStatistics(url, reason: "mu has shape \(muShape) and sigma \(sigmaShape); expected (D) and (D, D)")
        }
        return FeatureStatistics(mean: mu, covariance: sigma)
    }

    /// Writes `mu` and `sigma` (float64) to an `.npz` file as `numpy.savez(path, mu=…, sigma=…)` does,
    /// atomically; pytorch-fid and `numpy.load` read it.
    /// - Throws: `TensorFileError.cannotWrite` naming the file.
    public func write(to url: URL) throws {
        try NPZFile.write(
            [
                ("mu", NPYArray(shape: [dimension], elements: .float64(mean))),
                ("sigma", NPYArray(shape: [dimension, dimension], elements: .float64(covariance))),
            ],
            to: url)
    }
}
