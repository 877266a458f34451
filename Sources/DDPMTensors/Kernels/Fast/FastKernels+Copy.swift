// Parallel memory copy: the bandwidth baseline that the fast kernels are measured against.

extension FastKernels {
    /// to[i] = from[i] for i in 0..<count, split over threads in contiguous chunks, each a
    /// `memcpy` (via `copyMemory`). The buffers must not overlap. Used by the benchmarks as the
    /// reference for "bytes read + written per second"; a streaming kernel cannot beat it by much.
    public static func copy(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
        parallelChunks(count, grain: elementwiseGrain) { range in
            (destination + range.lowerBound).update(from: source + range.lowerBound, count: range.count)
        }
    }
}
