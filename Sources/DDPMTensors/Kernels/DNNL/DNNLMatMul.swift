// Fast Float32 (batched) row-major matrix multiplication through oneDNN: dnnl_sgemm and a cached dnnl_matmul primitive.
import CDNNL

/// Row-major matrix multiplication on the CPU through oneDNN, with exactly the semantics of
/// `ReferenceKernels.matmul`.
///
/// One matrix (`batch == 1`) goes to `dnnl_sgemm`, oneDNN's JIT-compiled AVX-512 GEMM, which needs
/// no primitive and no cache. A batch goes to one `dnnl_matmul` primitive (`brg:avx512_core`),
/// created per shape and cached: it splits the batch across threads and runs each product with a
/// kernel generated for that exact shape. Measured on this project's machine (2 threads, release
/// build, machine quiet), GFLOPS of the primitive vs. a loop of `dnnl_sgemm` calls:
/// batch 16 of 256×256×128: 228 vs. 219 (plain), 219 vs. 186 (B transposed, as in Q·Kᵀ);
/// batch 16 of 256×128×256: 231 vs. 206; batch 64 of 64×64×64: 220 vs. 133; batch 8 of
/// 1024×1024×64: 196 vs. 198. The primitive wins or ties everywhere, most on small matrices,
/// where one parallel region per matrix leaves a thread idle. (SGEMM 2048³ in the same
/// conditions: ~220.)
///
/// With `precision` `.bfloat16` (`ddpm --precision bf16`) a batch goes to the primitive with A
/// and B rounded to BFloat16 on the way in (reorders) and C summed and stored in Float32
/// (`brg:avx512_core_bf16`), under the bound stated at ``DNNLConvolution/Precision/bfloat16``
/// with n = K. One matrix stays Float32 in `dnnl_sgemm`: measured in a `fashion` training step
/// (batch 64), the attention products (batches of 196×128·128×196 and 196×196·196×128) take
/// 67 ms in BFloat16 against 113 ms in Float32, but the projections over all 12,544 positions
/// (one 12544×128·128×128 matrix each) took 91 ms in the BFloat16 primitive plus their reorders,
/// and with them there the whole step was slower than with them in SGEMM.
public enum DNNLMatMul {
    /// The precision of the products; the same setting as the convolutions'.
    public typealias Precision = DNNLConvolution.Precision

    private struct Key: Hashable {
        var m, n, k, batch: Int
        var transposeA, transposeB: Bool
        var threads: Int
        var precision: Precision
    }

    private static let plans = DNNLPlanCache<Key>()

    /// C[b] = op(A[b]) · op(B[b]) for b in 0..<batch, all row-major and contiguous.
    ///
    /// op(A) is M×K: A is stored M×K, or K×M when `transposeA`. op(B) is K×N: B is stored K×N,
    /// or N×K when `transposeB`. C is M×N and is overwritten (with zeros when K is 0). Batches are
    /// consecutive: A[b] starts at `a + b·M·K`, B[b] at `b + b·K·N`, C[b] at `c + b·M·N`.
    /// `precision`: Float32 or BFloat16 products; by default the convolutions' ``DNNLConvolution/defaultPrecision``.
    public static func matmul(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, batch: Int = 1,
        precision: Precision = DNNLConvolution.defaultPrecision
    ) {
        matmul(
            a, b, c, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, batch: batch,
            strategy: batch == 1 ? .sgemm : .primitive, precision: productPrecision(batch: batch, precision: precision))
    }

    /// The precision whose products a product of `batch` matrices runs in when `precision` is
    /// asked for: single matrices (the attention projections) stay Float32 SGEMM, measured faster
    /// than BFloat16 there; batches follow `precision`.
    ///
    /// - Parameters:
    ///   - batch: the number of matrices in the product.
    ///   - precision: the precision asked for.
    public static func productPrecision(batch: Int, precision: Precision) -> Precision {
        batch == 1 ? .float32 : precision
    }

    /// How a product is computed: `matmul` picks by batch size; kept as a parameter so the two
    /// can be measured against each other (the figures above).
    enum Strategy { case sgemm, primitive }

