// Errors from reading and writing image files and from loading the figures' font; each names the
// file and says what to do.
import Foundation

/// What went wrong reading or writing an image file, or loading the font of the figures.
///
/// Every case carries the file's URL or path, and `description` says what was expected and what to try.
public enum ImagingError: Error, CustomStringConvertible, Equatable {
    /// The file does not exist or cannot be opened for reading.
    case cannotOpen(URL, reason: String)
    /// libpng rejected the file (not a PNG, truncated, corrupt checksum, …); `message` is libpng's.
    case invalidPNG(URL, message: String)
    /// libjpeg-turbo rejected the file (not a JPEG, truncated, corrupt); `message` is its own.
    case invalidJPEG(URL, message: String)
    /// The file's header declares more pixels than the decoder accepts.
    case imageTooLarge(URL, width: Int, height: Int, maximumPixels: Int)
    /// libpng could not encode the pixels (message is libpng's).
    case cannotEncode(URL?, message: String)
    /// Writing the temporary file, syncing it or renaming it into place failed.
    case cannotWrite(URL, reason: String)
    /// The font file for the figures' text does not exist: `path` is the one `DDPM_FONT` named
    /// (`fromEnvironment`) or DejaVu Sans's default path (see ``FontFace``).
    case fontMissing(path: String, fromEnvironment: Bool)
    /// FreeType cannot read the font file (not a font, or not a scalable one).
    case invalidFont(path: String, message: String)

    /// The message printed for the error: the file, what was wrong, and what to try.
    public var description: String {
        switch self {
        case let .cannotOpen(url, reason):
            return "\(url.path): cannot open image file (\(reason)); check that the path exists and is readable."
        case let .invalidPNG(url, message):
            return "\(url.path): not a readable PNG file (libpng: \(message)); the file may be truncated or "
                + "corrupt — re-create or re-download it."
        case let .invalidJPEG(url, message):
            return "\(url.path): not a readable JPEG file (libjpeg-turbo: \(message)); the file may be truncated or "
                + "corrupt — re-create or re-download it."
        case let .imageTooLarge(url, width, height, maximum):
            return "\(url.path): the image header declares \(width)×\(height) pixels, more than the \(maximum) this decoder accepts; "
                + "the file is corrupt, or scale the image down first."
        case let .cannotEncode(url, message):
            return "\(url?.path ?? "<memory>"): cannot encode PNG (libpng: \(message)); check the image size and channel count."
        case let .cannotWrite(url, reason):
            return "\(url.path): cannot write file (\(reason)); check that the folder exists, is writable and the disk is not full."
        case let .fontMissing(path, fromEnvironment):
            if fromEnvironment {
                return "\(path): no such font file (named by \(FontFace.environmentVariable)); set \(FontFace.environmentVariable) to a "
                    + "TrueType font, or unset it to use DejaVu Sans (\(FontFace.defaultPath), Debian package fonts-dejavu-core)."
            }
            return "\(path): no such font file; the figures' text needs DejaVu Sans: install the Debian package "
                + "fonts-dejavu-core (apt-get install fonts-dejavu-core), or set \(FontFace.environmentVariable) to another TrueType font."
        case let .invalidFont(path, message):
            return "\(path): cannot read the font (\(message)); set \(FontFace.environmentVariable) to a TrueType or OpenType font file."
        }
    }
}
