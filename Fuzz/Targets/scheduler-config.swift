// scheduler_config.json: `TrainedModel.diffusersTrainingSteps(_:)`, then the schedule that
// `TrainedModel.load` makes of it.
import DDPMDiffusion
import Foundation
import DDPMTraining

/// Reads the input as a diffusers folder's scheduler_config.json.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let folder = FuzzInput.file(data, size, named: "unet/scheduler_config.json").deletingLastPathComponent()
    if let steps = try? TrainedModel.diffusersTrainingSteps(folder) {
        _ = try? DiffusionSchedule(.ddpm, stepCount: steps)
    }
    return 0
}
