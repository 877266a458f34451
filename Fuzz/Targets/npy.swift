// NPY: `NPYFile.decode(_:url:)`, then the array as a tensor (as `ddpm denoise --input` does).
import Foundation
import DDPMNeuralNetworks

/// Parses the input as an NPY file (NPZ files have their own target, `npz`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let url = URL(fileURLWithPath: "fuzz.npy")
    if let array = try? NPYFile.decode(FuzzInput.bytes(data, size), url: url) {
        _ = array.tensor()
    }
    return 0
}
