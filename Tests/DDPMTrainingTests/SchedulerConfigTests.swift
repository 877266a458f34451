// scheduler_config.json beside a diffusers model: T must be an integer in 1…100,000, else an error naming the file and key.
import Foundation
import Testing
import DDPMTraining

@Suite("scheduler_config.json")
struct SchedulerConfigTests {
    /// T read from a folder whose scheduler_config.json holds `json`.
    static func steps(_ json: String) throws -> Int {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scheduler-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(json.utf8).write(to: folder.appendingPathComponent("scheduler_config.json"))
        return try TrainedModel.diffusersTrainingSteps(folder)
    }

    @Test("an integer in range is T; a missing or null key means 1000")
    func valid() throws {
        #expect(try Self.steps(#"{"num_train_timesteps": 40}"#) == 40)
        #expect(try Self.steps(#"{"num_train_timesteps": 100000}"#) == 100_000)
        #expect(try Self.steps(#"{"beta_schedule": "linear"}"#) == 1000)
        #expect(try Self.steps(#"{"num_train_timesteps": null}"#) == 1000)
    }

    @Test("a T that is huge, fractional, zero, negative or not a number is refused, naming the file and key",
          arguments: ["1000000000", "1.7", "0", "-5", "true", "\"1000\""])
    func invalid(value: String) throws {
        let error = try #require(throws: TrainingError.self) { try Self.steps("{\"num_train_timesteps\": \(value)}") }
        guard case let .invalidFile(path, message) = error else { Issue.record("expected invalidFile, got \(error)"); return }
        #expect(path.hasSuffix("scheduler_config.json"))
        #expect(message.hasPrefix("\"num_train_timesteps\": "))
        #expect(message.hasSuffix("is not an integer in 1…100000; set it to the T the model was trained with (DDPM: 1000)."))
    }
}
