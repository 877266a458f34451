// RasterImage: an 8-bit image with interleaved channels (gray, RGB or RGBA), rows top to bottom.

/// The channel layout of a `RasterImage`.
public enum PixelFormat: Int, Sendable, CaseIterable {
    /// One channel: luminance.
    case gray = 1
    /// Three channels: red, green, blue.
    case rgb = 3
    /// Four channels: red, green, blue, alpha (not premultiplied).
    case rgba = 4

    /// Samples per pixel.
    public var channels: Int { rawValue }
}

/// An 8-bit image in HWC layout: `pixels[(y * width + x) * channels + c]`, row 0 at the top.
///
/// This is the interchange type of DDPMImaging (PNG files, grids, plots). DDPMDatasets converts it
/// to and from NCHW tensors (`Dataset.image(at:)`, `rasterImages(_:scale:)`).
public struct RasterImage: Equatable, Sendable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels (rows, top to bottom).
    public let height: Int
    /// The channel layout: gray, RGB or RGBA.
    public let format: PixelFormat
    /// `height × width × channels` samples, interleaved.
    public var pixels: [UInt8]

    /// Samples per pixel.
    public var channels: Int { format.channels }

    /// An image of the given pixels; `pixels.count` must be `width * height * format.channels`.
    public init(width: Int, height: Int, format: PixelFormat, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "RasterImage: negative size \(width)×\(height)")
        precondition(
            pixels.count == width * height * format.channels,
            "RasterImage: \(pixels.count) samples do not fill \(width)×\(height)×\(format.channels)")
        self.width = width
        self.height = height
        self.format = format
        self.pixels = pixels
    }

    /// An image filled with one colour (`fill` has `format.channels` samples).
    public init(width: Int, height: Int, format: PixelFormat, fill: [UInt8]) {
        precondition(fill.count == format.channels, "RasterImage: fill \(fill) has not \(format.channels) samples")
        var pixels = [UInt8](repeating: 0, count: width * height * format.channels)
        for i in 0..<(width * height) {
            for c in 0..<format.channels { pixels[i * format.channels + c] = fill[c] }
        }
        self.init(width: width, height: height, format: format, pixels: pixels)
    }

    /// The samples of pixel (x, y).
    public subscript(x: Int, y: Int) -> ArraySlice<UInt8> {
        let start = (y * width + x) * channels
        return pixels[start..<(start + channels)]
    }

    /// This image with `format`: gray is replicated to RGB, RGB becomes gray by the Rec. 601 luma
    /// weights (0.299, 0.587, 0.114), alpha is dropped or set opaque.
    public func converted(to format: PixelFormat) -> RasterImage {
        if format == self.format { return self }
        var out = [UInt8](repeating: 255, count: width * height * format.channels)
        for i in 0..<(width * height) {
            let s = i * channels
            let (r, g, b): (UInt8, UInt8, UInt8) =
                self.format == .gray ? (pixels[s], pixels[s], pixels[s]) : (pixels[s], pixels[s + 1], pixels[s + 2])
            let d = i * format.channels
            switch format {
            case .gray:
                let luma = 0.299 * Double(r) + 0.587 * Double(g) + 0.114 * Double(b)
                out[d] = UInt8(min(255, max(0, luma.rounded())))
            case .rgb, .rgba:
                out[d] = r
                out[d + 1] = g
                out[d + 2] = b
                if format == .rgba && self.format == .rgba { out[d + 3] = pixels[s + 3] }
            }
        }
        return RasterImage(width: width, height: height, format: format, pixels: out)
    }
}
