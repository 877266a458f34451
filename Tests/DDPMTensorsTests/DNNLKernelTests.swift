// Tests of the oneDNN convolution and matmul kernels against the plain reference kernels.
import Testing
import DDPMTensors

/// A tiny deterministic generator for test inputs (Knuth's MMIX LCG): values in [−1, 1) with 24
/// random bits, so they are exact in Float32.
private struct TestLCG {
    var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }

    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 23) - 1
    }

    mutating func floats(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }

    /// Small integers in −2...2: every product and sum in these tests stays exact in Float32.
    mutating func integers(_ count: Int) -> [Float] { (0..<count).map { _ in Float(Int(next() * 2.5 + 2.5).clamped(0, 4) - 2) } }
}

private extension Comparable {
    func clamped(_ low: Self, _ high: Self) -> Self { min(max(self, low), high) }
}

/// Checks `fast` against `reference` elementwise.
///
/// Tolerance: a Float32 sum of `terms` products, in any order, with or without FMA, is within
/// γ·Σ|products| of the exact sum, γ = terms·u/(1 − terms·u), u = 2⁻²⁴ (Higham, *Accuracy and
/// Stability of Numerical Algorithms*, §3.1). Both kernels obey that bound, so they differ by at most
/// 2γ·Σ|products|; `absolute` is Σ|products|, computed by running the reference kernel on |inputs|
/// (its own rounding is covered by the extra 1%). The bound never fails spuriously, and it still
/// catches one missing or extra tap whenever that tap is larger than 2γ·Σ|products|, i.e. for every
/// reduction length below ~2900 with inputs of similar size — all cases here are below 1000.
///
/// With `bfloat16`, the fast kernel rounds both factors of every product to BFloat16 first (unit
/// roundoff u_b = 2⁻⁸, relative error of a product of rounded factors ≤ 2u_b + u_b²; the product
/// itself is exact in Float32) and sums in Float32, so it is within
/// (2u_b + u_b² + γ(1 + u_b)²)·Σ|products| of the exact sum, and within that plus the reference's
/// own γ·Σ|products| of the reference. One missing tap larger than ~1 % of Σ|products| still fails.
private func expectWithinSummationBound(
    _ fast: [Float], _ reference: [Float], absolute: [Float], terms: Int, bfloat16: Bool = false,
    _ context: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        fast.count == reference.count, "\(context()): \(fast.count) values, expected \(reference.count)", sourceLocation: sourceLocation)
    let u = Double(Float.ulpOfOne) / 2
    let gamma = Double(terms) * u / (1 - Double(terms) * u)
    let ub = bfloat16 ? 1.0 / 256 : 0
    let relative = 2 * ub + ub * ub + gamma * (1 + ub) * (1 + ub) + gamma
    var mismatches: [String] = []
    var count = 0
    for index in 0..<min(fast.count, reference.count) {
        let tolerance = 1.01 * relative * Double(absolute[index])
        let error = abs(Double(fast[index]) - Double(reference[index]))
        if !(error <= tolerance) {
            count += 1
            if mismatches.count < 5 {
                mismatches.append("[\(index)] fast \(fast[index]) reference \(reference[index]) |error| \(error) > \(tolerance)")
            }
        }
    }
    #expect(
        count == 0, "\(context()): \(count) of \(fast.count) values differ; \(mismatches.joined(separator: "; "))",
        sourceLocation: sourceLocation)
}

/// Checks `fast` against `reference` bit for bit (for inputs whose results are exact in Float32).
private func expectExact(
    _ fast: [Float], _ reference: [Float], _ context: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let differing = zip(fast, reference).enumerated().filter { $0.element.0 != $0.element.1 }
    let first = differing.first.map { "first at [\($0.offset)]: fast \($0.element.0), reference \($0.element.1)" } ?? ""
    #expect(
        fast.count == reference.count && differing.isEmpty,
        "\(context()): \(differing.count) of \(reference.count) values differ (\(fast.count) computed); \(first)",
        sourceLocation: sourceLocation)
}

