// Exit codes (0 finished, 1 failed, 64 usage, 128 + signal interrupted with a checkpoint saved) and
// progress that reports denoising steps.
import DDPMTestSupport
import Foundation
import Testing
import DDPMTraining

@Suite("exit codes and progress")
struct ExitCodeTests {
    static let tiny = [
        "--data", "deadleaves,size=8,count=32", "--model", "tiny", "--batch-size", "4", "--timesteps", "20", "--threads", "1",
    ]

    @Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func interruptedTrainingExitsWithTheSignalsCodeAndResumes(_ signal: Int32, _ code: Int32) throws {
        let folder = try temporaryFolder()
        let run = folder.appendingPathComponent("run")
        let (process, out, _) = try SignalTests.start(["train", "--output", run.path, "--steps", "1000000"] + Self.tiny, in: folder)
        SignalTests.waitFor(run.appendingPathComponent("log.jsonl"), seconds: 30)
        usleep(200_000)
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == code)
        #expect(try String(contentsOf: out, encoding: .utf8).contains("interrupted: saved a checkpoint"))
        let step = try Checkpoint.readState(Checkpoint.location(in: run)!).step
        let resumed = try runDDPM(["train", "--output", run.path, "--resume", "--steps", "\(step + 2)", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try Checkpoint.readState(Checkpoint.location(in: run)!).step == step + 2)
    }

    @Test func aBadFlagExits64AndAFailureExits1() throws {
        let folder = try temporaryFolder()
        let flag = try runDDPM(["train", "--output", folder.appendingPathComponent("a").path, "--data", "swissroll", "--batch-size", "0"])
        #expect(flag.status == 64, "\(flag.standardError)")
        let missing = try runDDPM([
            "train", "--output", folder.appendingPathComponent("b").path, "--data", "mnist:" + folder.appendingPathComponent("absent").path,
        ])
        #expect(missing.status == 1, "\(missing.standardError)")
        let threads = try runDDPM(["sample", "--checkpoint", folder.path, "--threads", "0"])
        #expect(threads.status == 64, "\(threads.standardError)")
    }

    /// Progress counts samples × steps: the first report of a 2-batch run comes within the first batch.
    @Test func sampleProgressReportsBeforeTheFirstBatchEnds() throws {
        let folder = try temporaryFolder()
        let run = folder.appendingPathComponent("run")
        #expect(try runDDPM(["train", "--output", run.path, "--steps", "1"] + Self.tiny).status == 0)
        let sample = try runDDPM([
            "sample", "--checkpoint", run.path, "--count", "2", "--batch-size", "1", "--raw-weights", "--sampler", "ancestral",
            "--output", folder.appendingPathComponent("s").path, "--threads", "1",
        ])
        #expect(sample.status == 0, "\(sample.standardError)")
        let lines = sample.standardError.split(separator: "\n").filter { $0.hasPrefix("sample: ") }
        let first = lines.first.flatMap { $0.dropFirst("sample: ".count).split(separator: "/").first }.flatMap { Int($0) }
        #expect(first != nil && first! < 20, "first progress line: \(lines.first ?? "none")")
        #expect(lines.last?.hasPrefix("sample: 40/40") == true, "\(lines)")
    }
}

@Suite("BFloat16 precision")
struct PrecisionTests {
    @Test("--precision bf16 on a CPU without avx512_bf16 exits 1 naming the flag and what to use instead")
    func refusedWithoutTheInstructions() throws {
        let result = try runProgram(
            ddpmExecutable, ["bench", "--model", "toy", "--mode", "sample", "--batch-size", "4", "--precision", "bf16"],
            environment: ["DDPM_DISABLE_BF16": "1"])
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardError.contains("--precision bf16: this CPU has no avx512_bf16 instructions"), "\(result.standardError)")
        #expect(result.standardError.contains("use --precision fp32"))
    }
}
