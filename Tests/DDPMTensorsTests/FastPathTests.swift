import Testing
import DDPMTensors

/// The Float32 path (oneDNN, vectorised kernels) against the Float64 path (reference kernels),
/// through the public ops and their gradients: checks the dispatch glue, not only the kernels.
@Suite struct FastPathTests {
    /// Runs `f` in both precisions; compares outputs and every input gradient elementwise with
    /// |f32 − f64| ≤ tolerance·(1 + |f64|).
    func compare(_ name: String, _ shapes: [[Int]], tolerance: Double = 2e-4, _ f: ([Tensor]) -> Tensor) {
        let inputs64 = shapes.enumerated().map { testTensor($0.element, seed: UInt64(10 + $0.offset)) }
        func run(_ inputs: [Tensor]) -> ([Double], [[Double]]) {
            let leaves = inputs.map { $0.requiringGradient() }
            let y = f(leaves)
            let weights = testTensor(y.shape, seed: 5).converted(to: y.dtype)
            let grads = gradients(of: (y * weights).sum(), withRespectTo: leaves)
            return (y.doubles, grads.map(\.doubles))
        }
        let (y64, g64) = run(inputs64)
        let (y32, g32) = run(inputs64.map { $0.converted(to: .float32) })
        func check(_ a: [Double], _ b: [Double], _ what: String) {
            let worst = zip(a, b).map { Swift.abs($0 - $1) / (1 + Swift.abs($1)) }.max() ?? 0
            #expect(worst <= tolerance, "\(name) \(what): largest scaled difference \(worst)")
        }
        check(y32, y64, "output")
        for k in g64.indices { check(g32[k], g64[k], "gradient \(k)") }
    }

    @Test(arguments: convCases)
    func conv(_ c: ConvCase) {
        let shapes = [c.input, c.weight] + (c.bias ? [[c.weight[0]]] : [])
        compare(c.description, shapes) { xs in
            conv2d(xs[0], weight: xs[1], bias: c.bias ? xs[2] : nil, stride: c.stride, padding: c.padding)
        }
    }

    @Test func convWithManyChannels() {
        compare("conv 32→48 3×3", [[2, 32, 8, 8], [48, 32, 3, 3], [48]]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], padding: Padding2D(1))
        }
    }

    @Test func matmuls() {
        compare("matmul", [[5, 7], [7, 3]]) { matmul($0[0], $0[1]) }
        compare("batched matmul ᵀ", [[2, 3, 6, 5], [2, 3, 4, 6]]) { matmul($0[0], $0[1], transposeA: true, transposeB: true) }
    }

    @Test func normalisationAndSoftmax() {
        compare("groupNorm", [[3, 8, 5, 5], [8], [8]]) { groupNorm($0[0], groups: 4, gamma: $0[1], beta: $0[2]) }
        compare("softmax", [[4, 33]]) { softmax($0[0] * 3.0, axis: -1) }
        compare("silu", [[3, 100]]) { ($0[0] * 4.0).silu() }
        compare("groupNormSiLU", [[3, 8, 5, 5], [8], [8]]) { groupNormSiLU($0[0] * 3.0, groups: 4, gamma: $0[1], beta: $0[2]) }
    }

    /// The fused op against the composition it replaces, in both precisions, on U-Net-like shapes
    /// (whole groups per thread) and on few large groups (each group split over the threads).
    @Test(arguments: [[2, 64, 8, 8], [1, 4, 256, 256]])
    func groupNormSiLUMatchesComposition(_ shape: [Int]) {
        for dtype in [DType.float32, .float64] {
            let c = shape[1], groups = c / 2
            let inputs = [testTensor(shape, seed: 20, range: -3...5), testTensor([c], seed: 21), testTensor([c], seed: 22)].map {
                $0.converted(to: dtype)
            }
            let seed = testTensor(shape, seed: 23).converted(to: dtype)
            func run(_ f: ([Tensor]) -> Tensor) -> [[Double]] {
                let leaves = inputs.map { $0.requiringGradient() }
                let y = f(leaves)
                return [y.doubles] + gradients(of: (y * seed).sum(), withRespectTo: leaves).map(\.doubles)
            }
            let fused = run { groupNormSiLU($0[0], groups: groups, gamma: $0[1], beta: $0[2]) }
            let plain = run { groupNorm($0[0], groups: groups, gamma: $0[1], beta: $0[2]).silu() }
            let tolerance = dtype == .float32 ? 1e-4 : 1e-10
            for (k, what) in ["output", "dx", "dgamma", "dbeta"].enumerated() {
                let scale = max(1, plain[k].map { Swift.abs($0) }.max() ?? 0)
                let worst = zip(fused[k], plain[k]).map { Swift.abs($0 - $1) }.max() ?? 0
                #expect(worst <= tolerance * scale, "\(shape) \(dtype) \(what): largest difference \(worst) (scale \(scale))")
            }
        }
    }
}