private func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// One convolution problem: inputs, and the three passes through both kernels.
private struct ConvolutionCase {
    let g: Conv2DGeometry
    let algorithm: DNNLConvolution.Algorithm
    let precision: DNNLConvolution.Precision
    let x, w, bias, dy: [Float]

    init(
        _ g: Conv2DGeometry, seed: UInt64, integers: Bool = false, algorithm: DNNLConvolution.Algorithm,
        precision: DNNLConvolution.Precision = .float32
    ) {
        self.g = g
        self.algorithm = algorithm
        self.precision = precision
        var random = TestLCG(seed: seed)
        func values(_ n: Int) -> [Float] { integers ? random.integers(n) : random.floats(n) }
        x = values(count(g.inputShape))
        w = values(count(g.weightShape))
        bias = values(g.outChannels)
        dy = values(count(g.outputShape))
    }

    func forward(fast: Bool, absolute: Bool = false, bias useBias: Bool) -> [Float] {
        let x = absolute ? self.x.map(abs) : self.x
        let w = absolute ? self.w.map(abs) : self.w
        let bias = absolute ? self.bias.map(abs) : self.bias
        var y = [Float](repeating: .nan, count: count(g.outputShape))
        bias.withUnsafeBufferPointer { bias in
            let b = useBias ? bias.baseAddress : nil
            if fast {
                DNNLConvolution.forward(input: x, weight: w, bias: b, output: &y, geometry: g, algorithm: algorithm, precision: precision)
            } else {
                ReferenceKernels.conv2DForward(input: x, weight: w, bias: b, output: &y, geometry: g)
            }
        }
        return y
    }

    func backwardData(fast: Bool, absolute: Bool = false) -> [Float] {
        let dy = absolute ? self.dy.map(abs) : self.dy
        let w = absolute ? self.w.map(abs) : self.w
        var dx = [Float](repeating: .nan, count: count(g.inputShape))
        if fast {
            DNNLConvolution.backwardData(outputGrad: dy, weight: w, inputGrad: &dx, geometry: g, algorithm: algorithm, precision: precision)
        } else {
            ReferenceKernels.conv2DBackwardData(outputGrad: dy, weight: w, inputGrad: &dx, geometry: g)
        }
        return dx
    }

    /// (dw, db); the reference's db is the plain sum of dy over batch and positions.
    func backwardWeights(fast: Bool, absolute: Bool = false, bias useBias: Bool) -> ([Float], [Float]) {
        let x = absolute ? self.x.map(abs) : self.x
        let dy = absolute ? self.dy.map(abs) : self.dy
        var dw = [Float](repeating: .nan, count: count(g.weightShape))
        var db = [Float](repeating: .nan, count: g.outChannels)
        if fast {
            db.withUnsafeMutableBufferPointer { db in
                DNNLConvolution.backwardWeights(
                    input: x, outputGrad: dy, weightGrad: &dw, biasGrad: useBias ? db.baseAddress : nil, geometry: g,
                    algorithm: algorithm, precision: precision)
            }
        } else {
            ReferenceKernels.conv2DBackwardWeights(input: x, outputGrad: dy, weightGrad: &dw, geometry: g)
            let plane = g.outHeight * g.outWidth
            for o in 0..<g.outChannels {
                var sum: Float = 0
                for n in 0..<g.batch {
                    for index in 0..<plane { sum += dy[(n * g.outChannels + o) * plane + index] }
                }
                db[o] = sum
            }
        }
        return (dw, db)
    }
}

