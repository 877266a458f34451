// Gradients summed over ranks in buckets while the backward pass is still running (as PyTorch's
// DistributedDataParallel does): the last layers' gradients travel while the first layers' are computed.
import DDPMDistributed
import DDPMTensors

/// A flat Float32 buffer of every parameter's gradient, cut into buckets that are summed over the
/// ranks (`MPI_Iallreduce`) as soon as the backward pass has finished all of a bucket's gradients.
///
/// Layout: the gradients lie in `network.namedParameters` order; bucket 0 holds the last
/// parameters (the output layers, whose gradients the backward pass finishes first) up to 1 MiB,
/// bucket 1 the ones before, and so on, each at least `bucketBytes` long except the last. The buckets are
/// started strictly in this order on every rank (MPI needs the same collectives in the same order
/// everywhere); a bucket whose gradients are all ready waits for the ones before it. The buckets
/// depend on the parameter list alone, so every rank cuts the same ones.
///
/// Each element is summed over the ranks as one all-reduce would sum it, so bucketing changes
/// nothing in the result: with 2 ranks every rank gets a + b exactly.
final class GradientBuckets {
    let communicator: Communicator
    /// The parameters' shapes and their offsets in `buffer`.
    let shapes: [[Int]]
    let offsets: [Int]
    /// Parameter index ranges, in the order the buckets are started (last parameters first).
    let buckets: [Range<Int>]
    private let bucketOfParameter: [Int]
    private let buffer: UnsafeMutableBufferPointer<Float>
    private var missing: [Int] = []
    private var nextToStart = 0
    private var pending: [Communicator.PendingReduction] = []
    private var failure: (any Error)?
    /// How many buckets of the last step were started while gradients were still coming in
    /// (before `finish()`): the overlap of communication with the backward pass.
    private(set) var startedDuringBackward = 0

    /// The first bucket's size limit: 1 MiB, as PyTorch DDP's first bucket, so that the first
    /// message leaves as soon as the output layers' gradients are done.
    static let firstBucketBytes = 1 << 20

    /// Buckets of at least `bucketBytes` (the first cut at 1 MiB) for parameters of `shapes` (in
    /// `namedParameters` order).
    init(shapes: [[Int]], bucketBytes: Int, communicator: Communicator) {
        precondition(bucketBytes > 0, "GradientBuckets: bucketBytes must be positive, got \(bucketBytes)")
        self.communicator = communicator
        self.shapes = shapes
        var offsets: [Int] = [], total = 0
        for shape in shapes {
            offsets.append(total)
            total += shape.reduce(1, *)
        }
        self.offsets = offsets
        buffer = .allocate(capacity: max(total, 1))
        buffer.initialize(repeating: 0)
        var buckets: [Range<Int>] = []
        var upper = shapes.count, bytes = 0
        for index in stride(from: shapes.count - 1, through: 0, by: -1) {
            bytes += shapes[index].reduce(1, *) * MemoryLayout<Float>.size
            let limit = buckets.isEmpty ? min(bucketBytes, Self.firstBucketBytes) : bucketBytes
            if bytes >= limit || index == 0 {
                buckets.append(index..<upper)
                upper = index
                bytes = 0
            }
        }
        self.buckets = buckets
        var bucketOfParameter = [Int](repeating: 0, count: shapes.count)
        for (b, range) in buckets.enumerated() { for i in range { bucketOfParameter[i] = b } }
        self.bucketOfParameter = bucketOfParameter
    }

    deinit { buffer.deallocate() }

    /// Prepares for the next step's gradients.
    func begin() {
        missing = buckets.map(\.count)
        nextToStart = 0
        startedDuringBackward = 0
        pending = []
        failure = nil
    }

    /// Takes parameter `index`'s finished gradient: copies it into the buffer, starts every bucket
    /// that is now complete and next in line, and lets the started ones move on (`MPI_Testall`).
    func ready(_ index: Int, _ gradient: Tensor) {
        guard failure == nil else { return }
        precondition(
            gradient.dtype == .float32 && gradient.shape == shapes[index],
            "GradientBuckets: gradient \(index) is \(gradient.dtype) \(gradient.shape), expected float32 \(shapes[index])")
        gradient.withUnsafeBufferPointer(as: Float.self) { source in
            _ = UnsafeMutableBufferPointer(rebasing: buffer[offsets[index]..<offsets[index] + source.count]).update(fromContentsOf: source)
        }
        missing[bucketOfParameter[index]] -= 1
        do {
            try startReadyBuckets()
            for reduction in pending { _ = try reduction.test() }
        } catch { failure = error }
    }

    private func startReadyBuckets() throws {
        while nextToStart < buckets.count, missing[nextToStart] == 0 {
            let range = buckets[nextToStart]
            let lower = offsets[range.lowerBound]
            let upper = range.upperBound < offsets.count ? offsets[range.upperBound] : offsets.last! + shapes.last!.reduce(1, *)
            pending.append(try communicator.startAllReduceSum(UnsafeMutableBufferPointer(rebasing: buffer[lower..<upper])))
            nextToStart += 1
        }
    }

    /// Waits for every bucket and returns the summed gradients, one tensor per parameter.
    /// - Throws: the first error of an MPI call made while the gradients were coming in.
    func finish() throws -> [Tensor] {
        if let failure { throw failure }
        precondition(missing.allSatisfy { $0 == 0 }, "GradientBuckets.finish: gradients missing from buckets \(missing)")
        startedDuringBackward = nextToStart
        try startReadyBuckets()
        for reduction in pending { try reduction.wait() }
        pending = []
        return shapes.indices.map { i in
            let count = shapes[i].reduce(1, *)
            return Tensor(Array(buffer[offsets[i]..<offsets[i] + count]), shape: shapes[i])
        }
    }
}
