// The errors of the communication layer: each names the rank and says what to do.

/// What went wrong between the processes of a job.
public enum DistributedError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The process was started by an MPI launcher but Open MPI could not be loaded; the text says
    /// why (`dlerror`) and what to install.
    case libraryUnavailable(String)
    /// An MPI call returned an error code (the communicator uses `MPI_ERRORS_RETURN`, so MPI's
    /// errors become this error instead of ending the process).
    case callFailed(function: String, rank: Int, code: Int32, message: String)
    /// A call was given arguments it cannot take (a root outside the job, buffers of different
    /// lengths on different ranks, …); the text names them.
    case invalidArgument(function: String, rank: Int, message: String)
    /// One or more ranks failed a step that every rank takes together (``Communicator/agree(_:)``):
    /// every rank throws this, with the failing ranks' own messages, so the job stops as one.
    case rankFailed(failures: [RankFailure], size: Int)
    /// The ranks' replicas of the model no longer agree: the checksums of `ranks` differ from
    /// rank 0's after `step` steps.
    case replicasDiverged(step: Int, ranks: [Int], size: Int, detail: String)

    /// One rank's failure inside ``Communicator/agree(_:)``.
    public struct RankFailure: Equatable, Sendable {
        /// The rank that failed (0-based, in the world communicator).
        public var rank: Int
        /// That rank's error, as it described it.
        public var message: String

        /// A failure of `rank` with its `message`.
        public init(rank: Int, message: String) {
            self.rank = rank
            self.message = message
        }
    }

    /// The message, naming the rank(s) and saying what to do.
    public var description: String {
        switch self {
        case .libraryUnavailable(let text):
            return text
        case .callFailed(let function, let rank, let code, let message):
            return "rank \(rank): \(function) failed with MPI error \(code) (\(message)). The job cannot continue; "
                + "check that every rank runs the same command, then resume from the last checkpoint."
        case .invalidArgument(let function, let rank, let message):
            return "rank \(rank): \(function): \(message)"
        case .rankFailed(let failures, let size):
            if failures.count == size, size > 1, Set(failures.map(\.message)).count == 1 {
                return "every rank (\(size) of \(size)): \(failures[0].message)"
            }
            let lines = failures.map { "rank \($0.rank) of \(size): \($0.message)" }
            return lines.joined(separator: "\n") + (failures.count > 1 ? "\n(\(failures.count) ranks failed.)" : "")
        case .replicasDiverged(let step, let ranks, let size, let detail):
            return "after step \(step) the model of rank\(ranks.count > 1 ? "s" : "") \(ranks.map(String.init).joined(separator: ", ")) "
                + "(of \(size)) differs from rank 0's (\(detail)). The ranks no longer train the same model: check that they run the "
                + "same build with the same --threads on the same kind of CPU, then resume from the last checkpoint."
        }
    }
}
