// Group normalisation layer (NCHW) with per-channel scale ("weight") and shift ("bias").
import DDPMTensors

/// Group normalisation (Wu & He 2018) over NCHW activations with a learned per-channel scale
/// and shift; DDPM uses 32 groups, diffusers' eps is 1e-6.
///
/// Each sample's `groups` groups of consecutive channels are normalised by their own mean and
/// biased variance over the channels and all positions: y = (x − μ)/√(σ² + eps) · weight[c] +
/// bias[c]. Parameter names `weight` and `bias` are PyTorch's (γ and β).
public final class GroupNorm: Module {
    /// γ, the per-channel scale, [C], initialised to ones.
    public let weight: Parameter
    /// β, the per-channel shift, [C], initialised to zeros.
    public let bias: Parameter
    /// The number of groups the channels are split into.
    public let groups: Int
    /// Added to the variance before the square root.
    public let eps: Double

    /// A group norm over `channels` channels in `groups` groups (`groups` must divide `channels`,
    /// a precondition).
    public init(groups: Int, channels: Int, eps: Double = 1e-6) {
        precondition(channels % groups == 0, "GroupNorm: \(channels) channels do not split into \(groups) groups")
        weight = Parameter(Tensor(repeating: 1, shape: [channels]))
        bias = Parameter(Tensor(zeros: [channels]))
        self.groups = groups
        self.eps = eps
    }

    /// `weight` and `bias`.
    public var namedParameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    /// The normalised activations, [N, C, …] → [N, C, …] (NCHW; any trailing dimensions).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        groupNorm(x, groups: groups, gamma: weight.value, beta: bias.value, eps: eps)
    }

    /// GroupNorm then SiLU, `self(x).silu()`, as one op (`groupNormSiLU`).
    public func withSiLU(_ x: Tensor) -> Tensor {
        groupNormSiLU(x, groups: groups, gamma: weight.value, beta: bias.value, eps: eps)
    }
}
