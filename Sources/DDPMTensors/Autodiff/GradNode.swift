// A node of the define-by-run gradient graph: the primitive that made a tensor and its inputs.
import Synchronization

/// The record of one differentiable operation.
///
/// Each tensor produced while gradients are recorded holds its node; a node holds its inputs'
/// nodes and the values its derivative needs (`primitive`). The graph lives exactly as long as the
/// tensors that refer to it, and `gradients(of:withRespectTo:)` releases each node's saved values
/// as soon as its derivative has been applied, so backward frees memory as it goes.
public final class GradNode {
    /// The operation and its saved values; `nil` for leaves and for nodes already differentiated.
    var primitive: Primitive?
    /// Input nodes, in the order of the primitive's operands (`nil` where no gradient is needed).
    var inputs: [GradNode?]
    let shape: [Int]
    let dtype: DType
    let isLeaf: Bool

    init(primitive: Primitive, inputs: [GradNode?], shape: [Int], dtype: DType) {
        self.primitive = primitive
        self.inputs = inputs
        self.shape = shape
        self.dtype = dtype
        self.isLeaf = false
        GradNode.live.wrappingAdd(1, ordering: .relaxed)
    }

    init(leafShape shape: [Int], dtype: DType) {
        self.primitive = nil
        self.inputs = []
        self.shape = shape
        self.dtype = dtype
        self.isLeaf = true
        GradNode.live.wrappingAdd(1, ordering: .relaxed)
    }

    deinit { GradNode.live.wrappingAdd(-1, ordering: .relaxed) }

    private static let live = Atomic<Int>(0)

    /// Number of graph nodes alive in the process (tests check that it returns to its start after
    /// a training step, i.e. that no graph outlives its backward pass).
    public static var liveCount: Int { live.load(ordering: .relaxed) }
}

/// Whether operations record the gradient graph in the current task (a task-local value;
/// ``withoutGradients(_:)`` switches it off for a closure).
public enum GradientMode {
    @TaskLocal static var isRecording = true

    /// Whether operations currently record gradients: true unless inside ``withoutGradients(_:)``.
    public static var isEnabled: Bool { isRecording }
}

/// Runs `body` without recording any gradient graph: tensors it makes carry no node, so memory
/// stays flat however long it runs (sampling, evaluation, optimiser updates).
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientMode.$isRecording.withValue(false, operation: body)
}

extension Tensor {
    /// Attaches a graph node for `primitive` to `self` if recording and any input needs a gradient.
    @usableFromInline
    mutating func record(_ primitive: @autoclosure () -> Primitive, inputs: [Tensor]) {
        guard GradientMode.isRecording, inputs.contains(where: { $0.node != nil }) else { return }
        node = GradNode(primitive: primitive(), inputs: inputs.map(\.node), shape: shape, dtype: dtype)
    }
}
