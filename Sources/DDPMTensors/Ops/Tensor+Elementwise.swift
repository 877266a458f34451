// Elementwise functions: exp, log, sqrt, square, tanh, sigmoid, SiLU (swish), erf, abs, clamp, ReLU.
import RealModule

/// The elementwise functions with a kernel of their own.
enum UnaryFunction {
    case exp, log, sqrt, square, tanh, sigmoid, silu, erf, abs
}

extension Tensor {
    /// y = f(x) elementwise, in this tensor's layout; no gradient recording. Float32 uses the
    /// vectorised kernels where they exist (`FastUnary`), Float64 the plain loops.
    func applying(_ f: UnaryFunction) -> Tensor {
        var out = Tensor(uninitializedShape: shape, dtype: dtype, layout: layout)
        switch dtype {
        case .float32:
            withUnsafeStoredElements(as: Float.self) { x in
                out.withUnsafeMutableStoredElements(as: Float.self) { y in
                    if !FastUnary.apply(f, x.baseAddress!, y.baseAddress!, x.count) {
                        unaryLoop(f, x.baseAddress!, y.baseAddress!, x.count)
                    }
                }
            }
        case .float64:
            withUnsafeStoredElements(as: Double.self) { x in
                out.withUnsafeMutableStoredElements(as: Double.self) { y in
                    unaryLoop(f, x.baseAddress!, y.baseAddress!, x.count)
                }
            }
        }
        return out
    }