/// Geometries covering 1×1, 3×3 and 5×5 kernels, strides 1 and 2, symmetric, asymmetric and no
/// padding, channel counts that are and are not multiples of 16, batches 1–3 and odd image sizes,
/// and one with a U-Net's channel counts. Small enough for a debug build (the reference kernels
/// are plain loops).
private let geometries: [Conv2DGeometry] = [
    // 3×3, stride 1, padding 1 (the U-Net's convolution).
    .init(
        batch: 1, inChannels: 3, outChannels: 16, height: 8, width: 8, kernelHeight: 3, kernelWidth: 3, padTop: 1, padBottom: 1, padLeft: 1,
        padRight: 1),
    .init(
        batch: 2, inChannels: 16, outChannels: 16, height: 8, width: 8, kernelHeight: 3, kernelWidth: 3, padTop: 1, padBottom: 1,
        padLeft: 1, padRight: 1),
    .init(
        batch: 1, inChannels: 32, outChannels: 33, height: 7, width: 9, kernelHeight: 3, kernelWidth: 3, padTop: 1, padBottom: 1,
        padLeft: 1, padRight: 1),
    .init(
        batch: 1, inChannels: 33, outChannels: 32, height: 8, width: 8, kernelHeight: 3, kernelWidth: 3, padTop: 1, padBottom: 1,
        padLeft: 1, padRight: 1),
    .init(
        batch: 3, inChannels: 5, outChannels: 3, height: 7, width: 9, kernelHeight: 3, kernelWidth: 3, padTop: 1, padBottom: 1, padLeft: 1,
        padRight: 1),
    .init(
        batch: 2, inChannels: 128, outChannels: 96, height: 10, width: 10, kernelHeight: 3, kernelWidth: 3, padTop: 1, padBottom: 1,
        padLeft: 1, padRight: 1),
    // 3×3, stride 2, TensorFlow 'SAME' padding (bottom and right only): DDPM's downsampling.
    .init(
        batch: 1, inChannels: 16, outChannels: 16, height: 16, width: 16, kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2,
        padBottom: 1, padRight: 1),
    .init(
        batch: 2, inChannels: 32, outChannels: 32, height: 8, width: 8, kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2,
        padBottom: 1, padRight: 1),
    .init(
        batch: 2, inChannels: 3, outChannels: 5, height: 7, width: 9, kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2,
        padBottom: 1, padRight: 1),
    // 3×3, stride 2, padding 1; unpadded; unequal padding on all sides.
    .init(
        batch: 3, inChannels: 16, outChannels: 16, height: 8, width: 8, kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2,
        padTop: 1, padBottom: 1, padLeft: 1, padRight: 1),
    .init(batch: 2, inChannels: 5, outChannels: 16, height: 7, width: 9, kernelHeight: 3, kernelWidth: 3),
    .init(
        batch: 1, inChannels: 16, outChannels: 5, height: 7, width: 9, kernelHeight: 3, kernelWidth: 3, padTop: 2, padBottom: 0, padLeft: 1,
        padRight: 2),
    // 1×1 (the U-Net's shortcut projections), stride 1 and 2.
    .init(batch: 2, inChannels: 33, outChannels: 32, height: 8, width: 8, kernelHeight: 1, kernelWidth: 1),
    .init(batch: 3, inChannels: 5, outChannels: 3, height: 7, width: 9, kernelHeight: 1, kernelWidth: 1),
    .init(batch: 1, inChannels: 32, outChannels: 16, height: 16, width: 16, kernelHeight: 1, kernelWidth: 1),
    .init(batch: 2, inChannels: 16, outChannels: 33, height: 7, width: 9, kernelHeight: 1, kernelWidth: 1, strideHeight: 2, strideWidth: 2),
    // 5×5, padding 2; stride 2 with 'SAME'-style padding (1, 2, 1, 2).
    .init(
        batch: 1, inChannels: 5, outChannels: 16, height: 16, width: 16, kernelHeight: 5, kernelWidth: 5, padTop: 2, padBottom: 2,
        padLeft: 2, padRight: 2),
    .init(
        batch: 2, inChannels: 16, outChannels: 3, height: 7, width: 9, kernelHeight: 5, kernelWidth: 5, strideHeight: 2, strideWidth: 2,
        padTop: 1, padBottom: 2, padLeft: 1, padRight: 2),
]

/// Both algorithms: Winograd where oneDNN has it (3×3, stride 1 here), and the direct sum.
private let algorithms: [DNNLConvolution.Algorithm] = [.winograd, .direct]

