// Architecture of DDPM's U-Net, with the presets of the paper (DDPM §4, Appendix B) and Fashion-MNIST.

/// Everything that fixes the U-Net's computation and parameter shapes.
///
/// The fields mirror diffusers' `UNet2DModel` config (`block_out_channels`, `layers_per_block`,
/// block types with or without attention, `norm_num_groups`, `norm_eps`, `attention_head_dim`,
/// `flip_sin_to_cos`, `freq_shift`, `downsample_padding`), so a diffusers folder maps onto it
/// and back. Attention per level is stored explicitly for the down and up paths.
public struct UNetConfiguration: Codable, Equatable, Sendable {
    /// Image height and width.
    public var sampleSize: Int
    /// Channels of the input images (3 for RGB, 1 for grey).
    public var inChannels: Int
    /// 2 × inChannels for learned variance (IDDPM): mean part first, then the interpolation v.
    public var outChannels: Int
    /// Channels of each resolution level (DDPM: base channels × multipliers).
    public var blockOutChannels: [Int]
    /// Residual blocks per level on the way down (the way up has one more).
    public var layersPerBlock: Int
    /// Whether each down level has attention after its residual blocks (diffusers AttnDownBlock2D).
    public var downBlockAttention: [Bool]
    /// Whether each up level (ordered from the lowest resolution up) has attention.
    public var upBlockAttention: [Bool]
    /// Attention in the middle block (diffusers `add_attention`).
    public var midBlockAttention: Bool
    /// Dropout probability inside every residual block, in [0, 1) (DDPM CIFAR-10: 0.1); only
    /// applied in `.training` mode.
    public var dropout: Double
    /// GroupNorm groups (diffusers `norm_num_groups`; DDPM: 32); must divide every level's channels.
    public var normGroups: Int
    /// GroupNorm ε (diffusers `norm_eps`; DDPM: 1e-6).
    public var normEps: Double
    /// Channels per attention head; nil means one head over all channels (DDPM).
    public var attentionHeadDimension: Int?
    /// Order of the sinusoidal timestep embedding: false for [sin, cos] (DDPM), true for [cos, sin]
    /// (diffusers `flip_sin_to_cos`).
    public var flipSinToCos: Bool
    /// The frequencies' denominator shift (diffusers `freq_shift`): ωᵢ = exp(−ln(10000) · i/(half − shift));
    /// DDPM's embedding is shift 1.
    public var freqShift: Double
    /// 0: pad bottom/right by one before the stride-2 conv (TF 'SAME', DDPM); else symmetric.
    public var downsamplePadding: Int

    /// Every field as in diffusers' config; the defaults are DDPM's (GroupNorm 32 groups with
    /// ε 1e-6, one attention head, the [sin, cos] embedding with shift 1, TF 'SAME' downsampling).
    ///
    /// Nothing is checked here; ``problem`` says whether a U-Net can be built from the result.
    public init(
        sampleSize: Int, inChannels: Int, outChannels: Int, blockOutChannels: [Int], layersPerBlock: Int,
        downBlockAttention: [Bool], upBlockAttention: [Bool], midBlockAttention: Bool = true, dropout: Double,
        normGroups: Int = 32, normEps: Double = 1e-6, attentionHeadDimension: Int? = nil,
        flipSinToCos: Bool = false, freqShift: Double = 1, downsamplePadding: Int = 0
    ) {
        self.sampleSize = sampleSize
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.blockOutChannels = blockOutChannels
        self.layersPerBlock = layersPerBlock
        self.downBlockAttention = downBlockAttention
        self.upBlockAttention = upBlockAttention
        self.midBlockAttention = midBlockAttention
        self.dropout = dropout
        self.normGroups = normGroups
        self.normEps = normEps
        self.attentionHeadDimension = attentionHeadDimension
        self.flipSinToCos = flipSinToCos
        self.freqShift = freqShift
        self.downsamplePadding = downsamplePadding
    }

    /// DDPM's parameterisation: base channels × multipliers, attention at the listed resolutions.
    ///
    /// - Parameters:
    ///   - resolution: image height and width.
    ///   - inChannels: input channels.
    ///   - outChannels: output channels; nil for `inChannels` (2 × for learned variance).
    ///   - channels: base channels ch.
    ///   - multipliers: channel multiplier of each level (DDPM CIFAR-10: 1, 2, 2, 2).
    ///   - residualBlocks: residual blocks per level on the way down.
    ///   - attentionResolutions: the resolutions whose levels have self-attention (DDPM: 16).
    ///   - dropout: dropout probability in the residual blocks.
    ///   - groups: GroupNorm groups.
    public init(
        ddpmResolution resolution: Int, inChannels: Int, outChannels: Int? = nil, channels: Int,
        multipliers: [Int], residualBlocks: Int, attentionResolutions: Set<Int>, dropout: Double, groups: Int = 32
    ) {
        let levels = multipliers.count
        let downResolutions = (0..<levels).map { resolution >> $0 }
        self.init(
            sampleSize: resolution, inChannels: inChannels, outChannels: outChannels ?? inChannels,
            blockOutChannels: multipliers.map { $0 * channels }, layersPerBlock: residualBlocks,
            downBlockAttention: downResolutions.map { attentionResolutions.contains($0) },
            upBlockAttention: downResolutions.reversed().map { attentionResolutions.contains($0) },
            dropout: dropout, normGroups: groups)
    }

    /// DDPM CIFAR-10: 32×32×3, ch 128, (1, 2, 2, 2), 2 blocks, attention at 16×16, dropout 0.1.
    public static let cifar10 = UNetConfiguration(
        ddpmResolution: 32, inChannels: 3, channels: 128, multipliers: [1, 2, 2, 2], residualBlocks: 2,
        attentionResolutions: [16], dropout: 0.1)

    /// DDPM CelebA-HQ 256²: ch 128, (1, 1, 2, 2, 4, 4), 2 blocks, attention at 16×16, dropout 0.
    public static let celebahq256 = UNetConfiguration(
        ddpmResolution: 256, inChannels: 3, channels: 128, multipliers: [1, 1, 2, 2, 4, 4], residualBlocks: 2,
        attentionResolutions: [16], dropout: 0)

    /// DDPM LSUN 256² (same network as CelebA-HQ).
    public static let lsun256 = celebahq256

    /// Fashion-MNIST 28×28×1: ch 64, (1, 2, 2), 2 blocks, attention at 14×14, dropout 0.1.
    public static let fashion = UNetConfiguration(
        ddpmResolution: 28, inChannels: 1, channels: 64, multipliers: [1, 2, 2], residualBlocks: 2,
        attentionResolutions: [14], dropout: 0.1)

    /// The named presets.
    public static let presets: [String: UNetConfiguration] = [
        "cifar10": .cifar10, "celebahq256": .celebahq256, "lsun256": .lsun256, "fashion": .fashion,
    ]
}
