// state.json: `Checkpoint.readState(_:)` for a current checkpoint folder (strict `CheckpointState`)
// and for a pre-link run folder.
import Foundation
import DDPMTraining

/// Reads the input as the state.json of a checkpoint folder and of a legacy run folder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let folder = FuzzInput.file(data, size, named: "checkpoint/\(Checkpoint.stateName)").deletingLastPathComponent()
    _ = try? Checkpoint.readState(.current(folder))
    _ = try? Checkpoint.readState(.legacy(folder))
    return 0
}
