// Fast elementwise Float32 functions: exp, log, tanh, sigmoid, SiLU and its derivative, erf.

extension FastKernels {
    /// output[i] = e^input[i]. Overflow gives +inf, underflow 0 (through the subnormals), NaN
    /// propagates. Error ≤ 2 ulp. Trick: Cephes range reduction and polynomial on 16 lanes, with
    /// 2ⁿ built in the exponent bits (`VectorMath.exp`).
    public static func exp(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        map(VectorMath.ExpFunction.self, input, output, count: count)
    }

    /// output[i] = ln input[i]: ln 0 = −inf, ln(x < 0) = NaN, ln(+inf) = +inf. Error ≤ 2 ulp.
    public static func log(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        map(VectorMath.LogFunction.self, input, output, count: count)
    }

    /// output[i] = tanh input[i]; saturates to exactly ±1 for large |x| (±inf included). Error ≤ 3 ulp.
    public static func tanh(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        map(VectorMath.TanhFunction.self, input, output, count: count)
    }

    /// output[i] = sigmoid(x) = 1/(1 + e⁻ˣ); 0 and 1 at ∓inf, relative error ≤ 3 ulp everywhere,
    /// the subnormal tail for x < −87 included.
    public static func sigmoid(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        map(VectorMath.SigmoidFunction.self, input, output, count: count)
    }

    /// SiLU (swish), the U-Net's activation: output[i] = x·sigmoid(x). silu(−inf) = −0,
    /// silu(+inf) = +inf, no NaN for any non-NaN input. Error ≤ 4 ulp, except for x < −87 where
    /// sigmoid(x) is subnormal and the error is within |x|·2⁻¹⁴⁹ (absolute, below 1e-40).
    public static func silu(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        map(SiLUFunction.self, input, output, count: count)
    }

    /// Backward of SiLU: inputGrad = outputGrad · (s + x·s·(1 − s)), s = sigmoid(x).
    /// s·(1 − s) is computed as sigmoid(x)·sigmoid(−x) (no cancellation for large x), and x is
    /// clamped to ±FLT_MAX so that the derivative at ±inf is 1 and 0, not NaN. The error is within a
    /// few ulp of |dy|·(|s| + |x·s·(1 − s)|) (the derivative crosses zero near x ≈ −1.28), plus
    /// |dy|·(|x| + 1)·2⁻¹⁴⁹ for x < −87 where s is subnormal.
    public static func siluBackward(
        input: UnsafePointer<Float>, outputGrad: UnsafePointer<Float>, inputGrad: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        map(SiLUBackwardFunction.self, input, outputGrad, inputGrad, count: count)
    }

    /// output[i] = erf input[i] (for the normal CDF Φ(x) = ½(1 + erf(x/√2)) of the discretised
    /// decoder). ±inf → ±1. Error ≤ 4 ulp; note that 1 − erf(x) for large x has only absolute
    /// accuracy (an erfc would be needed for relative accuracy in the far tail).
    public static func erf(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        map(VectorMath.ErfFunction.self, input, output, count: count)
    }
}

// MARK: - The lane-wise functions, as types for `FastKernels.map`

extension VectorMath {
    enum ExpFunction: UnaryVectorFunction {
        @inline(__always) static func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.exp(x) }
    }
    enum LogFunction: UnaryVectorFunction {
        @inline(__always) static func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.log(x) }
    }
    enum TanhFunction: UnaryVectorFunction {
        @inline(__always) static func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.tanh(x) }
    }
    enum SigmoidFunction: UnaryVectorFunction {
        @inline(__always) static func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.sigmoid(x) }
    }
    enum ErfFunction: UnaryVectorFunction {
        @inline(__always) static func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.erf(x) }
    }
}

/// x itself (the group norm without an activation).
enum IdentityFunction: UnaryVectorFunction {
    @inline(__always)
    static func apply(_ x: SIMD16<Float>) -> SIMD16<Float> { x }
}

/// x·sigmoid(x); x = −inf would give −inf·0 = NaN, so the negative side is clamped to −FLT_MAX
/// (+inf·1 stays +inf).
enum SiLUFunction: UnaryVectorFunction {
    @inline(__always)
    static func apply(_ x: SIMD16<Float>) -> SIMD16<Float> {
        x.replacing(with: -.greatestFiniteMagnitude, where: x .< -.greatestFiniteMagnitude) * VectorMath.sigmoid(x)
    }
}

/// dy·(s + x·s·(1 − s)) with s·(1 − s) = sigmoid(x)·sigmoid(−x) and x clamped to ±FLT_MAX.
enum SiLUBackwardFunction: BinaryVectorFunction {
    @inline(__always)
    static func apply(_ x: SIMD16<Float>, _ dy: SIMD16<Float>) -> SIMD16<Float> {
        let (s, sPrime) = VectorMath.sigmoidAndDerivative(x)
        return dy * (s + VectorMath.finite(x) * sPrime)
    }
}
