// Inputs found by fuzzing (Fuzz/Regressions/scheduler-config/, scripts/fuzz.sh): each must be
// refused with an error, never trap or exhaust memory.
import DDPMTestSupport
import DDPMDiffusion
import Foundation
import Testing
import DDPMTraining

@Suite("Fuzzing findings: scheduler_config.json")
struct SchedulerConfigFuzzRegressionTests {
    /// A committed finding of the `scheduler-config` fuzz target.
    static func finding(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/Regressions/scheduler-config/\(name)")
    }

    @Test("a num_train_timesteps no schedule could have is refused before any allocation")
    func hugeTimesteps() throws {
        let error = try #require(throws: TrainingError.self) { try SchedulerConfigFile.read(Self.finding("huge-timesteps.json")) }
        #expect("\(error)".contains("num_train_timesteps 102147483647 is not an integer in 1…100000"), "\(error)")
    }
}
