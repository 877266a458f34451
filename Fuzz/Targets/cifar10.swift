// CIFAR-10 binary batches: `CIFAR10.load(directory:split:)` on a folder whose test_batch.bin is the input.
import DDPMDatasets
import Foundation

/// Loads the test split from a folder holding the input as `test_batch.bin`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let file = FuzzInput.file(data, size, named: "cifar-10-batches-bin/test_batch.bin")
    _ = try? CIFAR10.load(directory: file.deletingLastPathComponent(), split: .test)
    return 0
}
