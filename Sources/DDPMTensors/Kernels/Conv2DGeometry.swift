// Geometry of a 2-D convolution over NCHW activations with OIHW weights.

/// Sizes of a 2-D convolution. Activations are NCHW, weights are `[outChannels, inChannels, kernelHeight, kernelWidth]`
/// (PyTorch's layout), the output is `[batch, outChannels, outHeight, outWidth]`.
///
/// Padding may differ on each side: DDPM's strided 3×3 downsampling pads like TensorFlow's
/// 'SAME' (bottom and right by one, top and left by none).
public struct Conv2DGeometry: Hashable, Sendable, CustomStringConvertible {
    public var batch: Int
    public var inChannels: Int
    public var outChannels: Int
    public var height: Int
    public var width: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var strideHeight: Int
    public var strideWidth: Int
    public var padTop: Int
    public var padBottom: Int
    public var padLeft: Int
    public var padRight: Int

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

    public var inputShape: [Int] { [batch, inChannels, height, width] }
    public var weightShape: [Int] { [outChannels, inChannels, kernelHeight, kernelWidth] }
    public var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }

    /// Multiply–adds × 2 of the forward pass (also of each backward pass).
    public var flops: Double {
        2 * Double(batch * outChannels * outHeight * outWidth) * Double(inChannels * kernelHeight * kernelWidth)
    }

    /// Whether the geometry describes a computable convolution.
    public var isValid: Bool {
        kernelHeight >= 1 && kernelWidth >= 1 && strideHeight >= 1 && strideWidth >= 1
            && min(padTop, padBottom, padLeft, padRight) >= 0
            && height + padTop + padBottom >= kernelHeight && width + padLeft + padRight >= kernelWidth
            && batch >= 0 && inChannels >= 1 && outChannels >= 1
    }

    public var description: String {
        "conv2d(N \(batch), C \(inChannels)→\(outChannels), \(height)×\(width), kernel \(kernelHeight)×\(kernelWidth), "
            + "stride \(strideHeight)×\(strideWidth), pad t\(padTop) b\(padBottom) l\(padLeft) r\(padRight))"
    }
}
