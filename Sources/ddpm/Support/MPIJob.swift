// Running a command on every rank of an MPI job (`mpirun -np N ddpm …`), or once without MPI: the
// communicator, each rank's threads, and how a failure stops the job.
import ArgumentParser
import DDPMDistributed
import DDPMTensors

/// An error every rank of an MPI job meets alike (the same divergence, an agreed failure): each
/// rank can stop without leaving another waiting, so they finalise MPI instead of aborting.
struct FailureOnEveryRank: Error, CustomStringConvertible {
    let description: String
}

enum MPIJob {
    /// Runs `body` with the job's communicator (``Communicator/singleProcess`` without MPI).
    ///
    /// Under MPI each rank uses its share of the machine's cores unless `threads` was given. An
    /// error that every rank meets alike (``FailureOnEveryRank``, an agreed failure, diverged
    /// replicas) is printed by rank 0 and ends every rank normally with exit code 1; an error only
    /// this rank knows of is printed with the rank's number and ends the whole job at once
    /// (`MPI_Abort`), since the others may be waiting for it in a collective.
    /// `abortNote` is added to the message of a rank-local failure.
    static func run(threads: ComputeOptions, abortNote: String? = nil, _ body: (Communicator) throws -> Void) throws {
        let world = try Communicator.world()
        try threads.apply()
        if threads.threads == nil, world.size > 1 { ComputeThreads.set(world.suggestedThreadCount) }
        guard world.transport != .singleProcess else { return try body(world) }
        do {
            try body(world)
            try world.finalize()
        } catch let exit as ExitCode {
            try? world.finalize()
            throw exit
        } catch {
            let everyRank: Bool
            switch error {
            case is FailureOnEveryRank, DistributedError.rankFailed, DistributedError.replicasDiverged: everyRank = true
            default: everyRank = false
            }
            guard everyRank else {
                writeStandardError(
                    "Error: rank \(world.rank) of \(world.size): \(error)\nStopping every rank of the job (MPI_Abort)"
                        + (abortNote.map { "; \($0)" } ?? ".") + "\n")
                world.abort(exitCode: 1)
            }
            // Rank 0 reports before MPI_Finalize (a fence in Open MPI): no rank has exited yet, so
            // the launcher cannot end the job before the message is out.
            if world.isRoot { writeStandardError("Error: \(error)\n") }
            try? world.finalize()
            throw ExitCode.failure
        }
    }

    /// The batches of a job of `count` examples in batches of `batchSize` that rank `rank` of
    /// `size` computes: batch k (examples k·B ..< min((k+1)·B, count)) goes to rank k mod size, so
    /// every batch holds the same examples whatever the number of ranks.
    static func batches(count: Int, batchSize: Int, rank: Int, size: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: batchSize).enumerated().compactMap { k, first in
            k % size == rank ? first..<min(count, first + batchSize) : nil
        }
    }

    /// Every rank's rows (`rowLength` values each, for the batches ``batches(count:batchSize:rank:size:)``
    /// gave it, in that order) put back in example order on rank 0; nil on the other ranks.
    static func gatherRows(
        _ values: [Float], rowLength: Int, count: Int, batchSize: Int, world: Communicator
    ) throws -> [Float]? {
        guard world.size > 1 else { return values }
        guard let all = try world.gather(values) else { return nil }
        var ordered = [Float](repeating: 0, count: count * rowLength)
        var offset = 0
        for rank in 0..<world.size {
            for batch in batches(count: count, batchSize: batchSize, rank: rank, size: world.size) {
                let length = batch.count * rowLength
                ordered.replaceSubrange(batch.lowerBound * rowLength..<batch.upperBound * rowLength, with: all[offset..<offset + length])
                offset += length
            }
        }
        return ordered
    }
}
