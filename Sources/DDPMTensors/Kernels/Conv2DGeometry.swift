// Geometry of a 2-D convolution over NCHW activations with OIHW weights.

/// Sizes of a 2-D convolution. Activations are NCHW, weights are `[outChannels, inChannels, kernelHeight, kernelWidth]`
/// (PyTorch's layout), the output is `[batch, outChannels, outHeight, outWidth]`.
///
/// Padding may differ on each side: DDPM's strided 3×3 downsampling pads like TensorFlow's
/// 'SAME' (bottom and right by one, top and left by none).
public struct Conv2DGeometry: Hashable, Sendable, CustomStringConvertible {
    /// N, the number of images.
    public var batch: Int
    /// C, the input channels.
    public var inChannels: Int
    /// O, the output channels (the number of filters).
    public var outChannels: Int
    /// H, the input height in pixels.
    public var height: Int
    /// W, the input width in pixels.
    public var width: Int
    /// kH, the kernel height.
    public var kernelHeight: Int
    /// kW, the kernel width.
    public var kernelWidth: Int
    /// sH, the vertical step between output rows.
    public var strideHeight: Int
    /// sW, the horizontal step between output columns.
    public var strideWidth: Int
    /// Rows of zeros above the image.
    public var padTop: Int
    /// Rows of zeros below the image.
    public var padBottom: Int
    /// Columns of zeros left of the image.
    public var padLeft: Int
    /// Columns of zeros right of the image.
    public var padRight: Int

    /// A geometry from its sizes; stride 1 and no padding unless given. Nothing is checked here
    /// (see ``isValid``).
    public init(
        batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int,
        kernelHeight: Int, kernelWidth: Int, strideHeight: Int = 1, strideWidth: Int = 1,
        padTop: Int = 0, padBottom: Int = 0, padLeft: Int = 0, padRight: Int = 0
    ) {
        self.batch = batch
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.height = height
        self.width = width
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight
        self.strideWidth = strideWidth
        self.padTop = padTop
        self.padBottom = padBottom
        self.padLeft = padLeft
        self.padRight = padRight
    }

    /// Output height: ⌊(H + padTop + padBottom − kH) / strideH⌋ + 1.
    public var outHeight: Int { (height + padTop + padBottom - kernelHeight) / strideHeight + 1 }
    /// Output width: ⌊(W + padLeft + padRight − kW) / strideW⌋ + 1.
    public var outWidth: Int { (width + padLeft + padRight - kernelWidth) / strideWidth + 1 }

    /// The input's shape, [N, C, H, W] (NCHW).
    public var inputShape: [Int] { [batch, inChannels, height, width] }
    /// The weight's shape, [O, C, kH, kW] (OIHW).
    public var weightShape: [Int] { [outChannels, inChannels, kernelHeight, kernelWidth] }
    /// The output's shape, [N, O, outHeight, outWidth] (NCHW).
    public var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }

    /// Multiply–adds × 2 of the forward pass (also of each backward pass).
    public var flops: Double {
        2 * Double(batch * outChannels * outHeight * outWidth) * Double(inChannels * kernelHeight * kernelWidth)
    }

    /// Whether the geometry describes a computable convolution: kernel and strides ≥ 1, padding
    /// ≥ 0, a padded image at least as large as the kernel, batch ≥ 0 and channels ≥ 1.
    public var isValid: Bool {
        kernelHeight >= 1 && kernelWidth >= 1 && strideHeight >= 1 && strideWidth >= 1
            && min(padTop, padBottom, padLeft, padRight) >= 0
            && height + padTop + padBottom >= kernelHeight && width + padLeft + padRight >= kernelWidth
            && batch >= 0 && inChannels >= 1 && outChannels >= 1
    }

    /// A one-line summary for messages, e.g.
    /// `conv2d(N 8, C 64→64, 32×32, kernel 3×3, stride 1×1, pad t1 b1 l1 r1)`.
    public var description: String {
        "conv2d(N \(batch), C \(inChannels)→\(outChannels), \(height)×\(width), kernel \(kernelHeight)×\(kernelWidth), "
            + "stride \(strideHeight)×\(strideWidth), pad t\(padTop) b\(padBottom) l\(padLeft) r\(padRight))"
    }
}
