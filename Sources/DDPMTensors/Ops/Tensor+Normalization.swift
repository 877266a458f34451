// Group normalisation (NCHW) and softmax over an axis.

/// Group normalisation (Wu & He 2018) of NCHW activations with a per-channel affine map.
///
/// The C channels are split into `groups` consecutive groups; each sample's group is normalised
/// by its own mean and biased variance over its channels and all spatial positions, then scaled
/// by `gamma[c]` and shifted by `beta[c]`:
/// y = (x − μ)/√(σ² + eps) · gamma[c] + beta[c]. DDPM uses 32 groups; diffusers' eps is 1e-6.
///
/// The graph saves the input, gamma and the per-(sample, group) mean and 1/√(σ² + eps) for the
/// derivative. Float32 runs the fused two-pass kernel `FastKernels.groupNormForward`, Float64 the
/// reference loops.
/// - Parameters:
///   - input: [N, C, ...] (NCHW; any number of trailing spatial dimensions, including none).
///   - groups: the number of groups; must divide C.
///   - gamma: the per-channel scale, [C].
///   - beta: the per-channel shift, [C].
///   - eps: added to the variance before the square root.
/// - Returns: the normalised activations, the shape of `input`.
public func groupNorm(_ input: Tensor, groups: Int, gamma: Tensor, beta: Tensor, eps: Double = 1e-6) -> Tensor {
    var (out, mean, rstd) = groupNormForward("groupNorm", input, groups, gamma, beta, eps, silu: false)
    out.record(
        .groupNorm(input: input.detached(), gamma: gamma.detached(), mean: mean, rstd: rstd, groups: groups),
        inputs: [input, gamma, beta])
    return out
}

/// SiLU of group normalisation, `groupNorm(input, …).silu()` as one op (DDPM's U-Net applies
/// SiLU after every group norm but the attention block's).
///
/// Same shapes, layout and parameters as
/// ``groupNorm(_:groups:gamma:beta:eps:)`` (NCHW input, gamma and beta [C]). The fused kernel never
/// stores the normalised values: the forward pass applies SiLU before writing, and the derivative
/// recomputes them from the input and the saved statistics, so the graph holds one activation less
/// per call and makes one pass less over memory each way.
public func groupNormSiLU(_ input: Tensor, groups: Int, gamma: Tensor, beta: Tensor, eps: Double = 1e-6) -> Tensor {
    var (out, mean, rstd) = groupNormForward("groupNormSiLU", input, groups, gamma, beta, eps, silu: true)
    let (savedInput, savedGamma, savedBeta) = (input.detached(), gamma.detached(), beta.detached())
    out.record(
        .groupNormSiLU(input: savedInput, gamma: savedGamma, beta: savedBeta, mean: mean, rstd: rstd, groups: groups),
        inputs: [input, gamma, beta])
    if out.node != nil {
        // The same kernel on the same tensors gives the same values (see `Recomputation`).
        out.recomputation = Recomputation {
            groupNormForward("groupNormSiLU", savedInput, groups, savedGamma, savedBeta, eps, silu: true).output
        }
    }
    return out
}

/// Checks the arguments of a group norm op and runs its forward kernel: the output and the
/// per-(sample, group) mean and 1/σ that the derivative needs.
private func groupNormForward(
    _ op: String, _ input: Tensor, _ groups: Int, _ gamma: Tensor, _ beta: Tensor, _ eps: Double, silu: Bool
) -> (output: Tensor, mean: Tensor, rstd: Tensor) {
    precondition(input.rank >= 2, "\(op): input must be [N, C, ...], got \(input.shape)")
    let c = input.shape[1]
    precondition(groups >= 1 && c % groups == 0, "\(op): \(c) channels of input \(input.shape) do not split into \(groups) groups")
    precondition(
        gamma.shape == [c] && beta.shape == [c],
        "\(op): gamma \(gamma.shape) and beta \(beta.shape) must be [\(c)] for input \(input.shape)")
    var out = Tensor(uninitializedShape: input.shape, dtype: input.dtype, layout: KernelDispatch.groupNormLayout(input, groups: groups))
    var mean = Tensor(uninitializedShape: [input.shape[0], groups], dtype: input.dtype)
    var rstd = Tensor(uninitializedShape: [input.shape[0], groups], dtype: input.dtype)
    if input.scalarCount > 0 {
        KernelDispatch.groupNormForward(input, gamma, beta, &out, &mean, &rstd, groups: groups, eps: eps, silu: silu)
    }
    return (out, mean, rstd)
}

/// Softmax along `axis` (negative axes count from the end): yᵢ = exp(xᵢ − max) / Σⱼ exp(xⱼ − max).
///
/// Subtracting the row's maximum keeps large logits finite. The derivative, from the saved
/// output, is dx = y · (g − Σ g·y). Attention takes it over the last axis of the [N, heads, HW, HW]
/// scores.
public func softmax(_ input: Tensor, axis: Int) -> Tensor {
    let a = axis < 0 ? axis + input.rank : axis
    precondition(a >= 0 && a < input.rank, "softmax: axis \(axis) out of range for shape \(input.shape)")
    var out = Tensor(uninitializedShape: input.shape, dtype: input.dtype)
    let outer = input.shape[..<a].reduce(1, *)
    let inner = input.shape[(a + 1)...].reduce(1, *)
    if input.scalarCount > 0 {
        KernelDispatch.softmaxForward(input, &out, outer: outer, axis: input.shape[a], inner: inner)
    }
    let saved = out.detached()
    out.record(.softmax(output: saved, axis: a), inputs: [input])
    return out
}
