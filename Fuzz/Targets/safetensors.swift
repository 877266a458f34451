// safetensors: `SafeTensorsFile(bytes:url:)`, then every tensor it lists.
import Foundation
import DDPMNeuralNetworks

/// Parses the input as a safetensors file and, when it parses, reads every tensor.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let url = URL(fileURLWithPath: "fuzz.safetensors")
    if let file = try? SafeTensorsFile(bytes: FuzzInput.bytes(data, size), url: url) {
        _ = try? file.allTensors()
    }
    return 0
}
