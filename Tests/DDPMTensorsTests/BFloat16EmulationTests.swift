import DDPMTensors
import Testing

@Suite(.serialized, .enabled(if: CPUFeatures.hasBFloat16, "the CPU has avx512_bf16")) struct BFloat16EmulationTests {
    /// One convolution and one batched matmul: under BFloat16 the Float32 kernels equal the Float64
    /// reference with rounded factors up to Float32 summation (|Δ| ≤ γₙ·Σ|x̃||w̃| with n the
    /// reduction length, x̃ and w̃ the rounded factors), where the unrounded reference differs by
    /// the BFloat16 rounding itself (≥ 100 times more here).
    @Test func kernelsEqualTheReferenceWithRoundedFactors() {
        var g = PhiloxGenerator(seed: 8)
        DNNLConvolution.defaultPrecision = .bfloat16
        defer { DNNLConvolution.defaultPrecision = .float32 }
        let x = Tensor.randomNormal(shape: [2, 16, 6, 6], dtype: .float64, generator: &g)
        let w = Tensor.randomNormal(shape: [32, 16, 3, 3], dtype: .float64, generator: &g)
        let q = Tensor.randomNormal(shape: [3, 20, 16], dtype: .float64, generator: &g)
        let k = Tensor.randomNormal(shape: [3, 20, 16], dtype: .float64, generator: &g)
        let cases: [(name: String, n: Int, compute: (DType) -> Tensor, absolute: () -> Tensor)] = [
            (
                "convolution", 144, { conv2d(x.converted(to: $0), weight: w.converted(to: $0), padding: Padding2D(1)) },
                { conv2d(x.abs(), weight: w.abs(), padding: Padding2D(1)) }
            ),
            (
                "matmul", 16, { matmul(q.converted(to: $0), k.converted(to: $0), transposeB: true) },
                { matmul(q.abs(), k.abs(), transposeB: true) }
            ),
        ]
        for c in cases {
            let reference = c.compute(.float64).doubles
            let fast = c.compute(.float32).doubles
            let absolute = c.absolute().doubles  // rounded factors too (the same precision setting)
            DNNLConvolution.defaultPrecision = .float32
            let unrounded = c.compute(.float64).doubles
            DNNLConvolution.defaultPrecision = .bfloat16
            let gamma = Double(c.n) * 0x1p-24 / (1 - Double(c.n) * 0x1p-24)
            for i in reference.indices {
                #expect(Swift.abs(fast[i] - reference[i]) <= gamma * absolute[i] * 1.01 + 1e-12, "\(c.name) [\(i)]")
            }
            let roundingEffect = zip(reference, unrounded).map { Swift.abs($0 - $1) }.max()!
            let residual = zip(reference, fast).map { Swift.abs($0 - $1) }.max()!
            #expect(roundingEffect >= 100 * residual, "\(c.name): rounding \(roundingEffect), residual \(residual)")
        }
    }

    /// Factors round to the nearest BFloat16 with ties to even, in oneDNN and in the reference
    /// alike: a 1×1 convolution with weight 1 returns its input rounded.
    @Test func factorsRoundToNearestEven() {
        DNNLConvolution.defaultPrecision = .bfloat16
        defer { DNNLConvolution.defaultPrecision = .float32 }
        let inputs: [Double] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, -(1 + 0x1p-8), 1 + 0x1p-9, 1 + 0x1p-8 + 0x1p-20]
        let expected: [Double] = [1, 1 + 0x1p-6, -1, 1, 1 + 0x1p-7]
        for dtype in [DType.float64, .float32] {
            let x = Tensor(inputs, shape: [1, 1, 1, inputs.count], dtype: dtype)
            let y = conv2d(x, weight: Tensor([1], shape: [1, 1, 1, 1], dtype: dtype)).doubles
            #expect(y == expected, "\(dtype)")
        }
    }
}
