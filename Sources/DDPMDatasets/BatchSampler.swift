// Shuffled epochs and mini-batches keyed by position: batch s of size B is a pure function of
// (seed, s, B), so a resumed run or a batch split across workers sees the same examples.
import DDPMTensors

/// One mini-batch.
public struct Batch {
    /// `[B, C, H, W]` images in [−1, 1] ({0, 1} when binarised) or `[B, D]` points, Float32.
    public var data: Tensor
    /// Class labels of the examples, when the dataset has them.
    public var labels: [Int]?
    /// The dataset indices of the examples, in batch order.
    public var indices: [Int]
    /// Whether each example was mirrored left–right.
    public var flipped: [Bool]
}

/// The stream of training examples: epoch after epoch, each a random permutation of all examples
/// (Fisher–Yates), optionally with a random horizontal flip per example.
///
/// Position g of the stream lies in epoch e = g / N at place p = g mod N (N examples). Epoch e's
/// permutation is drawn from the generator keyed (e, 0) under `seed`, and the flip of place p
/// from the one keyed (e, p + 1) under `seed`, so no state is carried from one batch to the next:
/// every example appears exactly once per epoch, batches that straddle two epochs are completed
/// from the next one, and the examples at positions g₀..<g₁ are the same however the positions are
/// grouped into calls (batch s of size B is positions sB..<(s + 1)B).
public struct BatchSampler {
    /// The examples the stream runs through.
    public let dataset: Dataset
    /// The key of every permutation and flip (a training run passes its `dataOrder` stream's seed).
    public let seed: UInt64
    /// Whether images are flipped at random (each example with probability ½ per epoch; points never).
    public let randomFlips: Bool
    /// The permutation of the most recent epoch asked for.
    private var cached: (epoch: Int, order: [Int])?

    /// The stream over `dataset` keyed by `seed`; `randomFlips` mirrors each image with probability ½
    /// per epoch (DDPM used random flips for CIFAR-10). `dataset` must not be empty.
    public init(dataset: Dataset, seed: UInt64, randomFlips: Bool = false) {
        precondition(dataset.count > 0, "BatchSampler: dataset \(dataset.name) is empty")
        self.dataset = dataset
        self.seed = seed
        self.randomFlips = randomFlips
    }

    /// Epoch `epoch`'s permutation of 0..<N.
    private mutating func order(ofEpoch epoch: Int) -> [Int] {
        if let cached, cached.epoch == epoch { return cached.order }
        var generator = PhiloxGenerator(seed: seed, key: (UInt64(epoch), 0))
        var order = Array(0..<dataset.count)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, generator.nextInt(below: i + 1))
        }
        cached = (epoch, order)
        return order
    }

    /// The example indices and flips at stream positions `positions`.
    public mutating func examples(at positions: Range<Int>) -> (indices: [Int], flips: [Bool]) {
        precondition(positions.lowerBound >= 0, "BatchSampler.examples: negative position \(positions.lowerBound)")
        let n = dataset.count
        var indices: [Int] = [], flipped: [Bool] = []
        indices.reserveCapacity(positions.count)
        for g in positions {
            let (epoch, place) = g.quotientAndRemainder(dividingBy: n)
            indices.append(order(ofEpoch: epoch)[place])
            var flip = false
            if randomFlips && dataset.isImages {
                var generator = PhiloxGenerator(seed: seed, key: (UInt64(epoch), UInt64(place) + 1))
                flip = generator.next() & 1 == 1
            }
            flipped.append(flip)
        }
        return (indices, flipped)
    }

    /// The examples at stream positions `positions` as a batch (see `Dataset.batch(indices:flips:)`).
    /// - Throws: `ImagingError` naming an image file that cannot be decoded.
    public mutating func batch(at positions: Range<Int>) throws -> Batch {
        let (indices, flipped) = examples(at: positions)
        return Batch(
            data: try dataset.batch(indices: indices, flips: flipped), labels: dataset.labels(at: indices),
            indices: indices, flipped: flipped)
    }

    /// Batch `step` (0-based) of `size` examples: positions step·size..<(step + 1)·size.
    /// - Throws: `ImagingError` naming an image file that cannot be decoded.
    public mutating func batch(step: Int, size: Int) throws -> Batch {
        precondition(step >= 0 && size > 0, "BatchSampler.batch: step \(step) and size \(size) must be ≥ 0 and > 0")
        let (start, overflow) = step.multipliedReportingOverflow(by: size)
        precondition(!overflow, "BatchSampler.batch: step \(step) × size \(size) overflows")
        return try batch(at: start..<(start + size))
    }
}
