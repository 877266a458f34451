import DDPMTestSupport
import Foundation
import Testing

@Suite struct BenchCommandTests {
    @Test func toyTrainJSONHasPositiveValues() throws {
        let result = try runDDPM([
            "bench", "--model", "toy", "--mode", "train", "--batch-size", "8",
            "--iterations", "2", "--warmup", "1", "--threads", "1", "--json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 1, "\(result.standardOutput)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(object["model"] as? String == "toy")
        #expect(object["mode"] as? String == "train")
        #expect(object["batch_size"] as? Int == 8)
        #expect(object["threads"] as? Int == 1)
        #expect(object["iterations"] as? Int == 2)
        let seconds = try #require(object["seconds"] as? [String: Double])
        let minimum = try #require(seconds["min"]), median = try #require(seconds["median"]), maximum = try #require(seconds["max"])
        #expect(minimum > 0 && minimum <= median && median <= maximum)
        #expect((object["images_per_second"] as? Double ?? 0) > 0)
        #expect((object["peak_rss_bytes"] as? Int ?? 0) > 1_000_000)
        #expect((object["gflops"] as? Double ?? 0) > 0)
    }

    @Test func toySampleTextOutput() throws {
        let result = try runDDPM([
            "bench", "--model", "toy", "--mode", "sample", "--batch-size", "4",
            "--iterations", "2", "--warmup", "0", "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("seconds per step"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("GFLOPS"))
    }

    @Test func unknownModelFails() throws {
        let result = try runDDPM(["bench", "--model", "nope", "--mode", "train", "--batch-size", "8"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("--model"), "\(result.standardError)")
        #expect(result.standardError.contains("nope"), "\(result.standardError)")
    }

    @Test func unknownModeFails() throws {
        let result = try runDDPM(["bench", "--model", "toy", "--mode", "fly", "--batch-size", "8"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("--mode"), "\(result.standardError)")
    }
}
