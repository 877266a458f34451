// Tensor: an n-dimensional array with value semantics and an optional place in the gradient graph.

/// An n-dimensional array of `Float` or `Double`, stored contiguously in row-major order.
///
/// - Value semantics: copies share storage until one is mutated (copy-on-write).
/// - Images are **NCHW** (batch, channels, height, width) everywhere in this package; every
///   convolution, normalisation and resampling op says so in its documentation. In memory, a
///   Float32 image batch with 16·k channels may be stored in oneDNN's blocked nChw16c
///   (``layout``, ``TensorLayout``); element access always sees row-major order.
/// - A tensor produced by an operation on tensors that require gradients carries a ``GradNode``,
///   its place in the define-by-run graph that ``gradients(of:withRespectTo:)`` walks backwards.
///
/// ```swift
/// let x = Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])       // float32
/// let w = Tensor(repeating: 0.5, shape: [2, 2]).requiringGradient()
/// let loss = (matmul(x, w) - x).squared().mean()               // rank 0
/// let dw = gradients(of: loss, withRespectTo: [w])[0]          // [2, 2]: ∂loss/∂w
/// ```
public struct Tensor {
    /// Extent of each dimension; `[]` is a scalar.
    public let shape: [Int]
    /// Element type.
    public let dtype: DType
    /// How the elements lie in memory; every element API sees them row-major whatever it is.
    public internal(set) var layout: TensorLayout
    @usableFromInline var storage: TensorStorage
    @usableFromInline var node: GradNode?
    /// How to compute these values again, for a derivative that needs them (see `Recomputation`);
    /// dropped by any write.
    @usableFromInline var recomputation: Recomputation?

    @usableFromInline
    init(shape: [Int], dtype: DType, storage: TensorStorage, layout: TensorLayout = .rowMajor, node: GradNode? = nil) {
        self.shape = shape
        self.dtype = dtype
        self.storage = storage
        self.layout = layout
        self.node = node
    }

    /// A tensor whose elements are not initialised (kernels overwrite every element).
    @usableFromInline
    init(uninitializedShape shape: [Int], dtype: DType, layout: TensorLayout = .rowMajor) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        let count = shape.reduce(1, *)
        self.init(shape: shape, dtype: dtype, storage: TensorStorage(byteCount: count * dtype.byteSize), layout: layout)
    }

    /// Number of elements.
    public var scalarCount: Int { shape.reduce(1, *) }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Whether gradients flow back through this tensor.
    public var requiresGradient: Bool { node != nil }
}

// MARK: - Creation

extension Tensor {
    /// A tensor of `shape` with every element `value` (rounded to `dtype`).
    public init(repeating value: Double, shape: [Int], dtype: DType = .float32) {
        self.init(uninitializedShape: shape, dtype: dtype)
        let n = scalarCount
        switch dtype {
        case .float32: storage.pointer.bindMemory(to: Float.self, capacity: n).update(repeating: Float(value), count: n)
        case .float64: storage.pointer.bindMemory(to: Double.self, capacity: n).update(repeating: value, count: n)
        }
    }

    /// A tensor of `shape` filled with zeros.
    public init(zeros shape: [Int], dtype: DType = .float32) {
        self.init(repeating: 0, shape: shape, dtype: dtype)
    }

    /// A tensor of the given scalars in row-major order; the dtype is the scalars' (`Float` →
    /// `.float32`, `Double` → `.float64`).
    ///
    /// `scalars.count` must equal the product of `shape` (a precondition).
    public init<T: TensorScalar>(_ scalars: [T], shape: [Int]) {
        precondition(
            scalars.count == shape.reduce(1, *),
            "Tensor: \(scalars.count) scalars do not fill shape \(shape)")
        self.init(uninitializedShape: shape, dtype: T.dtype)
        scalars.withUnsafeBufferPointer { source in
            storage.pointer.bindMemory(to: T.self, capacity: source.count)
                .update(from: source.baseAddress!, count: source.count)
        }
    }

    /// A tensor of the given values in row-major order, converted to `dtype` (each rounded once
    /// for `.float32`).
    public init(_ values: [Double], shape: [Int], dtype: DType) {
        switch dtype {
        case .float32: self.init(values.map { Float($0) }, shape: shape)
        case .float64: self.init(values, shape: shape)
        }
    }

