// Plain reference kernel for (batched) row-major matrix multiplication.

extension ReferenceKernels {
    /// C[b] = op(A[b]) · op(B[b]) for b in 0..<batch, all row-major and contiguous.
    ///
    /// op(A) is M×K: A is stored M×K, or K×M when `transposeA`. op(B) is K×N: B is stored K×N,
    /// or N×K when `transposeB`. C is M×N and is overwritten.
    public static func matmul<T: TensorScalar>(
        _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
        m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, batch: Int = 1
    ) {
        for batchIndex in 0..<batch {
            let a = a + batchIndex * m * k
            let b = b + batchIndex * k * n
            let c = c + batchIndex * m * n
            for i in 0..<m {
                for j in 0..<n {
                    var sum: T = 0
                    for p in 0..<k {
                        let av = transposeA ? a[p * m + i] : a[i * k + p]
                        let bv = transposeB ? b[j * k + p] : b[p * n + j]
                        sum += av * bv
                    }
                    c[i * n + j] = sum
                }
            }
        }
    }
}
