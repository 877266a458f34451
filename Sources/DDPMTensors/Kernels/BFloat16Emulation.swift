// Float64 under `--precision bf16`: the factors of every product that Float32 runs in BFloat16,
// rounded to BFloat16 first, so that Float64 is the exact reference of the BFloat16 arithmetic.

/// Which Float64 products round their factors to BFloat16: exactly those the Float32 path runs
/// with BFloat16 factors under ``DNNLConvolution/defaultPrecision`` `.bfloat16` — the convolution
/// passes that run direct (not Float32 Winograd, ``DNNLConvolution/productPrecision(of:geometry:algorithm:precision:)``)
/// and the batched matmuls (``DNNLMatMul/productPrecision(batch:precision:)``). The sums stay
/// exact in Float64, so a Float32 BFloat16 result differs from its Float64 reference only by
/// Float32 rounding (and by the rare factor whose Float32 and Float64 values round to different
/// BFloat16 neighbours).
enum BFloat16Emulation {
    static func roundsConvolution(_ pass: DNNLConvolution.Pass, _ geometry: Conv2DGeometry) -> Bool {
        let r =
            DNNLConvolution.defaultPrecision == .bfloat16
            && DNNLConvolution.productPrecision(of: pass, geometry: geometry) == .bfloat16
        return r
    }

    static func roundsMatMul(batch: Int) -> Bool {
        DNNLMatMul.productPrecision(batch: batch, precision: DNNLConvolution.defaultPrecision) == .bfloat16
    }

    /// The two factors of a product, rounded when `rounded` is true, else as they are.
    static func factors(_ a: Tensor, _ b: Tensor, rounded: Bool) -> (Tensor, Tensor) {
        rounded ? (self.rounded(a), self.rounded(b)) : (a, b)
    }

    /// A Float64 tensor's elements rounded as oneDNN rounds Float32 factors: to Float32, then to
    /// the nearest BFloat16 (ties to even; 8 significant bits).
    static func rounded(_ x: Tensor) -> Tensor {
        precondition(x.dtype == .float64, "BFloat16Emulation.rounded: Float64 tensors only, got \(x.dtype)")
        var y = Tensor(uninitializedShape: x.shape, dtype: .float64)
        x.withUnsafeBufferPointer(as: Double.self) { source in
            y.withUnsafeMutableBufferPointer(as: Double.self) { target in
                for i in source.indices { target[i] = Double(roundedToBFloat16(Float(source[i]))) }
            }
        }
        return y
    }

    /// The BFloat16 nearest to `value` (ties to even), as a Float; NaN and infinities pass.
    static func roundedToBFloat16(_ value: Float) -> Float {
        guard value.isFinite else { return value }
        let bits = value.bitPattern
        let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000
        return Float(bitPattern: rounded)
    }
}
