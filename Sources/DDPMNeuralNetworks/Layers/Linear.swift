// Linear (dense) layer: y = x Wᵀ + b with PyTorch's [out, in] weight layout.
import DDPMTensors

/// A fully connected layer.
///
/// y = x·Wᵀ + b over the last dimension of x: x is [..., in], W is [out, in] (PyTorch and
/// diffusers store it so), b is [out], y is [..., out].
public final class Linear: Module {
    /// W, [out, in], initialised by variance scaling (fan-average, uniform).
    public let weight: Parameter
    /// b, [out], initialised to zeros.
    public let bias: Parameter

    /// A layer from `inFeatures` to `outFeatures` features.
    ///
    /// - Parameters:
    ///   - inFeatures: the extent of x's last dimension.
    ///   - outFeatures: the extent of y's last dimension.
    ///   - initScale: variance-scaling scale (DDPM's `init_scale`); 0 for output layers.
    ///   - generator: the source of the initial weights.
    public init(_ inFeatures: Int, _ outFeatures: Int, initScale: Double = 1, generator: inout PhiloxGenerator) {
        weight = Parameter(
            Initializer.varianceScaling(
                shape: [outFeatures, inFeatures], fanIn: inFeatures, fanOut: outFeatures, scale: initScale, generator: &generator))
        bias = Parameter(Tensor(zeros: [outFeatures]))
    }

    /// `weight` and `bias`.
    public var namedParameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    /// y = x·Wᵀ + b: [..., in] → [..., out].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        matmul(x, weight.value, transposeB: true) + bias.value
    }
}
