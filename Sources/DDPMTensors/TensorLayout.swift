// How a tensor's elements lie in memory: row-major, or oneDNN's channel-blocked nChw16c for activations.

/// The order of a tensor's elements in memory.
///
/// Every API that reads or writes elements (`withUnsafeBufferPointer`, `scalars(as:)`, `floats`,
/// file writers) sees them row-major whatever the layout: a blocked tensor is reordered on the
/// way (into a temporary for reading; in place, for good, before writing). Only kernels that
/// know the blocked layout read it as it is.
public enum TensorLayout: Hashable, Sendable, CustomStringConvertible {
    /// Row-major over the shape: NCHW for images.
    case rowMajor
    /// oneDNN's `nChw16c` for a Float32 image batch [N, C, H, W] with C a multiple of 16: the memory
    /// is [N, C/16, H, W, 16], element (n, c, h, w) at ((n·C/16 + c/16)·H + h)·W·16 + w·16 + c mod 16.
    /// The layout oneDNN's AVX-512 convolutions compute in: a convolution whose input and output are
    /// blocked needs no reorder of its activations, and the package's group norm, elementwise
    /// arithmetic, channel concatenation, dropout and nearest upsampling work on it directly.
    case channelBlocked16

    /// `row-major` or `nChw16c`.
    public var description: String {
        switch self {
        case .rowMajor: "row-major"
        case .channelBlocked16: "nChw16c"
        }
    }

    /// The channel block of ``channelBlocked16``.
    static let block = 16

    /// Whether convolutions write their outputs blocked when they can (Float32, 16·k channels).
    /// On by default; off, every tensor stays row-major (for comparisons and benchmarks).
    nonisolated(unsafe) public static var blockedActivations = true

    /// Whether a tensor of `shape` and `dtype` may be stored blocked.
    static func canBlock(_ shape: [Int], _ dtype: DType) -> Bool {
        dtype == .float32 && shape.count == 4 && shape[1] > 0 && shape[1] % block == 0
    }

    /// The layout a kernel that can write either should give a result of `shape` and `dtype`.
    static func preferred(for shape: [Int], _ dtype: DType) -> TensorLayout {
        blockedActivations && canBlock(shape, dtype) ? .channelBlocked16 : .rowMajor
    }
}

extension Tensor {
    /// The same values in `layout` (this tensor itself when already so), cut from the gradient
    /// graph. Converting to ``TensorLayout/channelBlocked16`` needs a Float32 rank-4 tensor with 16·k
    /// channels (a precondition).
    public func inLayout(_ layout: TensorLayout) -> Tensor {
        if layout == self.layout { return detached() }
        if layout == .channelBlocked16 {
            precondition(
                TensorLayout.canBlock(shape, dtype),
                "Tensor.inLayout: \(dtype) \(shape) cannot be stored nChw16c (Float32 NCHW, 16·k channels)")
        }
        let out = Tensor(uninitializedShape: shape, dtype: dtype, layout: layout)
        DNNLLayoutReorder.reorder(
            from: UnsafeRawPointer(storage.pointer), self.layout, to: out.storage.pointer, layout, shape: shape)
        return out
    }

    /// The row-major values in a fresh buffer handed to `body` (a blocked tensor's reading path).
    @usableFromInline
    func withRowMajorCopy<R>(_ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        let copy = TensorStorage(byteCount: storage.byteCount)
        DNNLLayoutReorder.reorder(from: UnsafeRawPointer(storage.pointer), layout, to: copy.pointer, .rowMajor, shape: shape)
        return try withExtendedLifetime(copy) { try body(UnsafeRawPointer(copy.pointer)) }
    }

    /// Makes this tensor row-major in place (a blocked tensor's writing path).
    @usableFromInline
    mutating func makeRowMajor() {
        storage = inLayout(.rowMajor).storage
        layout = .rowMajor
    }
}

extension Tensor {
    /// Calls `body` with the elements as they lie in memory, in ``layout`` (no reorder): for
    /// kernels that know the layout, and for elementwise work that does not depend on it.
    func withUnsafeStoredElements<T: TensorScalar, R>(as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R) rethrows -> R {
        precondition(T.dtype == dtype, "Tensor: elements are \(dtype), not \(T.dtype)")
        return try body(UnsafeBufferPointer(start: storage.pointer.assumingMemoryBound(to: T.self), count: scalarCount))
    }

    /// Calls `body` with mutable elements as they lie in memory (no reorder), copying a shared
    /// storage first as ``withUnsafeMutableBufferPointer(as:_:)`` does.
    mutating func withUnsafeMutableStoredElements<T: TensorScalar, R>(
        as type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
    ) rethrows -> R {
        precondition(T.dtype == dtype, "Tensor: elements are \(dtype), not \(T.dtype)")
        recomputation = nil
        if !isKnownUniquelyReferenced(&storage) {
            let copy = TensorStorage(byteCount: storage.byteCount)
            copy.pointer.copyMemory(from: storage.pointer, byteCount: storage.byteCount)
            storage = copy
        }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer.assumingMemoryBound(to: T.self), count: scalarCount))
    }

    /// Where an operand of a blocked result of `outShape` ([N, C, H, W], walked as [N, C/16, H, W, 16])
    /// finds its elements: its shape in that walk (extent 1 where it is broadcast), or nil when its
    /// memory cannot be walked so (a row-major operand that varies along channels and positions).
    func blockedWalk(outShape: [Int]) -> [Int]? {
        guard rank <= 4 else { return nil }
        let padded = [Int](repeating: 1, count: 4 - rank) + shape
        let blocks = outShape[1] / TensorLayout.block
        if layout == .channelBlocked16 { return [padded[0], blocks, padded[2], padded[3], TensorLayout.block] }
        if padded[1] == 1 { return [padded[0], 1, padded[2], padded[3], 1] }
        if padded[2] == 1 && padded[3] == 1 { return [padded[0], blocks, 1, 1, TensorLayout.block] }
        return nil
    }
}
