// DDPM's downsampling (strided 3×3 conv) and upsampling (nearest ×2 then 3×3 conv), NCHW.
import DDPMTensors

/// 3×3 convolution with stride 2. With `padding == 0` (diffusers `downsample_padding = 0`, the DDPM
/// TF code) the input is padded by one on the bottom and right only, as TensorFlow's 'SAME' does
/// for even sizes; otherwise by `padding` on every side.
///
/// [N, C, H, W] → [N, C, ⌊H/2⌋, ⌊W/2⌋] with the default padding (NCHW; for odd sizes the fixed
/// bottom-and-right padding of diffusers gives ⌊H/2⌋ where TensorFlow's 'SAME' would give ⌈H/2⌉).
/// The parameters are `conv.weight` and `conv.bias`, as in diffusers' `Downsample2D`.
public final class Downsample: Module {
    /// The 3×3, stride-2 convolution from C to C channels.
    public let conv: Conv2D

    /// A downsampling layer for `channels` channels; `padding` as diffusers' `downsample_padding`
    /// (0, the default and DDPM's choice: one row and column of zeros at the bottom and right).
    public init(channels: Int, padding: Int = 0, generator: inout PhiloxGenerator) {
        let pad = padding == 0 ? Padding2D(top: 0, bottom: 1, left: 0, right: 1) : Padding2D(padding)
        conv = Conv2D(channels, channels, kernelSize: 3, stride: 2, padding: pad, generator: &generator)
    }

    /// `conv.weight` and `conv.bias`.
    public var namedParameters: [(name: String, parameter: Parameter)] { prefixed("conv", conv) }

    /// The halved activations, [N, C, H, W] → [N, C, H′, W′] (NCHW).
    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }
}

/// Nearest-neighbour ×2 upsampling followed by a 3×3 convolution (padding 1), DDPM's upsampling
/// layer: [N, C, H, W] → [N, C, 2H, 2W] (NCHW). Parameters `conv.weight` and `conv.bias`, as in
/// diffusers' `Upsample2D`.
public final class Upsample: Module {
    /// The 3×3 convolution from C to C channels applied after the upsampling.
    public let conv: Conv2D

    /// An upsampling layer for `channels` channels.
    public init(channels: Int, generator: inout PhiloxGenerator) {
        conv = Conv2D(channels, channels, kernelSize: 3, padding: Padding2D(1), generator: &generator)
    }

    /// `conv.weight` and `conv.bias`.
    public var namedParameters: [(name: String, parameter: Parameter)] { prefixed("conv", conv) }

    /// The doubled activations, [N, C, H, W] → [N, C, 2H, 2W] (NCHW).
    public func callAsFunction(_ x: Tensor) -> Tensor { conv(upsampleNearest2x(x)) }
}