@Suite struct DNNLConvolutionTests {
    @Test(arguments: geometries, [false, true])
    func forwardMatchesReference(geometry g: Conv2DGeometry, bias: Bool) {
        for algorithm in algorithms {
            let c = ConvolutionCase(g, seed: 1, algorithm: algorithm)
            expectWithinSummationBound(
                c.forward(fast: true, bias: bias), c.forward(fast: false, bias: bias),
                absolute: c.forward(fast: false, absolute: true, bias: bias),
                terms: g.inChannels * g.kernelHeight * g.kernelWidth + 1, "\(algorithm) forward\(bias ? " with bias" : "") \(g)")
        }
    }

    @Test(arguments: geometries)
    func backwardDataMatchesReference(geometry g: Conv2DGeometry) {
        for algorithm in algorithms {
            let c = ConvolutionCase(g, seed: 2, algorithm: algorithm)
            expectWithinSummationBound(
                c.backwardData(fast: true), c.backwardData(fast: false), absolute: c.backwardData(fast: false, absolute: true),
                terms: g.outChannels * g.kernelHeight * g.kernelWidth, "\(algorithm) backward data \(g)")
        }
    }

    @Test(arguments: geometries, [false, true])
    func backwardWeightsMatchesReference(geometry g: Conv2DGeometry, bias: Bool) {
        for algorithm in algorithms {
            let c = ConvolutionCase(g, seed: 3, algorithm: algorithm)
            let (dw, db) = c.backwardWeights(fast: true, bias: bias)
            let (referenceDW, referenceDB) = c.backwardWeights(fast: false, bias: bias)
            let (absoluteDW, absoluteDB) = c.backwardWeights(fast: false, absolute: true, bias: bias)
            let terms = g.batch * g.outHeight * g.outWidth
            expectWithinSummationBound(
                dw, referenceDW, absolute: absoluteDW, terms: terms, "\(algorithm) backward weights\(bias ? " with bias" : "") \(g)")
            if bias {
                expectWithinSummationBound(db, referenceDB, absolute: absoluteDB, terms: terms, "\(algorithm) backward bias \(g)")
            }
        }
    }

    /// BFloat16 products (`--precision bf16`), all three passes, within the BFloat16 bound (see
    /// `expectWithinSummationBound`) — and outside the Float32 one, so that the rounding happens.
    @Test(.enabled(if: CPUFeatures.hasBFloat16, "the CPU has avx512_bf16"), arguments: geometries)
    func bfloat16MatchesReferenceWithinItsBound(geometry g: Conv2DGeometry) {
        let c = ConvolutionCase(g, seed: 4, algorithm: .direct, precision: .bfloat16)
        let forwardTerms = g.inChannels * g.kernelHeight * g.kernelWidth + 1
        expectWithinSummationBound(
            c.forward(fast: true, bias: true), c.forward(fast: false, bias: true),
            absolute: c.forward(fast: false, absolute: true, bias: true),
            terms: forwardTerms, bfloat16: true, "bf16 forward \(g)")
        expectWithinSummationBound(
            c.backwardData(fast: true), c.backwardData(fast: false), absolute: c.backwardData(fast: false, absolute: true),
            terms: g.outChannels * g.kernelHeight * g.kernelWidth, bfloat16: true, "bf16 backward data \(g)")
        let (dw, db) = c.backwardWeights(fast: true, bias: true)
        let (referenceDW, referenceDB) = c.backwardWeights(fast: false, bias: true)
        let (absoluteDW, absoluteDB) = c.backwardWeights(fast: false, absolute: true, bias: true)
        let terms = g.batch * g.outHeight * g.outWidth
        expectWithinSummationBound(dw, referenceDW, absolute: absoluteDW, terms: terms, bfloat16: true, "bf16 backward weights \(g)")
        expectWithinSummationBound(db, referenceDB, absolute: absoluteDB, terms: terms, bfloat16: true, "bf16 backward bias \(g)")
        // The products really are BFloat16: the forward result is not Float32-exact.
        let float32 = ConvolutionCase(g, seed: 4, algorithm: .direct).forward(fast: true, bias: true)
        #expect(float32 != c.forward(fast: true, bias: true), "bf16 forward equals the Float32 one at \(g)")
    }

