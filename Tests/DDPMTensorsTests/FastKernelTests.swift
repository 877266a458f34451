// Tests of the fast Float32 kernels against the C library in Double and against the reference kernels.
import DDPMTestSupport
import Foundation
import Testing
import DDPMTensors

/// A tiny deterministic generator for test inputs (64-bit LCG, Knuth's MMIX constants).
private struct TestLCG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    /// Uniform in [0, 1).
    mutating func next() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53)
    }
    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double, _ hi: Double) -> Float { Float(lo + (hi - lo) * next()) }
}

/// Inputs over [-100, 100] (dense), plus tiny, huge and special values.
func sweepInputs() -> [Float] {
    var xs = (0..<100_000).map { Float(-100 + 200 * Double($0) / 99_999) }
    var magnitude: Float = 1e-38
    while magnitude < 1e38 {
        xs += [magnitude, -magnitude]
        magnitude *= 1.7
    }
    xs += [
        0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .leastNormalMagnitude,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e30, -1e30, 88.72, 88.73, -87.5, -103.9, -104.5,
    ]
    return xs
}

/// Inputs for log: positive values from subnormal to huge, plus zero, negatives and specials.
func positiveSweepInputs() -> [Float] {
    var xs = (1...100_000).map { Float(200 * Double($0) / 100_000) }
    var magnitude: Float = .leastNonzeroMagnitude
    while magnitude < 3e38 {
        xs.append(magnitude)
        magnitude = max(magnitude * 1.3, magnitude.nextUp.nextUp)
    }
    xs += [0, -0.0, -1, -1e-30, -.infinity, .infinity, .nan, .greatestFiniteMagnitude, 1, 0.7071067, 0.7071068, 1.4142135]
    return xs
}

enum UnaryFunction: String, CaseIterable, CustomStringConvertible {
    case exp, log, tanh, sigmoid, silu, erf
    var description: String { rawValue }

    /// The tolerance in ulp this function is held to.
    var toleranceULP: Double {
        switch self {
        case .exp, .log: 2
        case .tanh, .sigmoid: 3
        case .silu, .erf: 4
        }
    }

    func fast(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch self {
        case .exp: FastKernels.exp(input: x, output: y, count: n)
        case .log: FastKernels.log(input: x, output: y, count: n)
        case .tanh: FastKernels.tanh(input: x, output: y, count: n)
        case .sigmoid: FastKernels.sigmoid(input: x, output: y, count: n)
        case .silu: FastKernels.silu(input: x, output: y, count: n)
        case .erf: FastKernels.erf(input: x, output: y, count: n)
        }
    }

    /// The exact function in Double (limits at ±inf where the formula would give NaN).
    func reference(_ x: Double) -> Double {
        switch self {
        case .exp: Foundation.exp(x)
        case .log: Foundation.log(x)
        case .tanh: Foundation.tanh(x)
        case .sigmoid: 1 / (1 + Foundation.exp(-x))
        case .silu: x == -.infinity ? 0 : x / (1 + Foundation.exp(-x))
        case .erf: Foundation.erf(x)
        }
    }

    var inputs: [Float] { self == .log ? positiveSweepInputs() : sweepInputs() }
}

