// Elementary functions on SIMD16<Float>: range-reduced polynomials after Cephes (exp, log, tanh) and fitted ones (erf).

/// Lane-wise elementary functions on 16 floats, used by the fast kernels.
///
/// Each function is branch-free: every lane computes every path and a mask selects the result,
/// so the compiler keeps everything in vector registers. Clamps are written as
/// `replacing(with:where:)` (a compare and a blend) rather than `clamped(lowerBound:upperBound:)`
/// (a slow branchy path) or `pointwiseMin` (which would turn NaN into the bound): a NaN lane fails
/// every comparison, passes through unchanged and comes out as NaN. Integer work on exponents uses
/// bit casts and wrapping arithmetic only, never a trapping `Int32(someFloat)`.
///
/// Polynomials use plain `*` and `+` (see `FastKernels`: no `fmaf` calls in a baseline build).
/// Accuracy, measured by `FastKernelTests` against the C library in Double over [-100, 100] and
/// special values, is stated on each function.
enum VectorMath {
    @inline(__always)
    static func bits(_ v: SIMD16<Float>) -> SIMD16<UInt32> { unsafeBitCast(v, to: SIMD16<UInt32>.self) }

    @inline(__always)
    static func float(_ v: SIMD16<UInt32>) -> SIMD16<Float> { unsafeBitCast(v, to: SIMD16<Float>.self) }

    /// |x| (clears the sign bit; NaN stays NaN).
    @inline(__always)
    static func magnitude(_ x: SIMD16<Float>) -> SIMD16<Float> { float(bits(x) & 0x7FFF_FFFF) }

    /// The magnitude of `x` with the sign of `sign`.
    @inline(__always)
    static func copySign(_ x: SIMD16<Float>, _ sign: SIMD16<Float>) -> SIMD16<Float> {
        float((bits(x) & 0x7FFF_FFFF) | (bits(sign) & 0x8000_0000))
    }

    /// 2ⁿ for integer n in [-126, 127], built directly in the exponent field.
    @inline(__always)
    static func powerOfTwo(_ n: SIMD16<Int32>) -> SIMD16<Float> {
        unsafeBitCast((n &+ 127) &<< 23, to: SIMD16<Float>.self)
    }

    /// eˣ. Range reduction x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so n·ln2 is exact
    /// without FMA), eʳ by the Cephes `expf` degree-6 polynomial, then 2ⁿ applied as 2^⌊n/2⌋·2^(n−⌊n/2⌋)
    /// so that results in the subnormal range and up to FLT_MAX come out right.
    /// x > 88.72… → +inf, x < −103.97… → 0, NaN → NaN. Error ≤ 2 ulp (measured: see tests).
    /// `@_transparent`, as are the sigmoids below: `@inline(__always)` was not honoured in the
    /// group norm's loops, and called out of line the vector travels in four xmm registers.
    @_transparent
    static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        var x = x.replacing(with: 88.9, where: x .> 88.9)  // e^88.9 overflows: +inf below
        x = x.replacing(with: -104, where: x .< -104)  // e^-104 rounds to 0
        // n = round(x / ln2) by the 1.5·2²³ trick: the integer lands in the low mantissa bits.
        let magic: Float = 12_582_912
        let shifted = x * 1.442_695_04 + magic
        let n = shifted - magic
        let nInt = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let r = (x - n * 0.693_359_375) - n * -2.121_944_40e-4
        var p = SIMD16<Float>(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * (r * r) + r + 1
        let half = nInt &>> 1
        return p * powerOfTwo(half) * powerOfTwo(nInt &- half)
    }

    /// ln x. x = 2ᵉ·m with m in [√½, √2), ln(m) by the Cephes `logf` degree-9 polynomial in m − 1,
    /// and e·ln2 added in two parts. Subnormal inputs are scaled by 2²³ first.
    /// ln 0 = −inf, ln(negative) = NaN, ln(+inf) = +inf, NaN → NaN. Error ≤ 2 ulp.
    @inline(__always)
    static func log(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let subnormal = x .< .leastNormalMagnitude
        let scaled = x.replacing(with: x * 8_388_608, where: subnormal)
        let b = bits(scaled)
        var e = unsafeBitCast(b &>> 23, to: SIMD16<Int32>.self) &- 126
        e = e.replacing(with: e &- 23, where: subnormal)
        var m = float((b & 0x007F_FFFF) | 0x3F00_0000)  // m in [0.5, 1)
        let low = m .< 0.707_106_781_186_547_524
        e = e.replacing(with: e &- 1, where: low)
        m = m.replacing(with: m + m, where: low) - 1  // m − 1 in [√½ − 1, √2 − 1)
        let ef = SIMD16<Float>(e)
        let z = m * m
        var y = SIMD16<Float>(repeating: 7.037_683_629_2e-2)
        y = y * m - 1.151_461_031_0e-1
        y = y * m + 1.167_699_874_0e-1
        y = y * m - 1.242_014_084_6e-1
        y = y * m + 1.424_932_278_7e-1
        y = y * m - 1.666_805_766_5e-1
        y = y * m + 2.000_071_476_5e-1
        y = y * m - 2.499_999_399_3e-1
        y = y * m + 3.333_333_117_4e-1
        y = y * m * z
        y = y + ef * -2.121_944_40e-4
        y = y - z * 0.5
        var result = (m + y) + ef * 0.693_359_375
        result = result.replacing(with: -.infinity, where: x .== 0)
        result = result.replacing(with: .nan, where: x .< 0)
        result = result.replacing(with: x, where: (x .== .infinity) .| (x .!= x))
        return result
    }

