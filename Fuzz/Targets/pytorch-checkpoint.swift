// PyTorch checkpoints: `PyTorchCheckpoint(bytes:url:)` (zip or legacy layout, the restricted pickle reader), then every tensor.
import Foundation
import DDPMNeuralNetworks

/// Parses the input as a torch.save checkpoint and, when it parses, converts every tensor.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let url = URL(fileURLWithPath: "fuzz.pth")
    if let checkpoint = try? PyTorchCheckpoint(bytes: FuzzInput.bytes(data, size), url: url) {
        for name in checkpoint.names { _ = try? checkpoint.tensor(named: name).scalarCount }
    }
    return 0
}
