// 2-D convolution over NCHW activations with OIHW weights, any kernel size, stride and padding.

/// Zero padding on each side of the two spatial dimensions of NCHW activations, in pixels.
public struct Padding2D: Hashable, Sendable {
    /// Rows of zeros added above (`top`) and below (`bottom`) the image, and columns added to its
    /// `left` and `right`; each ≥ 0.
    public var top: Int, bottom: Int, left: Int, right: Int

    /// Padding that may differ on each side, e.g. TensorFlow's 'SAME' for DDPM's strided 3×3
    /// downsampling: `Padding2D(top: 0, bottom: 1, left: 0, right: 1)`.
    public init(top: Int, bottom: Int, left: Int, right: Int) {
        (self.top, self.bottom, self.left, self.right) = (top, bottom, left, right)
    }

    /// The same padding on every side.
    public init(_ all: Int) { self.init(top: all, bottom: all, left: all, right: all) }

    /// No padding.
    public static let zero = Padding2D(0)
}

/// 2-D convolution of NCHW activations: cross-correlation as in every deep-learning library (no
/// kernel flip),
/// y[n,o,p,q] = bias[o] + Σ_{c,a,b} x[n, c, p·sH − top + a, q·sW − left + b] · w[o,c,a,b], with
/// x zero outside the image.
///
/// Float32 runs on oneDNN (Winograd F(4×4, 3×3) for 3×3 stride-1 convolutions with outputs of at
/// least 7×7, else direct; see `DNNLConvolution`), Float64 on the plain reference loops. A Float32
/// output with 16·k channels is stored blocked (``TensorLayout/channelBlocked16``, unless
/// ``TensorLayout/blockedActivations`` is off), and a blocked input is read as it is: oneDNN
/// computes in that layout, so neither needs a reorder. Input,
/// weight and bias must share one dtype; shapes that cannot work are preconditions that name them.
///
/// - Parameters:
///   - input: [N, C, H, W] (NCHW).
///   - weight: [O, C, kH, kW] (PyTorch's OIHW layout).
///   - bias: [O] or nil.
///   - stride: (vertical, horizontal) step.
///   - padding: zeros added on each side; asymmetric padding (e.g. DDPM's TF-'SAME' strided
///     3×3 downsampling: bottom and right by one) is allowed.
/// - Returns: [N, O, ⌊(H + top + bottom − kH)/sH⌋ + 1, ⌊(W + left + right − kW)/sW⌋ + 1].
public func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: Padding2D = .zero) -> Tensor
{
    precondition(input.rank == 4 && weight.rank == 4, "conv2d: input \(input.shape) must be NCHW and weight \(weight.shape) OIHW")
    precondition(
        input.shape[1] == weight.shape[1],
        "conv2d: input channels \(input.shape[1]) of input \(input.shape) ≠ weight in-channels \(weight.shape[1]) of weight \(weight.shape)"
    )
    precondition(input.dtype == weight.dtype && (bias?.dtype ?? input.dtype) == input.dtype, "conv2d: dtypes differ")
    if let bias {
        precondition(bias.shape == [weight.shape[0]], "conv2d: bias shape \(bias.shape) ≠ [\(weight.shape[0])] for weight \(weight.shape)")
    }
    let g = Conv2DGeometry(
        batch: input.shape[0], inChannels: input.shape[1], outChannels: weight.shape[0],
        height: input.shape[2], width: input.shape[3], kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
        strideHeight: stride.0, strideWidth: stride.1,
        padTop: padding.top, padBottom: padding.bottom, padLeft: padding.left, padRight: padding.right)
    precondition(
        g.isValid, "conv2d: geometry cannot work for input \(input.shape), weight \(weight.shape), stride \(stride), padding \(padding)")
    var out = Tensor(uninitializedShape: g.outputShape, dtype: input.dtype, layout: .preferred(for: g.outputShape, input.dtype))
    if out.scalarCount > 0 {
        KernelDispatch.conv2DForward(input, weight, bias, &out, g)
    }
    let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
    out.record(
        .conv2d(
            input: weight.requiresGradient ? SavedTensor(input) : nil,
            weight: input.requiresGradient ? weight.detached() : nil,
            hasBias: bias != nil, geometry: g),
        inputs: inputs)
    return out
}
