// Deterministic shuffled epochs and mini-batches, with a saveable state so a resumed run sees the same batches.
import Tensors

/// One mini-batch.
public struct Batch {
    /// `[B, C, H, W]` images in [−1, 1] or `[B, D]` points, Float32.
    public var data: Tensor
    /// Class labels of the examples, when the dataset has them.
    public var labels: [Int]?
    /// The dataset indices of the examples, in batch order.
    public var indices: [Int]
    /// Whether each example was mirrored left–right.
    public var flipped: [Bool]
}

/// Draws mini-batches from a dataset: each epoch is a fresh random permutation of all examples
/// (Fisher–Yates, from a `PhiloxGenerator`), optionally with a random horizontal flip per example.
///
/// Batches form one continuous stream: a batch that runs past the end of an epoch is completed
/// from the next epoch's permutation, so every example appears exactly once per epoch and no
/// example is dropped. The permutation and flips of an epoch are drawn at its start, so the
/// whole sampler is described by `State` (epoch, position, generator state at the epoch's start);
/// saving it in a checkpoint and restoring it continues the exact same batch sequence.
public struct BatchSampler {
    /// Everything needed to continue the batch sequence.
    public struct State: Codable, Equatable, Sendable {
        /// Epochs completed so far (0 during the first epoch).
        public var epoch: Int
        /// Examples of the current epoch already handed out.
        public var position: Int
        /// The generator as it was at the start of the current epoch.
        public var epochStart: PhiloxGenerator.State
        /// Whether examples are flipped at random.
        public var randomFlips: Bool
    }

    public let dataset: Dataset
    public private(set) var state: State
    private var generator: PhiloxGenerator
    private var order: [Int] = []
    private var flips: [Bool] = []

    /// A sampler at the start of epoch 0. Flips apply to images only (each example with
    /// probability ½ per epoch); they are drawn even for points, so the stream does not depend on that.
    public init(dataset: Dataset, generator: PhiloxGenerator, randomFlips: Bool = false) {
        precondition(dataset.count > 0, "BatchSampler: dataset \(dataset.name) is empty")
        self.dataset = dataset
        self.generator = generator
        self.state = State(epoch: 0, position: 0, epochStart: generator.state, randomFlips: randomFlips)
        drawEpoch()
    }

    /// A sampler continuing from a saved `state` (the dataset must be the same).
    public init(dataset: Dataset, state: State) {
        precondition(dataset.count > 0, "BatchSampler: dataset \(dataset.name) is empty")
        precondition(state.position >= 0 && state.position <= dataset.count,
                     "BatchSampler: saved position \(state.position) outside 0...\(dataset.count)")
        self.dataset = dataset
        self.generator = PhiloxGenerator(state: state.epochStart)
        self.state = state
        drawEpoch()
    }

    /// The current epoch's permutation and flips, from the generator at the epoch's start.
    private mutating func drawEpoch() {
        state.epochStart = generator.state
        order = Array(0..<dataset.count)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, generator.nextInt(below: i + 1))
        }
        flips = state.randomFlips ? (0..<dataset.count).map { _ in generator.next() & 1 == 1 } : []
    }

    /// The next `size` example indices and flips, moving into new epochs as needed.
    public mutating func nextIndices(size: Int) -> (indices: [Int], flips: [Bool]) {
        precondition(size > 0, "BatchSampler.nextIndices: size must be positive, got \(size)")
        var indices: [Int] = [], flipped: [Bool] = []
        indices.reserveCapacity(size)
        while indices.count < size {
            if state.position == dataset.count {
                state.epoch += 1
                state.position = 0
                drawEpoch()
            }
            indices.append(order[state.position])
            flipped.append(state.randomFlips && dataset.isImages && flips[state.position])
            state.position += 1
        }
        return (indices, flipped)
    }

    /// The next mini-batch of `size` examples (see `Dataset.batch(indices:flips:)` for layout and scaling).
    public mutating func nextBatch(size: Int) -> Batch {
        let (indices, flipped) = nextIndices(size: size)
        return Batch(data: dataset.batch(indices: indices, flips: flipped), labels: dataset.labels(at: indices),
                     indices: indices, flipped: flipped)
    }
}