    @Test(.enabled(if: CPUFeatures.hasBFloat16, "the CPU has avx512_bf16"))
    func bfloat16UsesTheBFloat16Kernels() {
        let g = geometries[5]
        for pass in [DNNLConvolution.Pass.forward, .backwardData, .backwardWeights] {
            let name = DNNLConvolution.implementationName(of: pass, geometry: g, algorithm: .direct, precision: .bfloat16)
            #expect(name.contains("bf16"), "\(pass): \(name)")
        }
    }

    /// Under BFloat16 with Winograd allowed, a 3×3 convolution whose output Winograd's 4×4 tiles
    /// cover exactly (16×16, 28×28) runs Float32 Winograd; at 14×14 (tiles partly padding) BF16 direct.
    @Test(.enabled(if: CPUFeatures.hasBFloat16, "the CPU has avx512_bf16"))
    func bfloat16PrefersExactWinogradTiles() {
        func geometry(_ side: Int) -> Conv2DGeometry {
            .init(
                batch: 2, inChannels: 64, outChannels: 64, height: side, width: side, kernelHeight: 3, kernelWidth: 3,
                padTop: 1, padBottom: 1, padLeft: 1, padRight: 1)
        }
        for pass in [DNNLConvolution.Pass.forward, .backwardData, .backwardWeights] {
            for side in [16, 28] {
                #expect(DNNLConvolution.winogradTilesCoverExactly(geometry(side)))
                let name = DNNLConvolution.implementationName(
                    of: pass, geometry: geometry(side), algorithm: .winograd, precision: .bfloat16)
                #expect(name.contains("wino") && !name.contains("bf16"), "\(pass) at \(side)×\(side): \(name)")
            }
            #expect(!DNNLConvolution.winogradTilesCoverExactly(geometry(14)))
            let name = DNNLConvolution.implementationName(of: pass, geometry: geometry(14), algorithm: .winograd, precision: .bfloat16)
            #expect(name.contains("bf16"), "\(pass) at 14×14: \(name)")
        }
    }

    /// Where oneDNN runs the direct sum with its AVX-512 kernels, a U-Net 3×3 convolution must get
    /// its Winograd kernels in all three passes (so the tests above check them), and `.direct` must
    /// not; neither may a strided one or one whose output is below `winogradMinimumSide`.
    @Test func winogradIsChosenForUNetConvolutions() {
        let g = Conv2DGeometry(
            batch: 2, inChannels: 128, outChannels: 128, height: 16, width: 16, kernelHeight: 3, kernelWidth: 3,
            padTop: 1, padBottom: 1, padLeft: 1, padRight: 1)
        let strided = Conv2DGeometry(
            batch: 2, inChannels: 128, outChannels: 128, height: 16, width: 16, kernelHeight: 3, kernelWidth: 3,
            strideHeight: 2, strideWidth: 2, padBottom: 1, padRight: 1)
        for pass in [DNNLConvolution.Pass.forward, .backwardData, .backwardWeights] {
            let direct = DNNLConvolution.implementationName(of: pass, geometry: g, algorithm: .direct)
            #expect(!direct.contains("wino"), "\(pass) \(g) with .direct: implementation '\(direct)'")
            guard direct == "jit:avx512_core" else { continue }
            let winograd = DNNLConvolution.implementationName(of: pass, geometry: g, algorithm: .winograd)
            #expect(winograd.contains("wino"), "\(pass) \(g) with .winograd: implementation '\(winograd)'")
            let fallback = DNNLConvolution.implementationName(of: pass, geometry: strided, algorithm: .winograd)
            #expect(!fallback.contains("wino"), "\(pass) \(strided) (stride 2) with .winograd: implementation '\(fallback)'")
            for side in [DNNLConvolution.winogradMinimumSide - 1, DNNLConvolution.winogradMinimumSide] {
                var sized = g
                (sized.height, sized.width) = (side, side + 3)
                let name = DNNLConvolution.implementationName(of: pass, geometry: sized, algorithm: .winograd)
                let expected = side >= DNNLConvolution.winogradMinimumSide
                #expect(name.contains("wino") == expected, "\(pass) \(sized) with .winograd: implementation '\(name)'")
            }
        }
    }