    static func matmul(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, batch: Int, strategy: Strategy,
        precision: Precision = .float32
    ) {
        precondition(strategy == .primitive || precision == .float32, "DNNLMatMul.matmul: dnnl_sgemm has no BFloat16")
        precondition(
            m >= 0 && n >= 0 && k >= 0 && batch >= 0,
            "DNNLMatMul.matmul: sizes must not be negative, got m \(m), n \(n), k \(k), batch \(batch)")
        if m == 0 || n == 0 || batch == 0 { return }
        if k == 0 {
            c.update(repeating: 0, count: batch * m * n)
            return
        }
        DNNLEngine.shared.withLock { arena in
            switch strategy {
            case .sgemm:
                for index in 0..<batch {
                    sgemm(
                        a + index * m * k, b + index * k * n, c + index * m * n,
                        m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
                }
            case .primitive:
                let key = Key(
                    m: m, n: n, k: k, batch: batch, transposeA: transposeA, transposeB: transposeB,
                    threads: DNNLEngine.threads, precision: precision)
                let plan = plans.plan(for: key) { makePlan(key) }
                plan.execute(
                    [UnsafeMutableRawPointer(mutating: a), UnsafeMutableRawPointer(mutating: b), UnsafeMutableRawPointer(c)],
                    arena: arena)
            }
        }
    }

    /// One row-major product through `dnnl_sgemm` (its leading dimensions are the stored row lengths).
    private static func sgemm(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool
    ) {
        let status = dnnl_sgemm(
            CChar(UInt8(ascii: transposeA ? "T" : "N")), CChar(UInt8(ascii: transposeB ? "T" : "N")),
            dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), 1,
            a, dnnl_dim_t(transposeA ? m : k), b, dnnl_dim_t(transposeB ? k : n), 0, c, dnnl_dim_t(n))
        DNNLEngine.check(status, "dnnl_sgemm(m \(m), n \(n), k \(k), transposeA \(transposeA), transposeB \(transposeB))")
    }

    /// A `dnnl_matmul` over [batch, M, K] · [batch, K, N], transposes expressed as strides; in
    /// BFloat16, A and B are reordered into BFloat16 copies of the same strides.
    private static func makePlan(_ key: Key) -> DNNLPlan {
        let (m, n, k, batch) = (key.m, key.n, key.k, key.batch)
        let what =
            "matmul(batch \(batch), m \(m), n \(n), k \(k), transposeA \(key.transposeA), transposeB \(key.transposeB)"
            + "\(key.precision == .bfloat16 ? ", bf16" : ""))"
        let low = key.precision == .bfloat16 ? dnnl_bf16 : dnnl_f32
        let srcStrides = key.transposeA ? [m * k, 1, m] : [m * k, k, 1]
        let weightStrides = key.transposeB ? [k * n, 1, k] : [k * n, n, 1]
        let src = dnnlMemoryDesc([batch, m, k], strides: srcStrides, what)
        let weights = dnnlMemoryDesc([batch, k, n], strides: weightStrides, what)
        var lowSrc = dnnlMemoryDesc([batch, m, k], strides: srcStrides, what, type: low)
        var lowWeights = dnnlMemoryDesc([batch, k, n], strides: weightStrides, what, type: low)
        var dst = dnnlMemoryDesc([batch, m, n], strides: [m * n, n, 1], what)
        var desc = dnnl_matmul_desc_t()
        DNNLEngine.check(dnnl_matmul_desc_init(&desc, &lowSrc, &lowWeights, nil, &dst), "dnnl_matmul_desc_init for \(what)")
        let attr = dnnlUserScratchpadAttr(what)
        defer { dnnl_primitive_attr_destroy(attr) }
        var descriptor: dnnl_primitive_desc_t?
        DNNLEngine.check(
            dnnl_primitive_desc_create(&descriptor, &desc, attr, DNNLEngine.shared.engine, nil),
            "dnnl_primitive_desc_create for \(what)")
        let plan = DNNLPlan(descriptor: descriptor!, what: what)
        plan.addArgument(DNNL_ARG_SRC, plain: src, chosen: plan.chosenDesc(dnnl_query_src_md), flow: .input)
        plan.addArgument(DNNL_ARG_WEIGHTS, plain: weights, chosen: plan.chosenDesc(dnnl_query_weights_md), flow: .input)
        plan.addArgument(DNNL_ARG_DST, plain: dst, chosen: plan.chosenDesc(dnnl_query_dst_md), flow: .output)
        return plan
    }

    /// oneDNN's name for the primitive it runs at these sizes (e.g. `brg:avx512_core`, or
    /// `brg:avx512_core_bf16` in BFloat16); creates the plan if needed.
    public static func implementationName(
        m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, batch: Int, precision: Precision = .float32
    ) -> String {
        DNNLEngine.shared.withLock { _ in
            let key = Key(
                m: m, n: n, k: k, batch: batch, transposeA: transposeA, transposeB: transposeB, threads: DNNLEngine.threads,
                precision: precision)
            return plans.plan(for: key) { makePlan(key) }.implementation
        }
    }
}
