// DDPM's residual block with timestep projection (diffusers ResnetBlock2D).
import DDPMTensors

/// DDPM's residual block with the timestep embedding added in the middle:
/// GN → SiLU → conv3×3 → + Linear(SiLU(temb)) → GN → SiLU → dropout → conv3×3, plus the input
/// (through a 1×1 `conv_shortcut` when the channel count changes). Activations NCHW.
///
/// Parameter names are diffusers' `ResnetBlock2D`: `norm1`, `conv1`, `time_emb_proj`, `norm2`,
/// `conv2` and, when the channels change, `conv_shortcut`. The second convolution starts near
/// zero (init scale 0 → 1e-10, as the official code), so a new block is almost the identity.
public final class ResidualBlock: Module {
    /// The first group norm, over the input's channels (`norm1`).
    public let norm1: GroupNorm
    /// The first 3×3 convolution, in → out channels (`conv1`).
    public let conv1: Conv2D
    /// The projection of SiLU(temb) to one shift per output channel (`time_emb_proj`).
    public let timeProjection: Linear
    /// The second group norm, over the output channels (`norm2`).
    public let norm2: GroupNorm
    /// Dropout before the second convolution (DDPM: 0.1 on CIFAR-10).
    public let dropout: Dropout
    /// The second 3×3 convolution, out → out channels, initialised near zero (`conv2`).
    public let conv2: Conv2D
    /// The 1×1 convolution that maps the input to the output channels when they differ
    /// (`conv_shortcut`); nil when the channel counts agree.
    public let shortcut: Conv2D?

    /// A block from `inChannels` to `outChannels` channels.
    ///
    /// - Parameters:
    ///   - inChannels: channels of the input x.
    ///   - outChannels: channels of the output.
    ///   - timeEmbeddingChannels: the width of the timestep embedding temb.
    ///   - groups: group-norm groups (DDPM: 32); must divide both channel counts.
    ///   - eps: the group norms' eps.
    ///   - dropout: the dropout probability.
    ///   - generator: the source of the initial weights.
    public init(
        inChannels: Int, outChannels: Int, timeEmbeddingChannels: Int, groups: Int, eps: Double = 1e-6,
        dropout: Double, generator: inout PhiloxGenerator
    ) {
        norm1 = GroupNorm(groups: groups, channels: inChannels, eps: eps)
        conv1 = Conv2D(inChannels, outChannels, kernelSize: 3, padding: Padding2D(1), generator: &generator)
        timeProjection = Linear(timeEmbeddingChannels, outChannels, generator: &generator)
        norm2 = GroupNorm(groups: groups, channels: outChannels, eps: eps)
        self.dropout = Dropout(probability: dropout)
        conv2 = Conv2D(outChannels, outChannels, kernelSize: 3, padding: Padding2D(1), initScale: 0, generator: &generator)
        shortcut = inChannels == outChannels ? nil : Conv2D(inChannels, outChannels, kernelSize: 1, padding: .zero, generator: &generator)
    }

    /// The parameters under diffusers' names, in the order `norm1`, `conv1`, `time_emb_proj`,
    /// `norm2`, `conv2`, `conv_shortcut`.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        var result =
            prefixed("norm1", norm1) + prefixed("conv1", conv1) + prefixed("time_emb_proj", timeProjection)
            + prefixed("norm2", norm2) + prefixed("conv2", conv2)
        if let shortcut { result += prefixed("conv_shortcut", shortcut) }
        return result
    }

    /// x: [N, Cin, H, W], temb: [N, T] (T the embedding width) → [N, Cout, H, W]; `mode` switches
    /// the dropout.
    public func callAsFunction(_ x: Tensor, timeEmbedding temb: Tensor, mode: ForwardMode) -> Tensor {
        var h = conv1(norm1.withSiLU(x))
        let t = timeProjection(temb.silu())
        h = h + t.reshaped([t.shape[0], t.shape[1], 1, 1])
        h = conv2(dropout(norm2.withSiLU(h), mode: mode))
        return (shortcut?(x) ?? x) + h
    }
}
