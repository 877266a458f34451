// 2-D convolution layer over NCHW activations with OIHW weights and a bias.
import DDPMTensors

/// A convolution with bias. Activations NCHW; weight [out, in, k, k]; bias [out].
public final class Conv2D: Module {
    public let weight: Parameter
    public let bias: Parameter
    public let stride: Int
    public let padding: Padding2D

    /// - Parameter initScale: variance-scaling scale; 0 (→ 1e-10, as the official code) for the
    ///   output convolutions of residual blocks and of the network.
    public init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Padding2D,
        initScale: Double = 1, generator: inout PhiloxGenerator
    ) {
        let area = kernelSize * kernelSize
        weight = Parameter(Initializer.varianceScaling(
            shape: [outChannels, inChannels, kernelSize, kernelSize], fanIn: inChannels * area,
            fanOut: outChannels * area, scale: initScale, generator: &generator))
        bias = Parameter(Tensor(zeros: [outChannels]))
        self.stride = stride
        self.padding = padding
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight.value, bias: bias.value, stride: (stride, stride), padding: padding)
    }
}
