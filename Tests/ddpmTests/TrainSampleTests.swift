// End-to-end tests of `ddpm train` and `ddpm sample` on tiny settings.
import Foundation
import Testing

@Suite("train and sample")
struct TrainSampleTests {
    static let toy = ["--data", "swissroll,count=300", "--batch-size", "16", "--threads", "1"]

    func losses(_ folder: URL) throws -> [Double] {
        let text = try String(contentsOf: folder.appendingPathComponent("log.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (object["loss"] as! NSNumber).doubleValue
        }
    }

    @Test func trainWritesCheckpointAndSampleReadsIt() throws {
        let dir = try temporaryDirectory()
        let run = dir.appendingPathComponent("run")
        let result = try runDDPM(["train", "--output", run.path, "--steps", "4"] + Self.toy)
        #expect(result.status == 0, "\(result.standardError)")
        for name in ["run.json", "model.safetensors", "ema.safetensors", "optimizer.safetensors", "state.json", "log.jsonl"] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(name).path), "\(name)")
        }
        #expect(try losses(run).count == 4)

        let out = dir.appendingPathComponent("samples")
        let sample = try runDDPM(["sample", "--checkpoint", run.path, "--count", "7", "--batch-size", "4",
                                  "--steps", "10", "--output", out.path, "--threads", "1"])
        #expect(sample.status == 0, "\(sample.standardError)")
        let csv = try String(contentsOf: out.appendingPathComponent("samples.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 8)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples.png").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples.npy").path))

        let ddim = try runDDPM(["sample", "--checkpoint", run.path, "--count", "3", "--sampler", "ddim", "--steps", "5",
                                "--output", dir.appendingPathComponent("ddim").path, "--threads", "1"])
        #expect(ddim.status == 0, "\(ddim.standardError)")

        // A second train into the same folder without --resume is refused.
        let again = try runDDPM(["train", "--output", run.path, "--steps", "4"] + Self.toy)
        #expect(again.status != 0)
        #expect(again.standardError.contains("--resume"))
    }

    @Test func resumeIsBitForBit() throws {
        let dir = try temporaryDirectory()
        let straight = dir.appendingPathComponent("straight"), split = dir.appendingPathComponent("split")
        let a = try runDDPM(["train", "--output", straight.path, "--steps", "20", "--checkpoint-every", "7"] + Self.toy)
        #expect(a.status == 0, "\(a.standardError)")
        let b = try runDDPM(["train", "--output", split.path, "--steps", "10"] + Self.toy)
        #expect(b.status == 0, "\(b.standardError)")
        let c = try runDDPM(["train", "--output", split.path, "--resume", "--steps", "20", "--threads", "1"])
        #expect(c.status == 0, "\(c.standardError)")
        #expect(try losses(straight) == losses(split))
        #expect(try losses(split).count == 20)
        for name in ["model.safetensors", "ema.safetensors", "optimizer.safetensors", "state.json"] {
            let x = try Data(contentsOf: straight.appendingPathComponent(name)), y = try Data(contentsOf: split.appendingPathComponent(name))
            #expect(x == y, "\(name) differs")
        }
    }

    @Test func mismatchedCheckpointIsExplained() throws {
        let dir = try temporaryDirectory()
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two")
        #expect(try runDDPM(["train", "--output", one.path, "--steps", "2"] + Self.toy).status == 0)
        #expect(try runDDPM(["train", "--output", two.path, "--steps", "3"] + Self.toy).status == 0)
        // As if a save crashed after model.safetensors but before state.json.
        try FileManager.default.removeItem(at: one.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: two.appendingPathComponent("model.safetensors"), to: one.appendingPathComponent("model.safetensors"))
        let result = try runDDPM(["train", "--output", one.path, "--resume", "--steps", "4", "--threads", "1"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("step 3"))
        #expect(result.standardError.contains("interrupted"))
    }

    @Test(arguments: [
        (["--batch-size", "0"], "--batch-size"),
        (["--model", "nonsense"], "--model"),
        (["--schedule", "quadratic"], "--schedule"),
        (["--variance", "huge"], "--variance"),
        (["--ema-decay", "2"], "--ema-decay"),
    ])
    func badFlagsWriteNothing(_ flags: [String], _ named: String) throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("out")
        let result = try runDDPM(["train", "--data", "swissroll", "--output", out.path] + flags)
        #expect(result.status != 0)
        #expect(result.standardError.contains(named), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func missingDataWritesNothing() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("out")
        let result = try runDDPM(["train", "--data", "png:" + dir.appendingPathComponent("absent").path, "--output", out.path])
        #expect(result.status != 0)
        #expect(result.standardError.contains("--data"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let resume = try runDDPM(["train", "--output", out.path, "--resume"])
        #expect(resume.status != 0)
        #expect(resume.standardError.contains("--resume"))
    }

    @Test func divergenceStopsAndKeepsLastCheckpoint() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("out")
        let first = try runDDPM(["train", "--output", out.path, "--steps", "2"] + Self.toy)
        #expect(first.status == 0, "\(first.standardError)")
        let before = try Data(contentsOf: out.appendingPathComponent("model.safetensors"))
        let state = try Data(contentsOf: out.appendingPathComponent("state.json"))
        // Raise the learning rate by editing run.json: the next steps blow up.
        let runURL = out.appendingPathComponent("run.json")
        var run = try JSONSerialization.jsonObject(with: Data(contentsOf: runURL)) as! [String: Any]
        run["learningRate"] = 1e30
        run["warmup"] = 0
        try JSONSerialization.data(withJSONObject: run).write(to: runURL)
        let result = try runDDPM(["train", "--output", out.path, "--resume", "--steps", "20", "--threads", "1"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("diverged"), "\(result.standardError)")
        #expect(try Data(contentsOf: out.appendingPathComponent("model.safetensors")) == before)
        #expect(try Data(contentsOf: out.appendingPathComponent("state.json")) == state)
    }

    @Test func sigtermSavesAndExitsCleanly() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("out")
        let process = Process()
        process.executableURL = ddpmExecutable
        process.arguments = ["train", "--output", out.path, "--steps", "1000000"] + Self.toy
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !FileManager.default.fileExists(atPath: out.appendingPathComponent("log.jsonl").path) {
            Thread.sleep(forTimeInterval: 0.1)
        }
        Thread.sleep(forTimeInterval: 0.5)
        process.terminate()
        let exitDeadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < exitDeadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("state.json"))) as! [String: Any]
        let step = (state["step"] as! NSNumber).intValue
        #expect(step >= 1)
        #expect(try losses(out).count == step)
    }

    @Test func imagesTrainAndSample() throws {
        let dir = try temporaryDirectory()
        let run = dir.appendingPathComponent("run")
        let result = try runDDPM(["train", "--data", "deadleaves,size=8,count=16", "--model", "fashion", "--output", run.path,
                                  "--steps", "1", "--batch-size", "2", "--timesteps", "10"])
        #expect(result.status == 0, "\(result.standardError)")
        let out = dir.appendingPathComponent("samples")
        let sample = try runDDPM(["sample", "--checkpoint", run.path, "--count", "2", "--steps", "2", "--output", out.path])
        #expect(sample.status == 0, "\(sample.standardError)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples.png").path))
        let npy = try Data(contentsOf: out.appendingPathComponent("samples.npy"))
        #expect(String(decoding: npy.prefix(80), as: UTF8.self).contains("(2, 8, 8, 1)"))
    }
}
