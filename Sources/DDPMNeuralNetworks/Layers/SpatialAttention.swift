// Self-attention over the spatial positions of NCHW activations (DDPM's attention block; diffusers Attention).
import DDPMTensors

/// GroupNorm → q, k, v projections over the H·W positions → softmax(q kᵀ/√d) v → output
/// projection → + input. One head of dimension C by default (DDPM); diffusers'
/// `attention_head_dim` splits C into C/d heads.
///
/// Parameter names follow diffusers: `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0`.
public final class SpatialAttention: Module {
    /// The group norm before the projections (`group_norm`).
    public let norm: GroupNorm
    /// The query projection, C → C (`to_q`).
    public let query: Linear
    /// The key projection, C → C (`to_k`).
    public let key: Linear
    /// The value projection, C → C (`to_v`).
    public let value: Linear
    /// The output projection, C → C, initialised near zero (`to_out.0`), so a new block is almost
    /// the identity.
    public let output: Linear
    /// The number of heads, C/d (1 in DDPM).
    public let heads: Int

    /// An attention block over `channels` channels.
    ///
    /// - Parameters:
    ///   - channels: C, the channels of the input (and of every projection).
    ///   - groups: group-norm groups; must divide C.
    ///   - eps: the group norm's eps.
    ///   - headDimension: d, the channels per head (diffusers' `attention_head_dim`); nil for one
    ///     head of C channels. Must divide C.
    ///   - generator: the source of the initial weights.
    public init(channels: Int, groups: Int, eps: Double = 1e-6, headDimension: Int? = nil, generator: inout PhiloxGenerator) {
        let d = headDimension ?? channels
        precondition(channels % d == 0, "SpatialAttention: \(channels) channels do not split into heads of \(d)")
        heads = channels / d
        norm = GroupNorm(groups: groups, channels: channels, eps: eps)
        query = Linear(channels, channels, generator: &generator)
        key = Linear(channels, channels, generator: &generator)
        value = Linear(channels, channels, generator: &generator)
        output = Linear(channels, channels, initScale: 0, generator: &generator)
    }

    /// The parameters under diffusers' names: `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0`.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        prefixed("group_norm", norm) + prefixed("to_q", query) + prefixed("to_k", key)
            + prefixed("to_v", value) + prefixed("to_out.0", output)
    }

    /// x: [N, C, H, W] → [N, C, H, W]: x plus the projected attention output, each of the H·W
    /// positions attending to all of them.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let positions = h * w
        let d = c / heads
        let tokens = norm(x).tokensFromImage()  // [N, HW, C]
        func split(_ t: Tensor) -> Tensor {  // [N, HW, C] → [N, heads, HW, d]
            heads == 1 ? t.reshaped([n, 1, positions, d]) : t.reshaped([n, positions, heads, d]).permuted([0, 2, 1, 3])
        }
        let q = split(query(tokens)), k = split(key(tokens)), v = split(value(tokens))
        let weights = softmax(matmul(q, k, transposeB: true) * (1 / Double(d).squareRoot()), axis: -1)
        var attended = matmul(weights, v)  // [N, heads, HW, d]
        attended = heads == 1 ? attended.reshaped([n, positions, c]) : attended.permuted([0, 2, 1, 3]).reshaped([n, positions, c])
        let projected = Tensor.image(fromTokens: output(attended), height: h, width: w)
        return x + projected
    }
}
