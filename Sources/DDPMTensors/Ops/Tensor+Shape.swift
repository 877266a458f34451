// Reshape, broadcast, permute, concatenate, split and slice.

extension Tensor {
    /// The same elements, row-major, under another shape with the same element count (no copy:
    /// the storage is shared, except that a blocked tensor is reordered to row-major unless the
    /// shape stays the same). One extent may be -1, inferred from the others.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && scalarCount % known == 0, "reshape: cannot infer -1 in \(newShape) for shape \(shape)")
            target[inferred] = scalarCount / known
        }
        precondition(
            target.allSatisfy { $0 >= 0 } && target.reduce(1, *) == scalarCount,
            "reshape: shape \(shape) (\(scalarCount) elements) cannot become \(newShape)")
        var out =
            layout == .rowMajor || target == shape
            ? Tensor(shape: target, dtype: dtype, storage: storage, layout: target == shape ? layout : .rowMajor)
            : Tensor(shape: target, dtype: dtype, storage: inLayout(.rowMajor).storage)
        out.record(.reshape(inputShape: shape), inputs: [self])
        return out
    }

    /// Expands extent-1 (or missing leading) dimensions to `target` (numpy rules; see
    /// ``broadcastShape(_:_:)``); copies. The derivative sums g back over the stretched dimensions.
    public func broadcast(to target: [Int]) -> Tensor {
        precondition(broadcastShape(shape, target) == target, "broadcast: shape \(shape) cannot broadcast to \(target)")
        if target == shape { return self }
        var out = Tensor(zeros: target, dtype: dtype).binary(.add, self, "broadcast")
        out.record(.broadcast(inputShape: shape), inputs: [self])
        return out
    }

    /// Reorders dimensions: output dimension i is input dimension `axes[i]` (`axes` a permutation
    /// of 0..<rank). Copies into row-major order; e.g. `[0, 2, 1]` turns [N, C, HW] into
    /// [N, HW, C].
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(
            axes.count == rank && Set(axes) == Set(0..<rank),
            "permute: axes \(axes) are not a permutation of 0..<\(rank) for shape \(shape)")
        var out = permutedValues(axes)
        out.record(.permute(axes: axes), inputs: [self])
        return out
    }

    /// The last two dimensions swapped (rank ≥ 2); a copy, as ``permuted(_:)``.
    public func transposed() -> Tensor {
        precondition(rank >= 2, "transposed: needs rank ≥ 2, got shape \(shape)")
        var axes = Array(0..<rank)
        axes.swapAt(rank - 1, rank - 2)
        return permuted(axes)
    }

    func permutedValues(_ axes: [Int]) -> Tensor {
        let outShape = axes.map { shape[$0] }
        var out = Tensor(uninitializedShape: outShape, dtype: dtype)
        if scalarCount == 0 { return out }
        let inStrides = contiguousStrides(shape)
        let readStrides = axes.map { inStrides[$0] }
        func run<T: TensorScalar>(_: T.Type) {
            withUnsafeBufferPointer(as: T.self) { xb in
                out.withUnsafeMutableBufferPointer(as: T.self) { yb in
                    let x = xb.baseAddress!, y = yb.baseAddress!
                    let n = outShape.last ?? 1
                    let inner = readStrides.last ?? 1
                    let rows = scalarCount / max(n, 1)
                    parallelChunks(rows, grain: max(1, 16_384 / max(n, 1))) { range in
                        for r in range {
                            var rem = r
                            var offset = 0
                            for d in stride(from: outShape.count - 2, through: 0, by: -1) {
                                offset += (rem % outShape[d]) * readStrides[d]
                                rem /= outShape[d]
                            }
                            let yr = y + r * n
                            for i in 0..<n { yr[i] = x[offset + i * inner] }
                        }
                    }
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        return out
    }

    /// Joins tensors along `axis` (negative counts from the end); all other extents and the dtypes
    /// must agree. The U-Net joins skip connections to its up path along the channel axis, 1.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate: no tensors")
        let first = tensors[0]
        let axis = axis < 0 ? axis + first.rank : axis
        precondition(axis >= 0 && axis < first.rank, "concatenate: axis \(axis) out of range for shape \(first.shape)")
        for t in tensors {
            precondition(
                t.rank == first.rank && t.dtype == first.dtype
                    && (0..<first.rank).allSatisfy { $0 == axis || t.shape[$0] == first.shape[$0] },
                "concatenate: shapes \(tensors.map(\.shape)) differ outside axis \(axis)")
        }
        var outShape = first.shape
        outShape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        // Blocked inputs joined along channels give a blocked output: the channels of one image
        // are consecutive blocks of H·W·16, so the row-major copy below is right for both layouts.
        let blocked =
            axis == 1 && tensors.contains { $0.layout == .channelBlocked16 }
            && tensors.allSatisfy { TensorLayout.canBlock($0.shape, $0.dtype) }
        let layout: TensorLayout = blocked ? .channelBlocked16 : .rowMajor
        let parts = tensors.map { $0.inLayout(layout) }
        var out = Tensor(uninitializedShape: outShape, dtype: first.dtype, layout: layout)
        let outer = first.shape[..<axis].reduce(1, *)
        let inner = first.shape[(axis + 1)...].reduce(1, *)
        let rowOut = outShape[axis] * inner * first.dtype.byteSize
        var offset = 0
        for t in parts {
            let rowIn = t.shape[axis] * inner * t.dtype.byteSize
            let dst = out.storage.pointer
            let src = t.storage.pointer
            let start = offset
            copyRows(outer, bytesPerRow: rowIn) { o in (dst + o * rowOut + start, src + o * rowIn) }
            offset += rowIn
        }
        out.record(.concatenate(axis: axis, sizes: tensors.map { $0.shape[axis] }), inputs: tensors)
        return out
    }

    /// The elements with index in `range` along `axis` (negative counts from the end). Copies;
    /// the derivative writes g into zeros of the input's shape.
    public func sliced(axis: Int, range: Range<Int>) -> Tensor {
        let axis = axis < 0 ? axis + rank : axis
        precondition(axis >= 0 && axis < rank, "slice: axis \(axis) out of range for shape \(shape)")
        precondition(
            range.lowerBound >= 0 && range.upperBound <= shape[axis],
            "slice: range \(range) out of bounds for extent \(shape[axis]) of shape \(shape)")
        var outShape = shape
        outShape[axis] = range.count
        let layout = keepsBlocks(axis: axis, range: range) ? layout : .rowMajor
        let source = inLayout(layout)
        var out = Tensor(uninitializedShape: outShape, dtype: dtype, layout: layout)
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *) * dtype.byteSize
        let rowIn = shape[axis] * inner
        let rowOut = range.count * inner
        let (dst, src) = (out.storage.pointer, source.storage.pointer + range.lowerBound * inner)
        copyRows(outer, bytesPerRow: rowOut) { o in (dst + o * rowOut, src + o * rowIn) }
        out.record(.slice(axis: axis, range: range, inputShape: shape), inputs: [self])
        return out
    }

    /// Splits along `axis` into pieces of the given extents (which must add up to the axis's
    /// extent), each a ``sliced(axis:range:)``; e.g. a learned-variance network's output
    /// [N, 2C, H, W] into the mean part and the variance part.
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "split: axis \(axis) out of range for shape \(shape)")
        precondition(
            sizes.reduce(0, +) == shape[a] && sizes.allSatisfy { $0 >= 0 },
            "split: sizes \(sizes) do not add up to extent \(shape[a]) of shape \(shape)")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return sliced(axis: a, range: start..<(start + size))
        }
    }

    /// Zeros of `inputShape` with `self` written at `range` along `axis` (adjoint of slicing).
    func padded(into inputShape: [Int], axis: Int, range: Range<Int>) -> Tensor {
        let blocked = keepsBlocks(axis: axis, range: range) && TensorLayout.canBlock(inputShape, dtype)
        let source = blocked ? self : inLayout(.rowMajor)
        var out = Tensor(zeros: inputShape, dtype: dtype)
        if blocked { out.layout = .channelBlocked16 }  // zeros are zeros in every layout
        let outer = inputShape[..<axis].reduce(1, *)
        let inner = inputShape[(axis + 1)...].reduce(1, *) * dtype.byteSize
        let rowOut = inputShape[axis] * inner
        let rowIn = range.count * inner
        let (dst, src) = (out.storage.pointer + range.lowerBound * inner, source.storage.pointer)
        copyRows(outer, bytesPerRow: rowIn) { o in (dst + o * rowOut, src + o * rowIn) }
        return out
    }
}

extension Tensor {
    /// Whether channels `range` along `axis` of this blocked tensor are whole blocks, so that
    /// slicing them copies rows as in row-major memory and keeps the layout.
    fileprivate func keepsBlocks(axis: Int, range: Range<Int>) -> Bool {
        layout == .channelBlocked16 && axis == 1 && range.lowerBound % TensorLayout.block == 0
            && range.count % TensorLayout.block == 0 && !range.isEmpty
    }
}

/// Copies `rows` rows of `bytesPerRow` bytes, row o from `addresses(o).source` to
/// `addresses(o).destination` (rows must not overlap), splitting the rows over threads when there
/// are enough bytes to be worth it (concatenation and slicing copy whole NCHW planes this way).
@inline(__always)
func copyRows(_ rows: Int, bytesPerRow: Int, _ addresses: (Int) -> (destination: UnsafeMutableRawPointer, source: UnsafeMutableRawPointer))
{
    guard bytesPerRow > 0 else { return }
    parallelChunks(rows, grain: max(1, (256 << 10) / bytesPerRow)) { range in
        for o in range {
            let (destination, source) = addresses(o)
            destination.copyMemory(from: source, byteCount: bytesPerRow)
        }
    }
}
