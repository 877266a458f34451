// Element types: Float32 for models, Float64 for gradient checks and reference math.
import RealModule

/// The element type of a tensor.
///
/// Models run in `.float32` on the fast kernels (oneDNN, vectorised Swift). `.float64` runs the
/// same operations on the plain reference kernels; tests use it to check every derivative by
/// central differences and every equation against float64 references.
public enum DType: String, Sendable, CaseIterable {
    /// IEEE binary32 (`Float`): model weights, activations and gradients, on the fast kernels.
    case float32
    /// IEEE binary64 (`Double`): gradient checks and reference math, on the reference kernels.
    case float64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32: 4
        case .float64: 8
        }
    }
}

/// The scalar types a tensor can hold: `Float` and `Double`.
///
/// Kernels are written once, generic over this protocol, and specialised at each `switch` on
/// ``DType``. `Real` (swift-numerics) supplies the elementary functions of the reference kernels.
public protocol TensorScalar: BinaryFloatingPoint, Real, SIMDScalar, Sendable
where Self.RawSignificand: FixedWidthInteger {
    /// The ``DType`` whose elements are of this type.
    static var dtype: DType { get }
}

extension Float: TensorScalar {
    /// ``DType/float32``.
    public static var dtype: DType { .float32 }
}

extension Double: TensorScalar {
    /// ``DType/float64``.
    public static var dtype: DType { .float64 }
}
