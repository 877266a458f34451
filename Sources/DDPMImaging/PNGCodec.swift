// PNG encoding and decoding through libpng's simplified `png_image` API (no longjmp crosses Swift frames).
import CPNG
import DDPMFileSupport
import Foundation

/// Reads and writes PNG files.
///
/// libpng reports errors by `longjmp`, which must never unwind through Swift frames. The
/// simplified API (`png_image_begin_read_from_file`, `png_image_finish_read`,
/// `png_image_write_to_memory`) catches them inside libpng and returns 0 with the text in
/// `png_image.message`, so every libpng failure here becomes a thrown `ImagingError`.
public enum PNGCodec {
    /// The pixel format to decode to.
    public enum DecodeFormat: Sendable {
        /// Gray files (any bit depth, with or without alpha) → `.gray`; colour and palette files → `.rgb`.
        case automatic
        /// Always one channel (colour is converted to luminance by libpng).
        case gray
        /// Always three channels.
        case rgb
        /// Always four channels (opaque files get alpha 255).
        case rgba
    }

    /// The most pixels a decoded image may have: 16,384 × 16,384 (1 GiB as RGBA). The header's
    /// dimensions are checked against it before the pixels are allocated, so a small file that
    /// claims a huge image is refused instead of decoded.
    public static let maximumPixelCount = 16_384 * 16_384

    /// Decodes the PNG file at `url`.
    ///
    /// Any colour type and bit depth is accepted: palettes are expanded, 16-bit samples reduced
    /// to 8 bits, and, unless `.rgba` is asked for, alpha is removed by compositing onto
    /// `background` (white by default, so that transparent areas look as in a browser).
    /// - Throws: `ImagingError.cannotOpen` for a missing file, `ImagingError.invalidPNG` (naming the
    ///   file, with libpng's message) for anything that is not a complete, valid PNG, and
    ///   `ImagingError.imageTooLarge` when the header declares more than `maximumPixelCount` pixels.
    public static func read(
        from url: URL, format: DecodeFormat = .automatic, background: (UInt8, UInt8, UInt8) = (255, 255, 255)
    ) throws -> RasterImage {
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw ImagingError.cannotOpen(url, reason: FileManager.default.fileExists(atPath: url.path) ? "not readable" : "no such file")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_file(&image, url.path) != 0 else {
            let message = Self.message(of: &image)
            png_image_free(&image)
            throw ImagingError.invalidPNG(url, message: message)
        }
        let fileIsColor = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let target: PixelFormat
        switch format {
        case .automatic: target = fileIsColor ? .rgb : .gray
        case .gray: target = .gray
        case .rgb: target = .rgb
        case .rgba: target = .rgba
        }
        image.format = Self.libpngFormat(target)
        let width = Int(image.width), height = Int(image.height)
        guard width * height <= maximumPixelCount else {
            png_image_free(&image)
            throw ImagingError.imageTooLarge(url, width: width, height: height, maximumPixels: maximumPixelCount)
        }
        var pixels = [UInt8](repeating: 0, count: width * height * target.channels)
        var color = png_color(red: background.0, green: background.1, blue: background.2)
        let ok = pixels.withUnsafeMutableBytes { buffer in
            png_image_finish_read(&image, &color, buffer.baseAddress, 0, nil)
        }
        guard ok != 0 else {
            let message = Self.message(of: &image)
            png_image_free(&image)
            throw ImagingError.invalidPNG(url, message: message)
        }
        return RasterImage(width: width, height: height, format: target, pixels: pixels)
    }

    /// The PNG encoding of `image` (8-bit, sRGB, default compression).
    /// - Parameters:
    ///   - image: the pixels to encode; at least 1×1.
    ///   - url: only used to name the destination in an error.
    /// - Throws: ``ImagingError/cannotEncode(_:message:)`` with libpng's message.
    public static func encode(_ image: RasterImage, for url: URL? = nil) throws -> [UInt8] {
        precondition(image.width > 0 && image.height > 0, "PNGCodec.encode: empty image \(image.width)×\(image.height)")
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = libpngFormat(image.format)
        var size = 0
        // First pass measures, second pass writes (libpng's documented two-call protocol).
        let measured = image.pixels.withUnsafeBytes { pixels in
            png_image_write_to_memory(&png, nil, &size, 0, pixels.baseAddress, 0, nil)
        }
        guard measured != 0 else {
            let message = Self.message(of: &png)
            png_image_free(&png)
            throw ImagingError.cannotEncode(url, message: message)
        }
        var bytes = [UInt8](repeating: 0, count: size)
        let written = bytes.withUnsafeMutableBytes { out in
            image.pixels.withUnsafeBytes { pixels in
                png_image_write_to_memory(&png, out.baseAddress, &size, 0, pixels.baseAddress, 0, nil)
            }
        }
        guard written != 0 else {
            let message = Self.message(of: &png)
            png_image_free(&png)
            throw ImagingError.cannotEncode(url, message: message)
        }
        return Array(bytes.prefix(size))
    }

    /// Writes `image` as a PNG file at `url`, atomically (see `AtomicFile`).
    public static func write(_ image: RasterImage, to url: URL) throws {
        do {
            try AtomicFile.write(encode(image, for: url), to: url)
        } catch let error as FileWriteError {
            throw ImagingError.cannotWrite(url, reason: error.reason)
        }
    }

    static func libpngFormat(_ format: PixelFormat) -> UInt32 {
        switch format {
        case .gray: 0  // PNG_FORMAT_GRAY
        case .rgb: UInt32(PNG_FORMAT_FLAG_COLOR)
        case .rgba: UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        }
    }

    static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

extension RasterImage {
    /// Writes this image as a PNG file at `url`, atomically.
    public func writePNG(to url: URL) throws {
        try PNGCodec.write(self, to: url)
    }

    /// Reads a PNG file (see `PNGCodec.read(from:format:background:)`).
    public init(contentsOfPNG url: URL, format: PNGCodec.DecodeFormat = .automatic) throws {
        self = try PNGCodec.read(from: url, format: format)
    }
}
