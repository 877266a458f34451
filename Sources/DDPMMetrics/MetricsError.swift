// Errors of the FID/KID metrics: weights files, statistics files, feature sets the distances cannot use.
import Foundation

/// What went wrong computing a metric. `description` says what was found, what was expected and
/// what to do.
public enum MetricsError: Error, CustomStringConvertible, Equatable {
    /// The Inception weights file does not exist.
    case missingWeights(URL)
    /// The weights file is not pytorch-fid's FID Inception (wrong tensors or shapes); `reason` says which.
    case wrongWeights(URL, reason: String)
    /// A statistics file lacks `mu` or `sigma`, or their shapes do not fit together.
    case invalidStatistics(URL, reason: String)
    /// Two feature sets or statistics of different dimensions were compared.
    case dimensionMismatch(Int, Int)
    /// Too few samples for the statistic (covariance needs 2, KID needs 2 per subset).
    case tooFewSamples(count: Int, needed: Int, what: String)
    /// Means or covariances hold NaN or infinite values.
    case nonFinite(String)
    /// The covariances are far from positive semi-definite: the square root of their product has an
    /// imaginary part larger than pytorch-fid tolerates (1e-3).
    case imaginaryComponent(Double)
    /// LAPACK's eigensolver did not converge (its `info` code), even with ε·I added.
    case eigensolverFailed(Int32)

    /// The message for the user.
    public var description: String {
        switch self {
        case let .missingWeights(url):
            return "\(url.path): no such file. The FID Inception weights are pytorch-fid's \(FIDInceptionV3.weightsFileName) "
                + "(\(FIDInceptionV3.weightsByteCount) bytes, SHA-256 \(FIDInceptionV3.weightsSHA256)); download it from "
                + "\(FIDInceptionV3.weightsURL) (torch-fidelity's weights-inception-2015-12-05-6726825d.pth is the same file), "
                + "check it with `sha256sum`, and pass it with --weights (or put it at the default path)."
        case let .wrongWeights(url, reason):
            return "\(url.path): not the FID Inception weights (\(reason)). Use pytorch-fid's \(FIDInceptionV3.weightsFileName) "
                + "(SHA-256 \(FIDInceptionV3.weightsSHA256)) or a safetensors copy of its state_dict; torchvision's ImageNet "
                + "Inception gives FIDs that cannot be compared with published ones."
        case let .invalidStatistics(url, reason):
            return "\(url.path): not a FID statistics file (\(reason)); expected an .npz with mu (D) and sigma (D × D), "
                + "as pytorch-fid's --save-stats and `ddpm fid --save-stats` write."
        case let .dimensionMismatch(a, b):
            return "the feature dimensions differ (\(a) and \(b)); compare statistics of the same Inception layer."
        case let .tooFewSamples(count, needed, what):
            return "\(what) needs at least \(needed) samples, got \(count)."
        case let .nonFinite(what):
            return "\(what) holds NaN or infinite values; the features or the statistics file are damaged."
        case let .imaginaryComponent(value):
            return "the square root of the covariance product has an imaginary component of \(value) (pytorch-fid refuses above 1e-3); "
                + "the covariances are not positive semi-definite — the statistics file is damaged."
        case let .eigensolverFailed(info):
            return "LAPACK's symmetric eigensolver did not converge (info \(info)), even with 1e-6·I added to the covariances."
        }
    }
}
