// PNG through libpng: `PNGFolder.load(directory:size:channels:)` (PNGCodec.read, crop, resize), and
// `PNGCodec.read` in the other decode formats.
import DDPMDatasets
import Foundation
import DDPMImaging

/// Loads a folder holding the input as its one PNG file, in gray and in RGB, then decodes it as
/// RGBA and in the file's own format.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let file = FuzzInput.file(data, size, named: "png/image.png")
    guard (try? PNGCodec.read(from: file)) != nil else { return 0 }
    for channels in [1, 3] { _ = try? PNGFolder.load(directory: file.deletingLastPathComponent(), size: 4, channels: channels) }
    _ = try? PNGCodec.read(from: file, format: .rgba)
    return 0
}
