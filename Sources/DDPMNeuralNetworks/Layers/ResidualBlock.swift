// DDPM's residual block with timestep projection (diffusers ResnetBlock2D).
import DDPMTensors

/// GN → SiLU → conv3×3 → + Linear(SiLU(temb)) → GN → SiLU → dropout → conv3×3, plus the input
/// (through a 1×1 `conv_shortcut` when the channel count changes). Activations NCHW.
public final class ResidualBlock: Module {
    public let norm1: GroupNorm
    public let conv1: Conv2D
    public let timeProjection: Linear
    public let norm2: GroupNorm
    public let dropout: Dropout
    public let conv2: Conv2D
    public let shortcut: Conv2D?

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

    public var namedParameters: [(name: String, parameter: Parameter)] {
        var result = prefixed("norm1", norm1) + prefixed("conv1", conv1) + prefixed("time_emb_proj", timeProjection)
            + prefixed("norm2", norm2) + prefixed("conv2", conv2)
        if let shortcut { result += prefixed("conv_shortcut", shortcut) }
        return result
    }

    /// x: [N, Cin, H, W], temb: [N, T] → [N, Cout, H, W].
    public func callAsFunction(_ x: Tensor, timeEmbedding temb: Tensor, mode: ForwardMode) -> Tensor {
        var h = conv1(norm1.withSiLU(x))
        let t = timeProjection(temb.silu())
        h = h + t.reshaped([t.shape[0], t.shape[1], 1, 1])
        h = conv2(dropout(norm2.withSiLU(h), mode: mode))
        return (shortcut?(x) ?? x) + h
    }
}