    /// A rank-0 tensor (shape `[]`) holding `value`.
    public init(scalar value: Double, dtype: DType = .float32) {
        self.init(repeating: value, shape: [], dtype: dtype)
    }
}

// MARK: - Element access

extension Tensor {
    /// Calls `body` with the elements, row-major, which must be of type `T` (a precondition:
    /// `T.dtype == dtype`). The pointer is valid only inside `body`. A blocked tensor
    /// (``layout`` ``TensorLayout/channelBlocked16``) is reordered into a temporary first.
    @inlinable
    public func withUnsafeBufferPointer<T: TensorScalar, R>(
        as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) rethrows -> R {
        precondition(T.dtype == dtype, "Tensor: elements are \(dtype), not \(T.dtype)")
        if layout != .rowMajor {
            return try withRowMajorCopy { try body(UnsafeBufferPointer(start: $0.assumingMemoryBound(to: T.self), count: scalarCount)) }
        }
        let p = storage.pointer.assumingMemoryBound(to: T.self)
        return try body(UnsafeBufferPointer(start: p, count: scalarCount))
    }

    /// Calls `body` with mutable elements, copying the storage first if it is shared
    /// (copy-on-write), so other tensors holding the old storage keep their values. Writes are not
    /// recorded in the gradient graph. A blocked tensor becomes row-major first.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<T: TensorScalar, R>(
        as type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
    ) rethrows -> R {
        precondition(T.dtype == dtype, "Tensor: elements are \(dtype), not \(T.dtype)")
        if layout != .rowMajor { makeRowMajor() }
        recomputation = nil
        if !isKnownUniquelyReferenced(&storage) {
            let copy = TensorStorage(byteCount: storage.byteCount)
            copy.pointer.copyMemory(from: storage.pointer, byteCount: storage.byteCount)
            storage = copy
        }
        let p = storage.pointer.assumingMemoryBound(to: T.self)
        return try body(UnsafeMutableBufferPointer(start: p, count: scalarCount))
    }

    /// The elements, row-major, as `[T]`; `T` must match `dtype` (a precondition).
    public func scalars<T: TensorScalar>(as type: T.Type) -> [T] {
        withUnsafeBufferPointer(as: T.self) { Array($0) }
    }

    /// The elements, row-major, converted to `Float`.
    public var floats: [Float] {
        switch dtype {
        case .float32: scalars(as: Float.self)
        case .float64: scalars(as: Double.self).map { Float($0) }
        }
    }

    /// The elements, row-major, converted to `Double` (exact for both dtypes).
    public var doubles: [Double] {
        switch dtype {
        case .float32: scalars(as: Float.self).map { Double($0) }
        case .float64: scalars(as: Double.self)
        }
    }

    /// The single element of a one-element tensor (any rank), as `Double`; a loss value, say.
    public var item: Double {
        precondition(scalarCount == 1, "Tensor.item: shape \(shape) has \(scalarCount) elements, not 1")
        return doubles[0]
    }

    /// This tensor's values converted to `dtype`, without gradient history (a detached copy when
    /// the dtype is already `dtype`).
    public func converted(to dtype: DType) -> Tensor {
        if dtype == self.dtype { return detached() }
        return Tensor(doubles, shape: shape, dtype: dtype)
    }

    /// The same values, cut from the gradient graph (a leaf that requires no gradient).
    public func detached() -> Tensor {
        Tensor(shape: shape, dtype: dtype, storage: storage, layout: layout)
    }

    /// The same values as a leaf whose gradient `gradients(of:withRespectTo:)` can return.
    public func requiringGradient() -> Tensor {
        Tensor(shape: shape, dtype: dtype, storage: storage, layout: layout, node: GradNode(leafShape: shape, dtype: dtype))
    }
}

extension Tensor: CustomStringConvertible {
    /// The dtype, the shape and the first 16 elements, e.g. `Tensor(float32, shape: [2], [1.0, 2.0])`.
    public var description: String {
        let values = doubles.prefix(16).map { String($0) }.joined(separator: ", ")
        return "Tensor(\(dtype), shape: \(shape), [\(values)\(scalarCount > 16 ? ", …" : "")])"
    }
}
