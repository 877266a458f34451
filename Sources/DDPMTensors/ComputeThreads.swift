// Thread count for every kernel, and the parallel loop of the Swift kernels (on oneDNN's OpenMP team).
import CDNNL

/// How many threads the kernels use.
///
/// oneDNN runs on GNU OpenMP, and the Swift kernels split their work over the same OpenMP team
/// (`parallelChunks`). Both follow `ComputeThreads.set(_:)`, so that they never put more busy
/// threads on the cores than asked for. GNU OpenMP's thread count belongs to the calling thread, so the oneDNN
/// kernels re-apply `count` on whichever thread calls them. The default is the number of active
/// processors.
public enum ComputeThreads {
    nonisolated(unsafe) private static var current = ProcessInfoShim.activeProcessorCount

    /// The number of threads kernels may use.
    public static var count: Int { current }

    /// Sets the number of threads for Swift kernels and for oneDNN.
    public static func set(_ count: Int) {
        precondition(count >= 1, "ComputeThreads.set: thread count must be at least 1, got \(count)")
        current = count
        omp_set_num_threads(Int32(count))
    }
}

enum ProcessInfoShim {
    static var activeProcessorCount: Int {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body` over `0..<count` split into contiguous chunks, one per thread.
///
/// Chunks smaller than `grain` items are not split further: small problems run inline on the
/// calling thread, so tiny tensors pay no dispatch cost.
///
/// The chunks run on GNU OpenMP's thread team, the one oneDNN uses: after a oneDNN call its
/// workers spin for a while waiting for more work, and a second pool (libdispatch) started then
/// would compete with them for the two cores (the notes measured the next Swift loop 1.9× slower).
/// On the same team, the spinning workers pick the chunks up at once instead.
@inlinable
public func parallelChunks(_ count: Int, grain: Int = 32_768, _ body: (Range<Int>) -> Void) {
    let threads = min(ComputeThreads.count, max(1, count / max(grain, 1)))
    if threads <= 1 || count <= 0 {
        if count > 0 { body(0..<count) }
        return
    }
    runOnThreadTeam(count: count, threads: threads, body)
}

/// The chunks of `parallelChunks` on an OpenMP team of `threads` threads.
@usableFromInline
func runOnThreadTeam(count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    let chunk = (count + threads - 1) / threads
    withoutActuallyEscaping(body) { body in
        var job = TeamJob(body: body, count: count, chunk: chunk, pieces: threads)
        withUnsafeMutablePointer(to: &job) { job in
            GOMP_parallel(
                { raw in
                    let job = raw!.assumingMemoryBound(to: TeamJob.self)
                    // The runtime may give fewer threads than asked: each takes every n-th piece.
                    let n = Int(omp_get_num_threads())
                    var piece = Int(omp_get_thread_num())
                    while piece < job.pointee.pieces {
                        let start = piece * job.pointee.chunk
                        let end = min(job.pointee.count, start + job.pointee.chunk)
                        if start < end { job.pointee.body(start..<end) }
                        piece += n
                    }
                }, job, UInt32(threads), 0)
        }
    }
}

/// What each thread of the team needs: the body and how `0..<count` is cut.
private struct TeamJob {
    let body: (Range<Int>) -> Void
    let count: Int
    let chunk: Int
    let pieces: Int
}

/// Carries a value the caller knows to be safe across threads (kernels hand disjoint ranges of
/// one buffer to each thread).
@usableFromInline
struct UncheckedSendable<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @usableFromInline init(_ value: Value) { self.value = value }
}