@Suite struct FastKernelTests {
    @Test(arguments: UnaryFunction.allCases)
    func unaryMatchesLibm(_ function: UnaryFunction) {
        let xs = function.inputs
        var ys = [Float](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            ys.withUnsafeMutableBufferPointer { y in function.fast(x.baseAddress!, y.baseAddress!, xs.count) }
        }
        var worst = 0.0
        var worstInput: Float = 0
        for (x, y) in zip(xs, ys) {
            var e = ulpError(y, function.reference(Double(x)))
            // SiLU for x < −87 multiplies x by a subnormal sigmoid: only absolute accuracy |x|·2⁻¹⁴⁹ there.
            if function == .silu, abs(Double(y) - function.reference(Double(x))) <= Double(abs(x)) * Double(Float.leastNonzeroMagnitude) {
                e = 0
            }
            if !(e <= worst) { worst = e; worstInput = x }
        }
        print("FastKernels.\(function): max error \(worst) ulp at x = \(worstInput)")
        #expect(
            worst <= function.toleranceULP,
            "\(function)(\(worstInput)) = \(ys[xs.firstIndex(of: worstInput) ?? 0]) is \(worst) ulp from \(function.reference(Double(worstInput))); tolerance \(function.toleranceULP) ulp"
        )
    }

    /// Every tail length gives the same values as the vector body (count not a multiple of 16).
    @Test(arguments: [1, 5, 15, 16, 17, 31, 33, 100])
    func tailsMatchBody(_ count: Int) {
        var rng = TestLCG(seed: UInt64(count))
        let xs = (0..<count).map { _ in rng.uniform(-10, 10) }
        for function in UnaryFunction.allCases {
            let input = function == .log ? xs.map { abs($0) } : xs
            var tail = [Float](repeating: 0, count: count)
            input.withUnsafeBufferPointer { x in
                tail.withUnsafeMutableBufferPointer { y in function.fast(x.baseAddress!, y.baseAddress!, count) }
            }
            for i in 0..<count {
                let e = ulpError(tail[i], function.reference(Double(input[i])))
                #expect(e <= function.toleranceULP, "\(function), count \(count), index \(i): x = \(input[i]), got \(tail[i]), \(e) ulp")
            }
        }
    }

    /// siluBackward against dy·(s + x·s·(1 − s)) in Double. The derivative crosses zero, so the
    /// error is measured relative to the size of its terms: |dy|·(s + |x|·s·(1 − s)).
    @Test func siluBackwardMatchesDerivative() {
        let xs = sweepInputs().filter { !$0.isNaN }
        var rng = TestLCG(seed: 7)
        let dys = xs.map { _ in rng.uniform(-3, 3) }
        var dxs = [Float](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            dys.withUnsafeBufferPointer { dy in
                dxs.withUnsafeMutableBufferPointer { dx in
                    FastKernels.siluBackward(
                        input: x.baseAddress!, outputGrad: dy.baseAddress!, inputGrad: dx.baseAddress!, count: xs.count)
                }
            }
        }
        var worst = 0.0
        var worstIndex = 0
        for i in xs.indices {
            let x = Double(xs[i]), dy = Double(dys[i])
            let s = 1 / (1 + Foundation.exp(-x))
            let sPrime = s * (1 / (1 + Foundation.exp(x)))
            let xsPrime = x.isInfinite ? 0 : x * sPrime
            let want = dy * (s + xsPrime)
            let scale = abs(dy) * (s + abs(xsPrime))
            // For x < −87, s is subnormal: allow an absolute |dy|·(|x| + 1)·2⁻¹⁴⁹ as well.
            let floor = abs(dy) * (abs(x) + 1) * Double(Float.leastNonzeroMagnitude)
            let err = max(0, abs(Double(dxs[i]) - want) - floor) / max(scale * Double(Float.ulpOfOne), Double(Float.leastNonzeroMagnitude))
            if !(err <= worst) { worst = err; worstIndex = i }
        }
        #expect(
            worst <= 4, "siluBackward(x: \(xs[worstIndex]), dy: \(dys[worstIndex])) = \(dxs[worstIndex]): \(worst) ulp of the terms' scale")
        print("FastKernels.siluBackward: max error \(worst) ulp of |dy|·(s + |x·s·(1 − s)|)")
    }

    @Test func specialValues() {
        let xs: [Float] = [.infinity, -.infinity, .nan, 100, -100, 1e30, -1e30, 0]
        func run(_ f: UnaryFunction) -> [Float] {
            var ys = [Float](repeating: 0, count: xs.count)
            xs.withUnsafeBufferPointer { x in ys.withUnsafeMutableBufferPointer { f.fast(x.baseAddress!, $0.baseAddress!, xs.count) } }
            return ys
        }
        let e = run(.exp)
        #expect(
            e[0] == .infinity && e[1] == 0 && e[2].isNaN && e[4] > 0 && e[4] < 1e-43 && e[5] == .infinity && e[7] == 1, "exp specials: \(e)"
        )
        for f in [UnaryFunction.tanh, .sigmoid, .silu, .erf] {
            let y = run(f)
            #expect(y.enumerated().allSatisfy { $0.offset == 2 || !$0.element.isNaN }, "\(f) gave NaN for a non-NaN input: \(y) for \(xs)")
            #expect(y[2].isNaN, "\(f)(NaN) = \(y[2])")
        }
        let t = run(.tanh)
        #expect(t[0] == 1 && t[1] == -1 && t[3] == 1 && t[4] == -1 && t[5] == 1 && t[6] == -1, "tanh saturation: \(t)")
        let s = run(.sigmoid)
        #expect(s[0] == 1 && s[1] == 0 && s[3] == 1 && s[5] == 1 && s[6] == 0, "sigmoid saturation: \(s)")
        let silu = run(.silu)
        #expect(silu[0] == .infinity && silu[1] == 0 && silu[5] == 1e30 && silu[6] == 0, "silu saturation: \(silu)")
        var out = [Float](repeating: 1, count: 3)
        let logIn: [Float] = [0, -1, .infinity]
        logIn.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { FastKernels.log(input: x.baseAddress!, output: $0.baseAddress!, count: 3) }
        }
        #expect(out[0] == -.infinity && out[1].isNaN && out[2] == .infinity, "log(0), log(-1), log(inf) = \(out)")
    }

    // MARK: - Group normalisation

    /// Shapes: batch 1–3, channels 4–96, every listed group count that divides, spatial 1–256.
    static let groupNormCases: [GroupNormCase] = {
        var cases: [GroupNormCase] = []
        for batch in [1, 3] {
            for channels in [4, 12, 96] {
                for groups in [1, 2, 4, 32] where channels % groups == 0 {
                    for spatial in [1, 5, 64, 256] {
                        for offset: Float in [0, 1000] {
                            cases.append(GroupNormCase(batch: batch, channels: channels, spatial: spatial, groups: groups, offset: offset))
                        }
                    }
                }
            }
        }
        return cases
    }()

    @Test(arguments: groupNormCases)
    func groupNormMatchesReference(_ shape: GroupNormCase) {
        checkGroupNorm(shape)
    }

    /// Large groups, also split over threads when batch·groups is small (the split needs ≥ 131072
    /// elements per group and more than one thread).
    @Test(arguments: [
        GroupNormCase(batch: 1, channels: 4, spatial: 65_536, groups: 1, offset: 1000),
        GroupNormCase(batch: 1, channels: 8, spatial: 32_768, groups: 2, offset: 0),
        GroupNormCase(batch: 3, channels: 8, spatial: 16_384, groups: 2, offset: 1000),
    ])
    func groupNormLargeGroups(_ shape: GroupNormCase) {
        checkGroupNorm(shape)
    }

    func checkGroupNorm(_ shape: GroupNormCase) {
        let (batch, channels, spatial, groups) = (shape.batch, shape.channels, shape.spatial, shape.groups)
        let count = batch * channels * spatial
        var rng = TestLCG(seed: UInt64(count * 31 + groups))
        let x = (0..<count).map { _ in shape.offset + rng.uniform(-2, 2) }
        let dy = (0..<count).map { _ in rng.uniform(-1, 1) }
        let gamma = (0..<channels).map { _ in rng.uniform(0.5, 1.5) }
        let beta = (0..<channels).map { _ in rng.uniform(-0.5, 0.5) }
        let stats = batch * groups

        func forward(_ fast: Bool) -> (y: [Float], mean: [Float], rstd: [Float]) {
            var y = [Float](repeating: 0, count: count)
            var mean = [Float](repeating: 0, count: stats), rstd = [Float](repeating: 0, count: stats)
            x.withUnsafeBufferPointer { xp in
                gamma.withUnsafeBufferPointer { gp in
                    beta.withUnsafeBufferPointer { bp in
                        y.withUnsafeMutableBufferPointer { yp in
                            mean.withUnsafeMutableBufferPointer { mp in
                                rstd.withUnsafeMutableBufferPointer { rp in
                                    if fast {
                                        FastKernels.groupNormForward(
                                            input: xp.baseAddress!, gamma: gp.baseAddress!, beta: bp.baseAddress!,
                                            output: yp.baseAddress!, mean: mp.baseAddress!, rstd: rp.baseAddress!,
                                            batch: batch, channels: channels, spatial: spatial, groups: groups, eps: 1e-5)
                                    } else {
                                        ReferenceKernels.groupNormForward(
                                            input: xp.baseAddress!, gamma: gp.baseAddress!, beta: bp.baseAddress!,
                                            output: yp.baseAddress!, mean: mp.baseAddress!, rstd: rp.baseAddress!,
                                            batch: batch, channels: channels, spatial: spatial, groups: groups, eps: 1e-5)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return (y, mean, rstd)
        }
        func backward(_ fast: Bool, mean: [Float], rstd: [Float]) -> (dx: [Float], dgamma: [Float], dbeta: [Float]) {
            var dx = [Float](repeating: 0, count: count)
            var dgamma = [Float](repeating: 0, count: channels), dbeta = [Float](repeating: 0, count: channels)
            x.withUnsafeBufferPointer { xp in
                gamma.withUnsafeBufferPointer { gp in
                    mean.withUnsafeBufferPointer { mp in
                        rstd.withUnsafeBufferPointer { rp in
                            dy.withUnsafeBufferPointer { dyp in
                                dx.withUnsafeMutableBufferPointer { dxp in
                                    dgamma.withUnsafeMutableBufferPointer { dgp in
                                        dbeta.withUnsafeMutableBufferPointer { dbp in
                                            if fast {
                                                FastKernels.groupNormBackward(
                                                    input: xp.baseAddress!, gamma: gp.baseAddress!, mean: mp.baseAddress!,
                                                    rstd: rp.baseAddress!,
                                                    outputGrad: dyp.baseAddress!, inputGrad: dxp.baseAddress!,
                                                    gammaGrad: dgp.baseAddress!, betaGrad: dbp.baseAddress!,
                                                    batch: batch, channels: channels, spatial: spatial, groups: groups)
                                            } else {
                                                ReferenceKernels.groupNormBackward(
                                                    input: xp.baseAddress!, gamma: gp.baseAddress!, mean: mp.baseAddress!,
                                                    rstd: rp.baseAddress!,
                                                    outputGrad: dyp.baseAddress!, inputGrad: dxp.baseAddress!,
                                                    gammaGrad: dgp.baseAddress!, betaGrad: dbp.baseAddress!,
                                                    batch: batch, channels: channels, spatial: spatial, groups: groups)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return (dx, dgamma, dbeta)
        }

        let fast = forward(true), reference = forward(false)
        // Statistics: a few Float ulp of the values (mean relative, rstd relative).
        expectClose(fast.mean, reference.mean, relative: 4e-7, absolute: 1e-6, "\(shape): mean")
        expectClose(fast.rstd, reference.rstd, relative: 2e-6, absolute: 0, "\(shape): rstd")
        // y is O(1) (|x̂| ≤ 2 or so, gamma ≤ 1.5): an absolute error of a few ulp of 1.
        expectClose(fast.y, reference.y, relative: 0, absolute: 2e-6, "\(shape): y")
        // Backward from the reference statistics, so both see the same mean and rstd.
        let fastGrad = backward(true, mean: reference.mean, rstd: reference.rstd)
        let referenceGrad = backward(false, mean: reference.mean, rstd: reference.rstd)
        let spread = Float(channels / groups * spatial).squareRoot()
        // dx is a difference of terms of size rstd·|gamma·dy| (≤ 1.5·rstd): a few ulp of that.
        let dxScale = 1.5 * (reference.rstd.max() ?? 1)
        expectClose(fastGrad.dx, referenceGrad.dx, relative: 1e-5, absolute: 5e-7 * dxScale, "\(shape): dx")
        expectClose(fastGrad.dgamma, referenceGrad.dgamma, relative: 1e-5, absolute: 1e-5 * spread * Float(batch), "\(shape): dgamma")
        expectClose(fastGrad.dbeta, referenceGrad.dbeta, relative: 1e-5, absolute: 1e-6 * spread * Float(batch), "\(shape): dbeta")
    }

    // MARK: - Softmax

    @Test(arguments: [1, 7, 16, 100, 1024], [Float(1), 100])
    func softmaxMatchesReference(_ axis: Int, _ logitScale: Float) {
        for (outer, inner) in [(5, 1), (3, 4)] {
            let count = outer * axis * inner
            var rng = TestLCG(seed: UInt64(axis * 7 + inner))
            let x = (0..<count).map { _ in rng.uniform(-1, 1) * logitScale + 50 }
            let dy = (0..<count).map { _ in rng.uniform(-1, 1) }
            var yFast = [Float](repeating: 0, count: count), yRef = yFast, dxFast = yFast, dxRef = yFast
            x.withUnsafeBufferPointer { xp in
                yFast.withUnsafeMutableBufferPointer {
                    FastKernels.softmaxForward(input: xp.baseAddress!, output: $0.baseAddress!, outer: outer, axis: axis, inner: inner)
                }
                yRef.withUnsafeMutableBufferPointer {
                    ReferenceKernels.softmaxForward(input: xp.baseAddress!, output: $0.baseAddress!, outer: outer, axis: axis, inner: inner)
                }
            }
            let label = "softmax outer \(outer), axis \(axis), inner \(inner), logits ×\(logitScale)"
            expectClose(yFast, yRef, relative: 1e-5, absolute: 1e-37, "\(label): y")
            yRef.withUnsafeBufferPointer { yp in
                dy.withUnsafeBufferPointer { dyp in
                    dxFast.withUnsafeMutableBufferPointer {
                        FastKernels.softmaxBackward(
                            output: yp.baseAddress!, outputGrad: dyp.baseAddress!, inputGrad: $0.baseAddress!, outer: outer, axis: axis,
                            inner: inner)
                    }
                    dxRef.withUnsafeMutableBufferPointer {
                        ReferenceKernels.softmaxBackward(
                            output: yp.baseAddress!, outputGrad: dyp.baseAddress!, inputGrad: $0.baseAddress!, outer: outer, axis: axis,
                            inner: inner)
                    }
                }
            }
            // dx = y·(dy − dot): the dot product is summed in a different order.
            let dxTolerance = zip(yRef, dy).map { abs($0 * $1) }.max() ?? 0
            expectClose(dxFast, dxRef, relative: 1e-5, absolute: 1e-6 * dxTolerance + 1e-37, "\(label): dx")
        }
    }
}

struct GroupNormCase: CustomStringConvertible, Sendable {
    var batch, channels, spatial, groups: Int
    var offset: Float
    var description: String {
        "groupNorm [\(batch), \(channels), \(spatial)] groups \(groups), x = \(offset) + U(-2, 2)"
    }
}
