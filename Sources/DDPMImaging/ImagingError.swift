// Errors from reading and writing image files; each names the file and says what to do.
import Foundation

/// What went wrong reading or writing an image file.
///
/// Every case carries the file's URL, and `description` says what was expected and what to try.
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
        }
    }
}