    /// Small integers make every result exact, so the kernels must agree bit for bit — twice, to
    /// check that a cached plan reads the new buffers.
    @Test func integerInputsAreExact() {
        let g = Conv2DGeometry(
            batch: 2, inChannels: 17, outChannels: 18, height: 9, width: 7, kernelHeight: 3, kernelWidth: 3,
            strideHeight: 2, strideWidth: 2, padBottom: 1, padRight: 1)
        for seed in [UInt64(10), 11] {
            let c = ConvolutionCase(g, seed: seed, integers: true, algorithm: .direct)
            expectExact(c.forward(fast: true, bias: true), c.forward(fast: false, bias: true), "forward \(g), seed \(seed)")
            expectExact(c.backwardData(fast: true), c.backwardData(fast: false), "backward data \(g), seed \(seed)")
            let fast = c.backwardWeights(fast: true, bias: true)
            let reference = c.backwardWeights(fast: false, bias: true)
            expectExact(fast.0, reference.0, "backward weights \(g), seed \(seed)")
            expectExact(fast.1, reference.1, "backward bias \(g), seed \(seed)")
        }
    }

    /// An empty batch computes nothing, and the weight and bias gradients are zero.
    @Test func emptyBatch() {
        let g = Conv2DGeometry(
            batch: 0, inChannels: 3, outChannels: 4, height: 5, width: 5, kernelHeight: 3, kernelWidth: 3,
            padTop: 1, padBottom: 1, padLeft: 1, padRight: 1)
        let x = [Float](repeating: 1, count: 1), w = [Float](repeating: 1, count: count(g.weightShape))
        var y = [Float](repeating: 7, count: 1)
        DNNLConvolution.forward(input: x, weight: w, bias: nil, output: &y, geometry: g)
        DNNLConvolution.backwardData(outputGrad: x, weight: w, inputGrad: &y, geometry: g)
        #expect(y == [7], "empty batch \(g): nothing may be written")
        var dw = [Float](repeating: 7, count: count(g.weightShape))
        var db = [Float](repeating: 7, count: g.outChannels)
        DNNLConvolution.backwardWeights(input: x, outputGrad: x, weightGrad: &dw, biasGrad: &db, geometry: g)
        #expect(dw.allSatisfy { $0 == 0 } && db.allSatisfy { $0 == 0 }, "empty batch \(g): gradients must be zero")
    }

    @Test func chosenImplementationIsReported() {
        let g = Conv2DGeometry(
            batch: 1, inChannels: 16, outChannels: 16, height: 8, width: 8, kernelHeight: 3, kernelWidth: 3,
            padTop: 1, padBottom: 1, padLeft: 1, padRight: 1)
        for pass in [DNNLConvolution.Pass.forward, .backwardData, .backwardWeights] {
            let name = DNNLConvolution.implementationName(of: pass, geometry: g)
            #expect(!name.isEmpty && name != "unknown", "\(pass) \(g): implementation '\(name)'")
        }
    }
}

/// A matmul problem: sizes, transposes and batch.
struct MatMulCase: Sendable, CustomStringConvertible {
    var m, n, k: Int
    var transposeA, transposeB: Bool
    var batch: Int

    var description: String {
        "matmul(batch \(batch), m \(m), n \(n), k \(k), transposeA \(transposeA), transposeB \(transposeB))"
    }

    func run(fast: Bool, a: [Float], b: [Float], precision: DNNLMatMul.Precision = .float32) -> [Float] {
        var c = [Float](repeating: .nan, count: batch * m * n)
        if fast {
            DNNLMatMul.matmul(
                a, b, &c, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, batch: batch, precision: precision)
        } else {
            ReferenceKernels.matmul(a, b, &c, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, batch: batch)
        }
        return c
    }
}

/// All four transpose combinations × batch 1 and 3 × odd, square, vector-shaped and 16-multiple sizes.
private let matMulCases: [MatMulCase] = {
    let sizes = [(1, 1, 1), (7, 5, 3), (1, 17, 9), (13, 1, 31), (13, 17, 19), (33, 31, 65), (64, 48, 32)]
    var cases: [MatMulCase] = []
    for (m, n, k) in sizes {
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                for batch in [1, 3] {
                    cases.append(MatMulCase(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, batch: batch))
                }
            }
        }
    }
    return cases
}()

