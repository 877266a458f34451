// Thread count for every kernel: Swift's parallel loops (libdispatch) and oneDNN (OpenMP).
import CDNNL
import Dispatch

/// How many threads the kernels use.
///
/// Swift kernels split work with `DispatchQueue.concurrentPerform`; oneDNN runs on GNU OpenMP.
/// Both follow `ComputeThreads.set(_:)`, so that the two never put more busy threads on the
/// cores than asked for. GNU OpenMP's thread count belongs to the calling thread, so the oneDNN
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
#endif

/// Runs `body` over `0..<count` split into contiguous chunks, one per thread.
///
/// Chunks smaller than `grain` items are not split further: small problems run inline on the
/// calling thread, so tiny tensors pay no dispatch cost.
@inlinable
public func parallelChunks(_ count: Int, grain: Int = 32_768, _ body: (Range<Int>) -> Void) {
    let threads = min(ComputeThreads.count, max(1, count / max(grain, 1)))
    if threads <= 1 || count <= 0 {
        if count > 0 { body(0..<count) }
        return
    }
    let chunk = (count + threads - 1) / threads
    withoutActuallyEscaping(body) { body in
        let task = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            let start = i * chunk
            let end = min(count, start + chunk)
            if start < end { task.value(start..<end) }
        }
    }
}

/// Carries a value the caller knows to be safe across threads (kernels hand disjoint ranges of
/// one buffer to each thread).
@usableFromInline
struct UncheckedSendable<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @usableFromInline init(_ value: Value) { self.value = value }
}
