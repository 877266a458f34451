// JPEG through libjpeg-turbo: `JPEGCodec.read` in every decode format, and an image folder holding
// the input as its one JPEG file.
import DDPMDatasets
import DDPMImaging
import Foundation

/// Decodes the input as a JPEG file in its own format, gray, RGB and RGBA, then loads a folder
/// holding it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let file = FuzzInput.file(data, size, named: "jpeg/image.jpg")
    guard (try? JPEGCodec.read(from: file)) != nil else { return 0 }
    for format in [PNGCodec.DecodeFormat.gray, .rgb, .rgba] { _ = try? JPEGCodec.read(from: file, format: format) }
    _ = try? PNGFolder.load(directory: file.deletingLastPathComponent(), size: 4, channels: 3)
    return 0
}
