// A tiny U-Net run for the command tests that need a trained model but not a good one.
import DDPMTestSupport
import Foundation

/// `ddpm train` of the tiny U-Net for 2 steps on 8×8 dead leaves (T = 50) into a new temporary
/// folder named after `name`; stops the test run if it fails.
func trainTinyRun(_ name: String) -> URL {
    let run = try! temporaryFolder(name).appendingPathComponent("run")
    let result = try! runDDPM(
        [
            "train", "--output", run.path, "--steps", "2", "--data", "deadleaves,size=8,count=16", "--model", "tiny", "--timesteps", "50",
            "--batch-size", "8", "--warmup", "0", "--seed", "5", "--threads", "1",
        ])
    precondition(result.status == 0, result.standardError)
    return run
}
