// Dispatch of elementwise functions to the vectorised Float32 kernels.

/// Routes an elementwise function to its vectorised Float32 kernel; returns false when there is
/// none (the caller then runs the plain loop).
enum FastUnary {
    static func apply(_ f: UnaryFunction, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Bool {
        switch f {
        case .exp: FastKernels.exp(input: x, output: y, count: n)
        case .log: FastKernels.log(input: x, output: y, count: n)
        case .tanh: FastKernels.tanh(input: x, output: y, count: n)
        case .sigmoid: FastKernels.sigmoid(input: x, output: y, count: n)
        case .silu: FastKernels.silu(input: x, output: y, count: n)
        case .erf: FastKernels.erf(input: x, output: y, count: n)
        case .sqrt, .square, .abs: return false
        }
        return true
    }
}