    /// y = c · x without recording, in this tensor's layout.
    func scaledValues(_ c: Double) -> Tensor {
        var out = Tensor(uninitializedShape: shape, dtype: dtype, layout: layout)
        func run<T: TensorScalar>(_: T.Type) {
            let factor = T(c)
            withUnsafeStoredElements(as: T.self) { x in
                out.withUnsafeMutableStoredElements(as: T.self) { y in
                    // A plain loop rather than `mapLoop`, whose closure would stay an indirect call per element.
                    let (x, y, count) = (x.baseAddress!, y.baseAddress!, x.count)
                    parallelChunks(count) { range in
                        for i in range { y[i] = x[i] * factor }
                    }
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        return out
    }

    /// y = f(x) for any closure, without recording, in this tensor's layout (used by derivatives and masks).
    func mapValues(_ f: @escaping (Double) -> Double) -> Tensor {
        var out = Tensor(uninitializedShape: shape, dtype: dtype, layout: layout)
        func run<T: TensorScalar>(_: T.Type) {
            withUnsafeStoredElements(as: T.self) { x in
                out.withUnsafeMutableStoredElements(as: T.self) { y in
                    mapLoop(x.baseAddress!, y.baseAddress!, x.count) { T(f(Double($0))) }
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        return out
    }
}

/// y[i] = f(x[i]), split over threads.
@inline(__always)
func mapLoop<T: TensorScalar>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int, _ f: (T) -> T) {
    parallelChunks(n) { range in
        for i in range { y[i] = f(x[i]) }
    }
}

/// The plain kernel of each elementwise function (the reference for the fast Float32 ones).
func unaryLoop<T: TensorScalar>(_ f: UnaryFunction, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int) {
    switch f {
    case .exp: mapLoop(x, y, n) { T.exp($0) }
    case .log: mapLoop(x, y, n) { T.log($0) }
    case .sqrt: mapLoop(x, y, n) { $0.squareRoot() }
    case .square: mapLoop(x, y, n) { $0 * $0 }
    case .tanh: mapLoop(x, y, n) { T.tanh($0) }
    case .sigmoid: mapLoop(x, y, n) { sigmoidScalar($0) }
    case .silu: mapLoop(x, y, n) { $0 * sigmoidScalar($0) }
    case .erf: mapLoop(x, y, n) { T.erf($0) }
    case .abs: mapLoop(x, y, n) { Swift.abs($0) }
    }
}

/// σ(x) = 1/(1 + e^(−x)), written so that neither branch overflows.
@inline(__always)
func sigmoidScalar<T: TensorScalar>(_ x: T) -> T {
    if x >= 0 {
        return 1 / (1 + T.exp(-x))
    }
    let e = T.exp(x)
    return e / (1 + e)
}

extension Tensor {
    /// ∂L/∂x of SiLU given g = ∂L/∂y: g · σ(x)·(1 + x·(1 − σ(x))).
    func siluBackward(_ g: Tensor) -> Tensor {
        let g = g.inLayout(layout)
        var out = Tensor(uninitializedShape: shape, dtype: dtype, layout: layout)
        switch dtype {
        case .float32:
            withUnsafeStoredElements(as: Float.self) { x in
                g.withUnsafeStoredElements(as: Float.self) { dy in
                    out.withUnsafeMutableStoredElements(as: Float.self) { dx in
                        FastKernels.siluBackward(
                            input: x.baseAddress!, outputGrad: dy.baseAddress!, inputGrad: dx.baseAddress!, count: x.count)
                    }
                }
            }
        case .float64:
            withUnsafeStoredElements(as: Double.self) { xb in
                g.withUnsafeStoredElements(as: Double.self) { dyb in
                    out.withUnsafeMutableStoredElements(as: Double.self) { dxb in
                        let (x, dy, dx) = (xb.baseAddress!, dyb.baseAddress!, dxb.baseAddress!)
                        parallelChunks(xb.count) { range in
                            for i in range {
                                let s = sigmoidScalar(x[i])
                                dx[i] = dy[i] * s * (1 + x[i] * (1 - s))
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

// MARK: - Differentiable elementwise functions

extension Tensor {
    /// eˣ elementwise (Float32: vectorised, ≤ 2 ulp; Float64: the C library's `exp`).
    public func exp() -> Tensor {
        var out = applying(.exp)
        let saved = out.detached()
        out.record(.exp(output: saved), inputs: [self])
        return out
    }

    /// Natural logarithm ln x elementwise (ln 0 = −∞, negative x gives NaN); derivative 1/x.
    public func log() -> Tensor {
        var out = applying(.log)
        out.record(.log(input: detached()), inputs: [self])
        return out
    }

    /// √x elementwise; derivative 1/(2√x).
    public func sqrt() -> Tensor {
        var out = applying(.sqrt)
        let saved = out.detached()
        out.record(.sqrt(output: saved), inputs: [self])
        return out
    }

    /// x² elementwise; derivative 2x.
    public func squared() -> Tensor {
        var out = applying(.square)
        out.record(.square(input: detached()), inputs: [self])
        return out
    }

    /// tanh x elementwise; derivative 1 − tanh²x.
    public func tanh() -> Tensor {
        var out = applying(.tanh)
        let saved = out.detached()
        out.record(.tanh(output: saved), inputs: [self])
        return out
    }

    /// The logistic sigmoid σ(x) = 1/(1 + e^(−x)) elementwise; derivative σ(x)(1 − σ(x)).
    public func sigmoid() -> Tensor {
        var out = applying(.sigmoid)
        let saved = out.detached()
        out.record(.sigmoid(output: saved), inputs: [self])
        return out
    }

    /// SiLU (swish, DDPM's nonlinearity): x · σ(x) elementwise; derivative
    /// σ(x)(1 + x(1 − σ(x))).
    public func silu() -> Tensor {
        var out = applying(.silu)
        out.record(.silu(input: detached()), inputs: [self])
        return out
    }

    /// The error function erf x = (2/√π) ∫₀ˣ e^(−t²) dt elementwise; derivative (2/√π) e^(−x²).
    ///
    /// The standard normal CDF is Φ(x) = ½(1 + erf(x/√2)), which the discretised decoder of DDPM
    /// eq. 13 evaluates at the bin edges.
    public func erf() -> Tensor {
        var out = applying(.erf)
        out.record(.erf(input: detached()), inputs: [self])
        return out
    }

    /// |x| elementwise (derivative sign(x), 0 at 0).
    public func abs() -> Tensor {
        var out = applying(.abs)
        out.record(.abs(input: detached()), inputs: [self])
        return out
    }

    /// x limited to [min, max] (either bound optional; `min` ≤ `max` is a precondition); the
    /// derivative is 1 inside the closed interval (bounds included) and 0 outside.
    public func clamped(min lower: Double? = nil, max upper: Double? = nil) -> Tensor {
        let lo = lower ?? -.infinity
        let hi = upper ?? .infinity
        precondition(lo <= hi, "clamped: min \(lo) > max \(hi)")
        var out = mapValues { Swift.min(Swift.max($0, lo), hi) }
        out.record(.clamp(input: detached(), min: lower, max: upper), inputs: [self])
        return out
    }

    /// ReLU: max(x, 0) elementwise (NaN stays NaN). It is ``clamped(min:max:)`` with min 0 and
    /// records that derivative (1 where x ≥ 0, so 1 at x = 0 where PyTorch takes 0), in a plain
    /// loop the compiler vectorises: InceptionV3 (FID) applies it after each of its 94 convolutions.
    public func relu() -> Tensor {
        var out = Tensor(uninitializedShape: shape, dtype: dtype)
        func run<T: TensorScalar>(_: T.Type) {
            withUnsafeBufferPointer(as: T.self) { xb in
                out.withUnsafeMutableBufferPointer(as: T.self) { yb in
                    let (x, y) = (xb.baseAddress!, yb.baseAddress!)
                    parallelChunks(xb.count) { range in
                        for i in range { y[i] = x[i] < 0 ? 0 : x[i] }
                    }
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        out.record(.clamp(input: detached(), min: 0, max: nil), inputs: [self])
        return out
    }

    /// A mask: 1 where x > value, else 0, in the same dtype (not recorded: no gradient flows).
    public func greaterThan(_ value: Double) -> Tensor {
        mapValues { $0 > value ? 1 : 0 }
    }

    /// A mask: 1 where x < value, else 0, in the same dtype (not recorded: no gradient flows).
    public func lessThan(_ value: Double) -> Tensor {
        mapValues { $0 < value ? 1 : 0 }
    }
}