    /// Logistic sigmoid 1/(1 + e⁻ˣ), computed from e = e^−|x| ≤ 1 as 1/(1 + e) for x ≥ 0 and
    /// e/(1 + e) for x < 0, so neither side overflows or cancels: sigmoid(−100) is the correct
    /// subnormal, ±inf give 1 and 0. Also returns e·d² = sigmoid(x)·sigmoid(−x), the derivative,
    /// accurate where 1 − sigmoid(x) would cancel. Error ≤ 3 ulp.
    @_transparent
    static func sigmoidAndDerivative(_ x: SIMD16<Float>) -> (value: SIMD16<Float>, derivative: SIMD16<Float>) {
        let e = exp(float(bits(x) | 0x8000_0000))  // e^−|x|
        let d = 1 / (1 + e)
        let ed = e * d
        return (d.replacing(with: ed, where: x .< 0), ed * d)
    }

    @_transparent
    static func sigmoid(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let e = exp(float(bits(x) | 0x8000_0000))
        let d = 1 / (1 + e)
        return d.replacing(with: e * d, where: x .< 0)
    }

    /// x clamped to ±FLT_MAX (NaN kept), so that x·0 is 0 rather than NaN at x = ±inf.
    @inline(__always)
    static func finite(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let y = x.replacing(with: .greatestFiniteMagnitude, where: x .> .greatestFiniteMagnitude)
        return y.replacing(with: -.greatestFiniteMagnitude, where: y .< -.greatestFiniteMagnitude)
    }

    /// tanh x. |x| < 0.625: the Cephes `tanhf` odd polynomial x + x³·P(x²); otherwise
    /// 1 − 2/(e^{2|x|} + 1), which saturates to exactly ±1 (e^{2|x|} = +inf) without NaN.
    /// The sign is copied from x at the end (tanh(−0) = −0). Error ≤ 3 ulp.
    @inline(__always)
    static func tanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let a = magnitude(x)
        let s = x * x
        var p = SIMD16<Float>(repeating: -5.704_988_727_45e-3)
        p = p * s + 2.063_908_879_54e-2
        p = p * s - 5.373_971_555_31e-2
        p = p * s + 1.333_144_220_36e-1
        p = p * s - 3.333_328_194_22e-1
        let small = p * s * x + x
        let large = 1 - 2 / (exp(a + a) + 1)
        return copySign(large.replacing(with: small, where: a .< 0.625), x)
    }

    /// erf x, from polynomials fitted (near-minimax, iteratively reweighted least squares against
    /// mpmath) for this evaluation order:
    /// |x| ≤ 0.9277: erf x = x + x·P(x²), P of degree 5;
    /// |x| > 0.9277: erf|x| = 1 − exp(t·Q(t) − t), t = min(|x|, 4), Q of degree 6 (erf 4 rounds to 1).
    /// Odd; ±inf → ±1, NaN → NaN. Error ≤ 4 ulp (the largest just above 0.9277).
    @inline(__always)
    static func erf(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let s = x * x
        var p = SIMD16<Float>(repeating: -5.987_379_699_945_45e-4)
        p = p * s + 4.993_022_419_512_272e-3
        p = p * s - 2.676_694_467_663_765e-2
        p = p * s + 1.128_184_050_321_579e-1
        p = p * s - 3.761_249_780_654_907e-1
        p = p * s + 1.283_791_512_250_900_3e-1
        let small = p * x + x

        let a = magnitude(x)
        let t = a.replacing(with: 4, where: a .> 4)
        var q = SIMD16<Float>(repeating: -1.569_265_623_402_316e-5)
        q = q * t + 3.597_928_152_885_288e-4
        q = q * t - 3.747_998_736_798_763_3e-3
        q = q * t + 2.385_441_027_581_691_7e-2
        q = q * t - 1.061_435_490_846_633_9e-1
        q = q * t - 6.353_602_409_362_793e-1
        q = q * t - 1.285_522_580_146_789_6e-1
        let large = copySign(1 - exp(q * t - t), x)
        return small.replacing(with: large, where: a .> 0.927_734_375)
    }
}
