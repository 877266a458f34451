// Reading JPEG files with libjpeg-turbo (TurboJPEG API), and reading any image file by its extension.
import CTurboJPEG
import Foundation

/// JPEG decoding (baseline and progressive, gray, YCbCr and CMYK files) through libjpeg-turbo.
public enum JPEGCodec {
    /// The largest JPEG file read (the whole file is read before decoding).
    public static let maximumFileBytes = 256 << 20

    /// Decodes the JPEG file at `url` as `format` (`.automatic`: gray files gray, the others RGB;
    /// `.rgba` gives alpha 255). Decoded as `djpeg` does by default (accurate integer IDCT, smooth
    /// chroma upsampling), so the pixels equal Debian's `djpeg` output.
    /// - Throws: `ImagingError.cannotOpen` for a missing, unreadable or oversized file,
    ///   `ImagingError.invalidJPEG` with libjpeg-turbo's message for anything that is not a whole
    ///   JPEG, `ImagingError.imageTooLarge` when the header declares more than
    ///   `PNGCodec.maximumPixelCount` pixels (checked before any pixel memory is allocated).
    public static func read(from url: URL, format: PNGCodec.DecodeFormat = .automatic) throws -> RasterImage {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        guard let size = attributes?[.size] as? Int, FileManager.default.isReadableFile(atPath: url.path) else {
            throw ImagingError.cannotOpen(url, reason: FileManager.default.fileExists(atPath: url.path) ? "not readable" : "no such file")
        }
        guard size <= maximumFileBytes else {
            throw ImagingError.cannotOpen(url, reason: "\(size) bytes, more than the \(maximumFileBytes >> 20) MiB a JPEG may have here")
        }
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: url)) } catch {
            throw ImagingError.cannotOpen(url, reason: error.localizedDescription)
        }
        guard let handle = tjInitDecompress() else { throw ImagingError.invalidJPEG(url, message: "cannot start the decoder") }
        defer { tjDestroy(handle) }
        func failure() -> ImagingError { ImagingError.invalidJPEG(url, message: String(cString: tjGetErrorStr2(handle))) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let header = bytes.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, UInt(bytes.count), &width, &height, &subsampling, &colorspace)
        }
        guard header == 0, width > 0, height > 0 else { throw failure() }
        let (w, h) = (Int(width), Int(height))
        guard w * h <= PNGCodec.maximumPixelCount else {
            throw ImagingError.imageTooLarge(url, width: w, height: h, maximumPixels: PNGCodec.maximumPixelCount)
        }
        let pixelFormat: PixelFormat
        switch format {
        case .automatic: pixelFormat = colorspace == Int32(TJCS_GRAY.rawValue) ? .gray : .rgb
        case .gray: pixelFormat = .gray
        case .rgb: pixelFormat = .rgb
        case .rgba: pixelFormat = .rgba
        }
        let turboFormat: TJPF =
            switch pixelFormat {
            case .gray: TJPF_GRAY
            case .rgb: TJPF_RGB
            case .rgba: TJPF_RGBA
            }
        var pixels = [UInt8](repeating: 0, count: w * h * pixelFormat.channels)
        let status = bytes.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { destination in
                tjDecompress2(
                    handle, source.baseAddress, UInt(bytes.count), destination.baseAddress, width, 0, height, Int32(turboFormat.rawValue), 0
                )
            }
        }
        // Warnings too ("Premature end of JPEG file" fills the missing rows with gray): a damaged
        // file is refused by name rather than trained on.
        guard status == 0 else { throw failure() }
        return RasterImage(width: w, height: h, format: pixelFormat, pixels: pixels)
    }
}

/// Image files read by their extension: `.png`, `.jpg` and `.jpeg` (any case).
public enum ImageFile {
    /// The extensions read (lower case).
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Whether `path` names a file ``read(from:format:)`` reads (by extension; hidden files excluded).
    public static func isImage(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        return !name.hasPrefix(".") && extensions.contains((name as NSString).pathExtension.lowercased())
    }

    /// Decodes the PNG or JPEG file at `url` (by its extension) as `format`.
    public static func read(from url: URL, format: PNGCodec.DecodeFormat = .automatic) throws -> RasterImage {
        switch url.pathExtension.lowercased() {
        case "jpg", "jpeg": try JPEGCodec.read(from: url, format: format)
        default: try PNGCodec.read(from: url, format: format)
        }
    }
}
