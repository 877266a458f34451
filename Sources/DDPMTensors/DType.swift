// Element types: Float32 for models, Float64 for gradient checks and reference math.
import RealModule

/// The element type of a tensor.
///
/// Models run in `.float32` on the fast kernels (oneDNN, vectorised Swift). `.float64` runs the
/// same operations on the plain reference kernels; tests use it to check every derivative by
/// central differences and every equation against float64 references.
public enum DType: String, Sendable, CaseIterable {
    case float32
    case float64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32: 4
        case .float64: 8
        }
    }
}

/// The scalar types a tensor can hold. Kernels are written once, generic over this protocol,
/// and specialised at each `switch` on `DType`.
public protocol TensorScalar: BinaryFloatingPoint, Real, SIMDScalar, Sendable
where Self.RawSignificand: FixedWidthInteger {
    static var dtype: DType { get }
}

extension Float: TensorScalar {
    public static var dtype: DType { .float32 }
}

extension Double: TensorScalar {
    public static var dtype: DType { .float64 }
}
