// Broadcasting (numpy rules) and the strided iteration plan shared by binary ops and reductions.

/// The shape two operands broadcast to (numpy rules: align trailing dimensions; an extent of 1
/// stretches), or nil when they are incompatible.
///
/// For example `[4, 1, 3]` and `[5, 1]` broadcast to `[4, 5, 3]`; `[2, 3]` and `[4]` do not.
/// The arithmetic operators of ``Tensor`` broadcast this way, and their gradients sum back over
/// the stretched dimensions.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        if x == y || y == 1 { out[i] = x } else if x == 1 { out[i] = y } else { return nil }
    }
    return out
}

/// Row-major strides of `shape`.
@usableFromInline
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = s
        s *= shape[i]
    }
    return strides
}

/// How to walk an output of `shape` while reading operands through their own strides
/// (0 along broadcast dimensions). Adjacent dimensions that are contiguous for every operand are
/// merged, so the common cases become one long inner loop.
struct StridedPlan {
    var shape: [Int]
    var strides: [[Int]]  // per operand

    init(outputShape: [Int], operandShapes: [[Int]]) {
        let rank = outputShape.count
        var operandStrides: [[Int]] = operandShapes.map { s in
            let padded = [Int](repeating: 1, count: rank - s.count) + s
            let c = contiguousStrides(padded)
            return (0..<rank).map { padded[$0] == 1 ? 0 : c[$0] }
        }
        // Merge dimension i into i+1 when every operand walks them as one.
        var shape = outputShape
        var i = shape.count - 2
        while i >= 0 {
            let mergeable = operandStrides.allSatisfy { $0[i] == $0[i + 1] * shape[i + 1] }
            if mergeable {
                shape[i + 1] *= shape[i]
                shape.remove(at: i)
                for k in operandStrides.indices { operandStrides[k].remove(at: i) }
            }
            i -= 1
        }
        // Drop extent-1 dimensions (their strides do not matter) but keep at least one.
        var keep = shape.indices.filter { shape[$0] != 1 }
        if keep.isEmpty { keep = [shape.count - 1].filter { $0 >= 0 } }
        self.shape = keep.map { shape[$0] }
        self.strides = operandStrides.map { s in keep.map { s[$0] } }
        if self.shape.isEmpty {
            self.shape = [1]
            self.strides = operandStrides.map { _ in [0] }
        }
    }

    /// Number of rows (all dimensions but the last) and the length of a row.
    var rows: Int { shape.dropLast().reduce(1, *) }
    var rowLength: Int { shape.last! }

    /// Element offset of the start of `row` in operand `k`.
    func offset(row: Int, operand k: Int) -> Int {
        var r = row
        var offset = 0
        for d in stride(from: shape.count - 2, through: 0, by: -1) {
            let i = r % shape[d]
            r /= shape[d]
            offset += i * strides[k][d]
        }
        return offset
    }

    /// Calls `body(row, offset in operand 0, offset in operand 1)` for each row in `range`, with
    /// the offsets computed once per run of rows along the second-to-last dimension and stepped
    /// within it (blocked activations walk [N, C/16, H·W, 16]: rows of 16 in runs of H·W).
    @inline(__always)
    func forEachRow(in range: Range<Int>, _ body: (Int, Int, Int) -> Void) {
        let d = shape.count
        let (run, step0, step1) = d >= 2 ? (shape[d - 2], strides[0][d - 2], strides[1][d - 2]) : (1, 0, 0)
        var r = range.lowerBound
        while r < range.upperBound {
            let first = r - r % run
            let (base0, base1) = (offset(row: first, operand: 0), offset(row: first, operand: 1))
            let end = min(range.upperBound, first + run)
            while r < end {
                body(r, base0 + (r - first) * step0, base1 + (r - first) * step1)
                r += 1
            }
        }
    }
}
