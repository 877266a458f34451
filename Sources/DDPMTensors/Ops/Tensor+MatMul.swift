// Matrix multiplication: 2-D and batched over equal leading dimensions.

/// op(a) · op(b) over the last two dimensions, where op transposes when asked.
///
/// Shapes: a is [..., M, K] ([..., K, M] when `transposeA`), b is [..., K, N] ([..., N, K] when
/// `transposeB`), with equal leading (batch) dimensions; or b is 2-D and shared by every batch
/// element of a (then `transposeA` must be false). The result is [..., M, N].
///
/// Float32 runs on oneDNN (`dnnl_sgemm` for one matrix, a cached batched `dnnl_matmul`
/// primitive for a batch); Float64 on the plain triple loop. Derivatives: for C = op(A)·op(B),
/// ∂op(A) = g·op(B)ᵀ and ∂op(B) = op(A)ᵀ·g, themselves computed with `matmul`. Attention's
/// q·kᵀ is `matmul(q, k, transposeB: true)`; a linear layer's x·Wᵀ is
/// `matmul(x, weight, transposeB: true)`.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.dtype == b.dtype, "matmul: dtypes differ, \(a.dtype) and \(b.dtype)")
    precondition(a.rank >= 2 && b.rank >= 2, "matmul: needs rank ≥ 2, got shapes \(a.shape) and \(b.shape)")
    if b.rank == 2 && a.rank > 2 && !transposeA {
        let lead = Array(a.shape.dropLast())
        let flat = matmul(a.reshaped([-1, a.shape[a.rank - 1]]), b, transposeB: transposeB)
        return flat.reshaped(lead + [flat.shape[1]])
    }
    precondition(
        a.rank == b.rank && a.shape.dropLast(2) == b.shape.dropLast(2),
        "matmul: batch dimensions of \(a.shape) and \(b.shape) differ")
    let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
    let k = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
    let kb = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
    let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
    precondition(
        k == kb, "matmul: inner dimensions differ, shapes \(a.shape)\(transposeA ? "ᵀ" : "") and \(b.shape)\(transposeB ? "ᵀ" : "")")
    let batchShape = Array(a.shape.dropLast(2))
    let batch = batchShape.reduce(1, *)
    var out = Tensor(uninitializedShape: batchShape + [m, n], dtype: a.dtype)
    if k == 0 {
        out = Tensor(zeros: out.shape, dtype: a.dtype)
    } else if out.scalarCount > 0 {
        KernelDispatch.matmul(a, b, &out, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, batch: batch)
    }
    out.record(
        .matmul(
            lhs: b.requiresGradient ? a.detached() : nil, rhs: a.requiresGradient ? b.detached() : nil,
            transposeA: transposeA, transposeB: transposeB),
        inputs: [a, b])
    return out
}
