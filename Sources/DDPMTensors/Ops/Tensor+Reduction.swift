// Sums and means over chosen axes, and the reduction that undoes broadcasting.

extension Tensor {
    /// Sums `self` down to `target`, a shape `self` broadcasts from (trailing-aligned); no recording.
    /// This is the adjoint of broadcasting.
    func summed(toShape target: [Int]) -> Tensor {
        if target == shape { return detached() }
        let padded = [Int](repeating: 1, count: rank - target.count) + target
        precondition(
            target.count <= rank && zip(padded, shape).allSatisfy { $0 == $1 || $0 == 1 },
            "sum: cannot reduce shape \(shape) to \(target)")
        var out = Tensor(zeros: target, dtype: dtype)
        if scalarCount == 0 { return out }
        // A blocked tensor summed to a row-major target that its order can walk (a per-channel
        // [N, C, 1, 1], or constant over channels) is read as it lies; otherwise row-major.
        let block = TensorLayout.block
        let walk = layout == .channelBlocked16 ? out.blockedWalk(outShape: shape) : nil
        let source = walk != nil ? self : inLayout(.rowMajor)
        let plan =
            walk.map {
                let full = [shape[0], shape[1] / block, shape[2], shape[3], block]
                return StridedPlan(outputShape: full, operandShapes: [full, $0])
            }
            ?? StridedPlan(outputShape: shape, operandShapes: [shape, target])
        // Rows that each own their output elements (no reduced dimension outside the row) are
        // summed in parallel; otherwise several rows add into the same outputs, in row order.
        let rowsOwnOutputs = plan.strides[1].dropLast().allSatisfy { $0 != 0 }
        func run<T: TensorScalar>(_: T.Type) {
            source.withUnsafeStoredElements(as: T.self) { xb in
                out.withUnsafeMutableBufferPointer(as: T.self) { yb in
                    let x = xb.baseAddress!, y = yb.baseAddress!
                    let n = plan.rowLength
                    let sy = plan.strides[1].last!
                    func rows(_ range: Range<Int>) {
                        plan.forEachRow(in: range) { _, offsetX, offsetY in
                            let (xr, yr) = (x + offsetX, y + offsetY)
                            if sy == 0 {
                                yr[0] += rowSum(xr, count: n)
                            } else {
                                for i in 0..<n { yr[i * sy] += xr[i] }
                            }
                        }
                    }
                    if rowsOwnOutputs {
                        parallelChunks(plan.rows, grain: max(1, 32_768 / max(n, 1))) { rows($0) }
                    } else {
                        rows(0..<plan.rows)
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

    /// Σ x[0..<count] with two SIMD16 accumulators (a scalar floating-point sum is one long
    /// dependency chain and never vectorised), then the lanes and the tail.
    @inline(__always)
    private func rowSum<T: TensorScalar>(_ x: UnsafePointer<T>, count: Int) -> T {
        var a0 = SIMD16<T>(), a1 = SIMD16<T>()
        var i = 0
        while i + 32 <= count {
            a0 += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<T>.self)
            a1 += UnsafeRawPointer(x + i + 16).loadUnaligned(as: SIMD16<T>.self)
            i += 32
        }
        var total = (a0 + a1).sum()
        while i < count {
            total += x[i]
            i += 1
        }
        return total
    }

    /// Shape with the given axes set to 1.
    func keptShape(reducing axes: [Int]) -> [Int] {
        var kept = shape
        for a in axes { kept[a] = 1 }
        return kept
    }

    func normalizedAxes(_ axes: [Int], _ op: String) -> [Int] {
        let result = axes.map { $0 < 0 ? $0 + rank : $0 }
        precondition(result.allSatisfy { $0 >= 0 && $0 < rank }, "\(op): axes \(axes) out of range for shape \(shape)")
        precondition(Set(result).count == result.count, "\(op): repeated axes \(axes) for shape \(shape)")
        return result
    }

    /// Sum over `axes` (negative axes count from the end; no axis twice); the reduced axes are kept
    /// with extent 1 when `keepingDimensions`, else removed. The derivative broadcasts g back to
    /// the input's shape.
    public func sum(axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes, "sum")
        let kept = keptShape(reducing: axes)
        var out = summed(toShape: kept)
        out.record(.sum(inputShape: shape), inputs: [self])
        if keepingDimensions { return out }
        return out.reshaped(shape.indices.filter { !axes.contains($0) }.map { shape[$0] })
    }

    /// Sum of all elements (a rank-0 tensor).
    public func sum() -> Tensor {
        sum(axes: Array(0..<rank))
    }

    /// Mean over `axes`: the sum divided by the number of elements reduced (the reduced axes kept
    /// with extent 1 when `keepingDimensions`, else removed).
    public func mean(axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes, "mean")
        let count = axes.reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepingDimensions: keepingDimensions).scaled(by: 1 / Double(max(count, 1)))
    }

    /// Mean of all elements (a rank-0 tensor).
    public func mean() -> Tensor {
        mean(axes: Array(0..<rank))
    }
}

/// Mean squared error: mean over all elements of (a − b)², a rank-0 tensor.
///
/// With a = ε and b = ε_θ(xₜ, t) this is DDPM's L_simple (eq. 14) averaged over the batch and the
/// pixels. `a` and `b` must have the same shape (no broadcasting).
public func meanSquaredError(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "meanSquaredError: shapes \(a.shape) and \(b.shape) differ")
    return (a - b).squared().mean()
}
