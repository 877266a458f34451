// 2-D convolution over NCHW activations with OIHW weights, any kernel size, stride and padding.

/// Zero padding on each side of the two spatial dimensions.
public struct Padding2D: Hashable, Sendable {
    public var top: Int, bottom: Int, left: Int, right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        (self.top, self.bottom, self.left, self.right) = (top, bottom, left, right)
    }

    /// The same padding on every side.
    public init(_ all: Int) { self.init(top: all, bottom: all, left: all, right: all) }

    /// No padding.
    public static let zero = Padding2D(0)
}

/// Cross-correlation as in every deep-learning library (no kernel flip).
///
/// - Parameters:
///   - input: [N, C, H, W] (NCHW).
///   - weight: [O, C, kH, kW] (PyTorch's OIHW layout).
///   - bias: [O] or nil.
///   - stride: (vertical, horizontal) step.
///   - padding: zeros added on each side; asymmetric padding (e.g. DDPM's TF-'SAME' strided
///     3×3 downsampling: bottom and right by one) is allowed.
/// - Returns: [N, O, ⌊(H + top + bottom − kH)/sH⌋ + 1, ⌊(W + left + right − kW)/sW⌋ + 1].
public func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: Padding2D = .zero) -> Tensor {
    precondition(input.rank == 4 && weight.rank == 4, "conv2d: input \(input.shape) must be NCHW and weight \(weight.shape) OIHW")
    precondition(input.shape[1] == weight.shape[1], "conv2d: input channels \(input.shape[1]) of input \(input.shape) ≠ weight in-channels \(weight.shape[1]) of weight \(weight.shape)")
    precondition(input.dtype == weight.dtype && (bias?.dtype ?? input.dtype) == input.dtype, "conv2d: dtypes differ")
    if let bias { precondition(bias.shape == [weight.shape[0]], "conv2d: bias shape \(bias.shape) ≠ [\(weight.shape[0])] for weight \(weight.shape)") }
    let g = Conv2DGeometry(
        batch: input.shape[0], inChannels: input.shape[1], outChannels: weight.shape[0],
        height: input.shape[2], width: input.shape[3], kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
        strideHeight: stride.0, strideWidth: stride.1,
        padTop: padding.top, padBottom: padding.bottom, padLeft: padding.left, padRight: padding.right)
    precondition(g.isValid, "conv2d: geometry cannot work for input \(input.shape), weight \(weight.shape), stride \(stride), padding \(padding)")
    var out = Tensor(uninitializedShape: g.outputShape, dtype: input.dtype)
    if out.scalarCount > 0 {
        KernelDispatch.conv2DForward(input, weight, bias, &out, g)
    }
    let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
    out.record(
        .conv2d(input: weight.requiresGradient ? input.detached() : nil,
                weight: input.requiresGradient ? weight.detached() : nil,
                hasBias: bias != nil, geometry: g),
        inputs: inputs)
    return out
}
