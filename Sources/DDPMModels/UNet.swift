// DDPM's U-Net ε_θ(xₜ, t) (DDPM §4, Appendix B) with diffusers UNet2DModel parameter names.
import DDPMNeuralNetworks
import DDPMTensors

/// One resolution level of the down path (diffusers DownBlock2D / AttnDownBlock2D).
final class DownLevel: Module {
    let resnets: [ResidualBlock]
    let attentions: [SpatialAttention]
    let downsampler: Downsample?

    init(resnets: [ResidualBlock], attentions: [SpatialAttention], downsampler: Downsample?) {
        (self.resnets, self.attentions, self.downsampler) = (resnets, attentions, downsampler)
    }

    var namedParameters: [(name: String, parameter: Parameter)] {
        var result = prefixed("resnets", resnets) + prefixed("attentions", attentions)
        if let downsampler { result += prefixed("downsamplers.0", downsampler) }
        return result
    }
}

/// One resolution level of the up path (diffusers UpBlock2D / AttnUpBlock2D).
final class UpLevel: Module {
    let resnets: [ResidualBlock]
    let attentions: [SpatialAttention]
    let upsampler: Upsample?

    init(resnets: [ResidualBlock], attentions: [SpatialAttention], upsampler: Upsample?) {
        (self.resnets, self.attentions, self.upsampler) = (resnets, attentions, upsampler)
    }

    var namedParameters: [(name: String, parameter: Parameter)] {
        var result = prefixed("resnets", resnets) + prefixed("attentions", attentions)
        if let upsampler { result += prefixed("upsamplers.0", upsampler) }
        return result
    }
}

/// The middle: residual block, attention, residual block.
final class MiddleBlock: Module {
    let resnets: [ResidualBlock]
    let attention: SpatialAttention?

    init(resnets: [ResidualBlock], attention: SpatialAttention?) {
        (self.resnets, self.attention) = (resnets, attention)
    }

    var namedParameters: [(name: String, parameter: Parameter)] {
        var result = prefixed("resnets", resnets)
        if let attention { result += prefixed("attentions.0", attention) }
        return result
    }
}

/// The timestep MLP: Linear(ch → 4ch) → SiLU → Linear(4ch → 4ch).
final class TimeEmbeddingMLP: Module {
    let linear1: Linear
    let linear2: Linear

    init(_ channels: Int, _ embedding: Int, generator: inout PhiloxGenerator) {
        linear1 = Linear(channels, embedding, generator: &generator)
        linear2 = Linear(embedding, embedding, generator: &generator)
    }

    var namedParameters: [(name: String, parameter: Parameter)] { prefixed("linear_1", linear1) + prefixed("linear_2", linear2) }

    func callAsFunction(_ x: Tensor) -> Tensor { linear2(linear1(x).silu()) }
}

/// DDPM's noise-prediction network.
///
/// conv_in → down levels (residual blocks, attention where configured, strided-conv
/// downsampling) → middle (residual, attention, residual) → up levels (each residual block takes
/// the concatenation with a skip from the down path; nearest ×2 + conv upsampling) → GroupNorm →
/// SiLU → conv_out. The timestep enters through a sinusoidal embedding and an MLP, projected
/// into every residual block. Activations are NCHW; parameter names and layouts are diffusers'.
public final class UNet: Module {
    /// The architecture this network was built with (written to config.json by ``save(diffusersFolder:)``).
    public let configuration: UNetConfiguration
    let embedding: SinusoidalEmbedding
    let convIn: Conv2D
    let timeMLP: TimeEmbeddingMLP
    let downLevels: [DownLevel]
    let middle: MiddleBlock
    let upLevels: [UpLevel]
    let normOut: GroupNorm
    let convOut: Conv2D

