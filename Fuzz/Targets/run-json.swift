// run.json: `TrainingConfiguration.load(from:)` (format 1 strictly, format 0 by migration, then validation).
import Foundation
import DDPMTraining

/// Loads the input as a run folder's run.json.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = try? TrainingConfiguration.load(from: FuzzInput.file(data, size, named: TrainingConfiguration.fileName))
    return 0
}
