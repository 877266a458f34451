// DDPM's downsampling (strided 3×3 conv) and upsampling (nearest ×2 then 3×3 conv), NCHW.
import DDPMTensors

/// 3×3 convolution with stride 2. With `padding == 0` (diffusers `downsample_padding = 0`, the DDPM
/// TF code) the input is padded by one on the bottom and right only, as TensorFlow's 'SAME';
/// otherwise by `padding` on every side.
public final class Downsample: Module {
    public let conv: Conv2D

    public init(channels: Int, padding: Int = 0, generator: inout PhiloxGenerator) {
        let pad = padding == 0 ? Padding2D(top: 0, bottom: 1, left: 0, right: 1) : Padding2D(padding)
        conv = Conv2D(channels, channels, kernelSize: 3, stride: 2, padding: pad, generator: &generator)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { prefixed("conv", conv) }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }
}

/// Nearest-neighbour ×2 upsampling followed by a 3×3 convolution.
public final class Upsample: Module {
    public let conv: Conv2D

    public init(channels: Int, generator: inout PhiloxGenerator) {
        conv = Conv2D(channels, channels, kernelSize: 3, padding: Padding2D(1), generator: &generator)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { prefixed("conv", conv) }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv(upsampleNearest2x(x)) }
}
