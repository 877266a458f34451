// Linear (dense) layer: y = x Wᵀ + b with PyTorch's [out, in] weight layout.
import DDPMTensors

/// A fully connected layer.
///
/// y = x·Wᵀ + b over the last dimension of x: x is [..., in], W is [out, in] (PyTorch and
/// diffusers store it so), b is [out], y is [..., out].
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter

    /// - Parameter initScale: variance-scaling scale (DDPM's `init_scale`); 0 for output layers.
    public init(_ inFeatures: Int, _ outFeatures: Int, initScale: Double = 1, generator: inout PhiloxGenerator) {
        weight = Parameter(Initializer.varianceScaling(
            shape: [outFeatures, inFeatures], fanIn: inFeatures, fanOut: outFeatures, scale: initScale, generator: &generator))
        bias = Parameter(Tensor(zeros: [outFeatures]))
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        matmul(x, weight.value, transposeB: true) + bias.value
    }
}
