// NPZ: `NPZFile.decode(_:url:)` (the zip reader, stored and deflate members, then each NPY member), then the arrays as tensors.
import Foundation
import DDPMNeuralNetworks

/// Parses the input as an NPZ file (a zip archive of NPY files) and converts each array.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let url = URL(fileURLWithPath: "fuzz.npz")
    if let arrays = try? NPZFile.decode(FuzzInput.bytes(data, size), url: url) {
        for (_, array) in arrays { _ = array.tensor() }
    }
    return 0
}
