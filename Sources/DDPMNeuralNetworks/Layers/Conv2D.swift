// 2-D convolution layer over NCHW activations with OIHW weights and a bias.
import DDPMTensors

/// A 2-D convolution with bias and a square kernel: y = conv2d(x, weight) + bias.
///
/// Activations are NCHW: x is [N, in, H, W] and y is [N, out, H′, W′] with
/// H′ = ⌊(H + top + bottom − k)/stride⌋ + 1 (likewise W′). The weight is [out, in, k, k] (PyTorch's
/// OIHW) and the bias [out]; their names are `weight` and `bias`, as in PyTorch's `Conv2d`.
public final class Conv2D: Module {
    /// The kernel, [out, in, k, k] (OIHW), initialised by variance scaling (fan-average, uniform).
    public let weight: Parameter
    /// The bias, [out], initialised to zeros.
    public let bias: Parameter
    /// The step in both spatial directions (2 for DDPM's downsampling).
    public let stride: Int
    /// The zeros added around the input (may differ per side).
    public let padding: Padding2D

    /// A convolution from `inChannels` to `outChannels` channels with a `kernelSize`×`kernelSize`
    /// kernel.
    ///
    /// - Parameters:
    ///   - inChannels: channels of the input.
    ///   - outChannels: channels of the output (number of filters).
    ///   - kernelSize: the side of the square kernel.
    ///   - stride: the step in both directions.
    ///   - padding: the zero padding, e.g. `Padding2D(1)` for a 3×3 kernel that keeps the size.
    ///   - initScale: variance-scaling scale; 0 (→ 1e-10, as the official code) for the
    ///     output convolutions of residual blocks and of the network.
    ///   - generator: the source of the initial weights.
    public init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Padding2D,
        initScale: Double = 1, generator: inout PhiloxGenerator
    ) {
        let area = kernelSize * kernelSize
        weight = Parameter(
            Initializer.varianceScaling(
                shape: [outChannels, inChannels, kernelSize, kernelSize], fanIn: inChannels * area,
                fanOut: outChannels * area, scale: initScale, generator: &generator))
        bias = Parameter(Tensor(zeros: [outChannels]))
        self.stride = stride
        self.padding = padding
    }

    /// `weight` and `bias`.
    public var namedParameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    /// The convolution of x: [N, in, H, W] → [N, out, H′, W′] (NCHW).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight.value, bias: bias.value, stride: (stride, stride), padding: padding)
    }
}
