// Group normalisation layer (NCHW) with per-channel scale ("weight") and shift ("bias").
import DDPMTensors

/// GroupNorm over NCHW activations; DDPM uses 32 groups, diffusers' eps is 1e-6.
public final class GroupNorm: Module {
    public let weight: Parameter
    public let bias: Parameter
    public let groups: Int
    public let eps: Double

    public init(groups: Int, channels: Int, eps: Double = 1e-6) {
        precondition(channels % groups == 0, "GroupNorm: \(channels) channels do not split into \(groups) groups")
        weight = Parameter(Tensor(repeating: 1, shape: [channels]))
        bias = Parameter(Tensor(zeros: [channels]))
        self.groups = groups
        self.eps = eps
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        groupNorm(x, groups: groups, gamma: weight.value, beta: bias.value, eps: eps)
    }

    /// GroupNorm then SiLU, `self(x).silu()`, as one op (`groupNormSiLU`).
    public func withSiLU(_ x: Tensor) -> Tensor {
        groupNormSiLU(x, groups: groups, gamma: weight.value, beta: bias.value, eps: eps)
    }
}
