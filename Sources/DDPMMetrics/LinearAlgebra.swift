// Float64 dense linear algebra on row-major matrices through OpenBLAS and LAPACKE (Debian): products and symmetric eigendecompositions.
import CLAPACK
import DDPMTensors

/// The few Float64 matrix operations the metrics need, on row-major `[Double]` matrices, each a
/// thin call into OpenBLAS (`cblas_dgemm`, `cblas_dsyrk`) or LAPACK (`LAPACKE_dsyevd`, divide and
/// conquer).
enum LinearAlgebra {
    /// C = A·B (or Aᵀ·B, A·Bᵀ) for A m×k, B k×n, row-major.
    static func multiply(
        _ a: [Double], _ b: [Double], m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false
    ) -> [Double] {
        precondition(
            a.count == m * k && b.count == k * n, "LinearAlgebra.multiply: \(a.count) and \(b.count) elements for \(m)×\(k) · \(k)×\(n)")
        var c = [Double](repeating: 0, count: m * n)
        if m == 0 || n == 0 || k == 0 { return c }
        followComputeThreads()
        cblas_dgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), 1, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n), 0, &c, Int32(n))
        return c
    }

    /// C += Xᵀ·X for X rows×n (row-major), updating the upper triangle of the n×n matrix C only
    /// (`cblas_dsyrk`); ``symmetrizeFromUpper(_:n:)`` fills the rest.
    static func addGram(_ x: UnsafePointer<Double>, rows: Int, n: Int, into c: inout [Double]) {
        precondition(c.count == n * n, "LinearAlgebra.addGram: \(c.count) elements for \(n)×\(n)")
        if rows == 0 || n == 0 { return }
        followComputeThreads()
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(rows), 1, x, Int32(n), 1, &c, Int32(n))
    }

    /// Copies the upper triangle of the n×n matrix into its lower triangle.
    static func symmetrizeFromUpper(_ c: inout [Double], n: Int) {
        for i in 0..<n {
            for j in 0..<i { c[i * n + j] = c[j * n + i] }
        }
    }

    /// The eigenvalues (ascending) of a symmetric n×n matrix, and its eigenvectors when asked for
    /// (row-major, eigenvector i in column i: a = V·diag(λ)·Vᵀ); LAPACK's dsyevd reads the upper triangle.
    /// - Throws: ``MetricsError/eigensolverFailed(_:)`` with LAPACK's `info` when it does not converge.
    static func symmetricEigen(_ a: [Double], n: Int, vectors: Bool) throws -> (values: [Double], vectors: [Double]) {
        precondition(a.count == n * n, "LinearAlgebra.symmetricEigen: \(a.count) elements for \(n)×\(n)")
        var matrix = a
        var values = [Double](repeating: 0, count: n)
        if n == 0 { return ([], []) }
        followComputeThreads()
        let info = LAPACKE_dsyevd(
            LAPACK_ROW_MAJOR, CChar(UInt8(ascii: vectors ? "V" : "N")), CChar(UInt8(ascii: "U")), Int32(n), &matrix, Int32(n), &values)
        guard info == 0 else { throw MetricsError.eigensolverFailed(info) }
        return (values, vectors ? matrix : [])
    }

    /// Gives OpenBLAS's own thread pool `ComputeThreads.count` threads (`--threads`), as oneDNN
    /// and the Swift kernels have: its sums are split, and so rounded, by its thread count, so a
    /// rank of an MPI job and one process with the same `--threads` compute the same bits.
    private static func followComputeThreads() {
        openblas_set_num_threads(Int32(ComputeThreads.count))
    }
}
