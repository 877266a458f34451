// Errors of training, checkpoints and run folders; each message names the file, key or value and
// says what to do.
import Foundation

/// What can go wrong when configuring, training, saving or loading.
public enum TrainingError: Error, Equatable, Sendable {
    /// A setting out of range: its run.json key, the value and the rule.
    case invalidSetting(key: String, message: String)
    /// A file that cannot be read or decoded.
    case invalidFile(path: String, message: String)
    /// The loss or the gradient norm of a step was not finite; nothing was updated.
    case diverged(step: Int, quantity: String, value: Double)
    /// A checkpoint whose files do not belong together.
    case tornCheckpoint(path: String, message: String)
    /// Data that do not fit the model or the process.
    case dataMismatch(String)
}

extension TrainingError: CustomStringConvertible {
    /// The message printed for the error: the file, key or value, and what to do.
    public var description: String {
        switch self {
        case .invalidSetting(let key, let message):
            "\(key): \(message)"
        case .invalidFile(let path, let message):
            "\(path): \(message)"
        case .diverged(let step, let quantity, let value):
            "training diverged at step \(step): the \(quantity) is \(value.isNaN ? "NaN" : "\(value)"). Nothing was updated by this step; "
                + "try a smaller learning rate."
        case .tornCheckpoint(let path, let message):
            "\(path): \(message)"
        case .dataMismatch(let message):
            message
        }
    }
}
