// MNIST IDX files, raw or gzip: `MNIST.load(directory:split:)` (IDXFile.readImages and readLabels
// through Gzip.readAll, then the dataset).
import DDPMDatasets
import Foundation

/// The input holds two files: a little-endian UInt16 n, n bytes of the labels file, then the
/// images file (either may be gzip-compressed).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzInput.bytes(data, size)
    guard bytes.count >= 2 else { return 0 }
    let split = min(bytes.count, 2 + (Int(bytes[0]) | Int(bytes[1]) << 8))
    let folder = FuzzInput.folder.appendingPathComponent("mnist")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: folder.appendingPathComponent("t10k-labels-idx1-ubyte").path, contents: Data(bytes[2..<split]))
    FileManager.default.createFile(atPath: folder.appendingPathComponent("t10k-images-idx3-ubyte").path, contents: Data(bytes[split...]))
    _ = try? MNIST.load(directory: folder, split: .test)
    return 0
}