    /// A U-Net with DDPM's initialisation, drawn from `generator` (`conv_out`, like the
    /// second convolution of every residual block, starts near zero with DDPM's `init_scale` 0, so
    /// the untrained network predicts ε ≈ 0).
    ///
    /// `c` must pass ``UNetConfiguration/problem``; a configuration whose attention flags do not
    /// match its levels is a programmer error (precondition).
    public init(_ c: UNetConfiguration, generator: inout PhiloxGenerator) {
        precondition(
            !c.blockOutChannels.isEmpty && c.downBlockAttention.count == c.blockOutChannels.count
                && c.upBlockAttention.count == c.blockOutChannels.count,
            "UNet: block channels \(c.blockOutChannels) and attention flags \(c.downBlockAttention)/\(c.upBlockAttention) must have one entry per level"
        )
        configuration = c
        let base = c.blockOutChannels[0]
        let temb = 4 * base
        embedding = SinusoidalEmbedding(dimension: base, flipSinToCos: c.flipSinToCos, frequencyShift: c.freqShift)
        convIn = Conv2D(c.inChannels, base, kernelSize: 3, padding: Padding2D(1), generator: &generator)
        timeMLP = TimeEmbeddingMLP(base, temb, generator: &generator)
        func resnet(_ i: Int, _ o: Int, _ g: inout PhiloxGenerator) -> ResidualBlock {
            ResidualBlock(
                inChannels: i, outChannels: o, timeEmbeddingChannels: temb, groups: c.normGroups, eps: c.normEps, dropout: c.dropout,
                generator: &g)
        }
        func attention(_ ch: Int, _ g: inout PhiloxGenerator) -> SpatialAttention {
            SpatialAttention(channels: ch, groups: c.normGroups, eps: c.normEps, headDimension: c.attentionHeadDimension, generator: &g)
        }
        let levels = c.blockOutChannels.count
        var down: [DownLevel] = []
        var channels = base
        for level in 0..<levels {
            let out = c.blockOutChannels[level]
            var resnets: [ResidualBlock] = []
            var attentions: [SpatialAttention] = []
            for j in 0..<c.layersPerBlock {
                resnets.append(resnet(j == 0 ? channels : out, out, &generator))
                if c.downBlockAttention[level] { attentions.append(attention(out, &generator)) }
            }
            let isLast = level == levels - 1
            down.append(
                DownLevel(
                    resnets: resnets, attentions: attentions,
                    downsampler: isLast ? nil : Downsample(channels: out, padding: c.downsamplePadding, generator: &generator)))
            channels = out
        }
        downLevels = down
        let deepest = c.blockOutChannels[levels - 1]
        let mid0 = resnet(deepest, deepest, &generator)
        let midAttention = c.midBlockAttention ? attention(deepest, &generator) : nil
        let mid1 = resnet(deepest, deepest, &generator)
        middle = MiddleBlock(resnets: [mid0, mid1], attention: midAttention)

        let reversed = Array(c.blockOutChannels.reversed())
        var up: [UpLevel] = []
        var previous = reversed[0]
        for level in 0..<levels {
            let out = reversed[level]
            let skipIn = reversed[min(level + 1, levels - 1)]
            var resnets: [ResidualBlock] = []
            var attentions: [SpatialAttention] = []
            for j in 0...c.layersPerBlock {
                let skip = j == c.layersPerBlock ? skipIn : out
                resnets.append(resnet((j == 0 ? previous : out) + skip, out, &generator))
                if c.upBlockAttention[level] { attentions.append(attention(out, &generator)) }
            }
            let isLast = level == levels - 1
            up.append(
                UpLevel(resnets: resnets, attentions: attentions, upsampler: isLast ? nil : Upsample(channels: out, generator: &generator)))
            previous = out
        }
        upLevels = up
        normOut = GroupNorm(groups: c.normGroups, channels: base, eps: c.normEps)
        convOut = Conv2D(base, c.outChannels, kernelSize: 3, padding: Padding2D(1), initScale: 0, generator: &generator)
    }

    /// The parameters under diffusers' `UNet2DModel` names, in the order the network creates them:
    /// `conv_in.*`, `time_embedding.linear_{1,2}.*`, `down_blocks.{i}.resnets.{j}.*`,
    /// `down_blocks.{i}.attentions.{j}.*`, `down_blocks.{i}.downsamplers.0.conv.*`,
    /// `mid_block.resnets.{0,1}.*`, `mid_block.attentions.0.*`, `up_blocks.{i}.*`,
    /// `conv_norm_out.*`, `conv_out.*`; PyTorch layouts (conv [out, in, kh, kw], linear [out, in]).
    public var namedParameters: [(name: String, parameter: Parameter)] {
        prefixed("conv_in", convIn) + prefixed("time_embedding", timeMLP) + prefixed("down_blocks", downLevels)
            + prefixed("mid_block", middle) + prefixed("up_blocks", upLevels)
            + prefixed("conv_norm_out", normOut) + prefixed("conv_out", convOut)
    }

    /// ε_θ(xₜ, t): x is [N, inChannels, H, W]; `timesteps` holds one 0-based index per batch
    /// element (index i is the paper's t = i + 1). Returns [N, outChannels, H, W].
    public func callAsFunction(_ x: Tensor, timesteps: [Int], mode: ForwardMode = .evaluation) -> Tensor {
        precondition(
            x.rank == 4 && x.shape[1] == configuration.inChannels && timesteps.count == x.shape[0],
            "UNet: input \(x.shape) must be [N, \(configuration.inChannels), H, W] with one timestep per row, got \(timesteps.count) timesteps"
        )
        let temb = timeMLP(embedding(timesteps, dtype: x.dtype))
        var h = convIn(x)
        var skips = [h]
        for level in downLevels {
            for (j, block) in level.resnets.enumerated() {
                h = block(h, timeEmbedding: temb, mode: mode)
                if !level.attentions.isEmpty { h = level.attentions[j](h) }
                skips.append(h)
            }
            if let downsampler = level.downsampler {
                h = downsampler(h)
                skips.append(h)
            }
        }
        h = middle.resnets[0](h, timeEmbedding: temb, mode: mode)
        if let attention = middle.attention { h = attention(h) }
        h = middle.resnets[1](h, timeEmbedding: temb, mode: mode)
        for level in upLevels {
            for (j, block) in level.resnets.enumerated() {
                h = block(Tensor.concatenate([h, skips.removeLast()], axis: 1), timeEmbedding: temb, mode: mode)
                if !level.attentions.isEmpty { h = level.attentions[j](h) }
            }
            if let upsampler = level.upsampler { h = upsampler(h) }
        }
        return convOut(normOut.withSiLU(h))
    }
}