@Suite struct DNNLMatMulTests {
    @Test(arguments: matMulCases)
    func matchesReference(_ problem: MatMulCase) {
        var random = TestLCG(seed: UInt64(problem.m * 10_007 + problem.n * 101 + problem.k))
        let a = random.floats(problem.batch * problem.m * problem.k)
        let b = random.floats(problem.batch * problem.k * problem.n)
        expectWithinSummationBound(
            problem.run(fast: true, a: a, b: b), problem.run(fast: false, a: a, b: b),
            absolute: problem.run(fast: false, a: a.map(abs), b: b.map(abs)), terms: problem.k, "\(problem)")
    }

    /// BFloat16 products (`--precision bf16`) of batches, every transpose: within the BFloat16
    /// bound of `expectWithinSummationBound` with n = K, not Float32-exact, on the bf16 kernel.
    /// One matrix stays Float32 (`dnnl_sgemm`), bit for bit.
    @Test(.enabled(if: CPUFeatures.hasBFloat16, "the CPU has avx512_bf16"), arguments: matMulCases.filter { $0.k > 1 })
    func bfloat16MatchesReferenceWithinItsBound(_ problem: MatMulCase) {
        var random = TestLCG(seed: UInt64(problem.m * 10_007 + problem.n * 101 + problem.k))
        let a = random.floats(problem.batch * problem.m * problem.k)
        let b = random.floats(problem.batch * problem.k * problem.n)
        let low = problem.run(fast: true, a: a, b: b, precision: .bfloat16)
        let float32 = problem.run(fast: true, a: a, b: b)
        guard problem.batch > 1 else {
            #expect(low == float32, "one matrix (\(problem)) must stay Float32")
            return
        }
        expectWithinSummationBound(
            low, problem.run(fast: false, a: a, b: b),
            absolute: problem.run(fast: false, a: a.map(abs), b: b.map(abs)), terms: problem.k, bfloat16: true, "bf16 \(problem)")
        #expect(low != float32, "bf16 \(problem) equals the Float32 product")
        let name = DNNLMatMul.implementationName(
            m: problem.m, n: problem.n, k: problem.k, transposeA: problem.transposeA, transposeB: problem.transposeB,
            batch: problem.batch, precision: .bfloat16)
        #expect(name.contains("bf16"), "bf16 \(problem) runs \(name)")
    }

    @Test(arguments: [1, 4])
    func integerInputsAreExact(batch: Int) {
        let problem = MatMulCase(m: 19, n: 23, k: 37, transposeA: true, transposeB: false, batch: batch)
        var random = TestLCG(seed: 5)
        let a = random.integers(batch * problem.m * problem.k)
        let b = random.integers(batch * problem.k * problem.n)
        expectExact(problem.run(fast: true, a: a, b: b), problem.run(fast: false, a: a, b: b), "\(problem)")
    }

    /// Empty products: nothing to write when M, N or the batch is 0; zeros when K is 0.
    @Test func zeroSizes() {
        let a: [Float] = [1, 2, 3], b: [Float] = [4, 5, 6]
        var c = [Float](repeating: 7, count: 6)
        DNNLMatMul.matmul(a, b, &c, m: 0, n: 3, k: 1)
        DNNLMatMul.matmul(a, b, &c, m: 3, n: 0, k: 1)
        DNNLMatMul.matmul(a, b, &c, m: 3, n: 2, k: 1, batch: 0)
        #expect(c == [Float](repeating: 7, count: 6), "m, n or batch 0 must write nothing")
        DNNLMatMul.matmul(a, b, &c, m: 2, n: 3, k: 0)
        #expect(c == [Float](repeating: 0, count: 6), "k 0 must give C = 0 (2×3)")
        c = [Float](repeating: 7, count: 6)
        DNNLMatMul.matmul(a, b, &c, m: 1, n: 3, k: 0, transposeA: true, batch: 2)
        #expect(c == [Float](repeating: 0, count: 6), "k 0 must give C = 0 (batch 2 of 1×3)")
    }
}
