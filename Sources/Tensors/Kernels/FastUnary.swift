// Dispatch of elementwise functions to the vectorised Float32 kernels.

/// Routes an elementwise function to its vectorised Float32 kernel; returns false when there is
/// none (the caller then runs the plain loop).
enum FastUnary {
    static func apply(_ f: UnaryFunction, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Bool {
        false
    }
}
