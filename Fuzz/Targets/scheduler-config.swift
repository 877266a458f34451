// scheduler_config.json: `SchedulerConfigFile.read(_:)` (every key, β built and validated), then
// the timesteps of a 10-step sampler.
import DDPMDiffusion
import Foundation
import DDPMTraining

/// Reads the input as a diffusers scheduler_config.json.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let url = FuzzInput.file(data, size, named: "scheduler/scheduler_config.json")
    if let file = try? SchedulerConfigFile.read(url) {
        _ = try? file.scheduler.timesteps(count: min(10, file.scheduler.trainingSteps))
    }
    return 0
}
