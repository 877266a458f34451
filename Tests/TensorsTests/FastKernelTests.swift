// Tests of the fast Float32 kernels against the C library in Double and against the reference kernels.
import Foundation
import Testing
@testable import Tensors

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

/// |got − want| in units of the last place of `want` rounded to Float (subnormal spacing below
/// the normal range). Matching infinities and NaNs count as 0; any other disagreement in class is +inf.
func ulpError(_ got: Float, _ want: Double) -> Double {
    if want.isNaN || got.isNaN { return want.isNaN && got.isNaN ? 0 : .infinity }
    let rounded = Float(want)
    if rounded.isInfinite || got.isInfinite { return got == rounded ? 0 : .infinity }
    let spacing = Double(max(rounded.magnitude.ulp, Float.leastNonzeroMagnitude))
    return abs(Double(got) - want) / spacing
}

/// Inputs over [-100, 100] (dense), plus tiny, huge and special values.
func sweepInputs() -> [Float] {
    var xs = (0..<100_000).map { Float(-100 + 200 * Double($0) / 99_999) }
    var magnitude: Float = 1e-38
    while magnitude < 1e38 {
        xs += [magnitude, -magnitude]
        magnitude *= 1.7
    }
    xs += [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .leastNormalMagnitude,
           .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e30, -1e30, 88.72, 88.73, -87.5, -103.9, -104.5]
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
            if function == .silu, abs(Double(y) - function.reference(Double(x))) <= Double(abs(x)) * Double(Float.leastNonzeroMagnitude) { e = 0 }
            if !(e <= worst) { worst = e; worstInput = x }
        }
        print("FastKernels.\(function): max error \(worst) ulp at x = \(worstInput)")
        #expect(worst <= function.toleranceULP,
                "\(function)(\(worstInput)) = \(ys[xs.firstIndex(of: worstInput) ?? 0]) is \(worst) ulp from \(function.reference(Double(worstInput))); tolerance \(function.toleranceULP) ulp")
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
                    FastKernels.siluBackward(input: x.baseAddress!, outputGrad: dy.baseAddress!, inputGrad: dx.baseAddress!, count: xs.count)
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
        #expect(worst <= 4, "siluBackward(x: \(xs[worstIndex]), dy: \(dys[worstIndex])) = \(dxs[worstIndex]): \(worst) ulp of the terms' scale")
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
        #expect(e[0] == .infinity && e[1] == 0 && e[2].isNaN && e[4] > 0 && e[4] < 1e-43 && e[5] == .infinity && e[7] == 1, "exp specials: \(e)")
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
        logIn.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { FastKernels.log(input: x.baseAddress!, output: $0.baseAddress!, count: 3) } }
        #expect(out[0] == -.infinity && out[1].isNaN && out[2] == .infinity, "log(0), log(-1), log(inf) = \(out)")
    }
}
