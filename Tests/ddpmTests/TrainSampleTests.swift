// End-to-end tests of `ddpm train` and `ddpm sample` on tiny settings.
import DDPMTestSupport
import DDPMImaging
import DDPMTraining
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

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
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        let result = try runDDPM(["train", "--output", run.path, "--steps", "4"] + Self.toy)
        #expect(result.status == 0, "\(result.standardError)")
        for name in [
            "run.json", "log.jsonl", "checkpoint/model.safetensors", "checkpoint/ema.safetensors",
            "checkpoint/optimizer.safetensors", "checkpoint/state.json",
        ] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(name).path), "\(name)")
        }
        // The link is the only checkpoint folder: no partial saves or older checkpoints are left behind.
        let entries = try FileManager.default.contentsOfDirectory(atPath: run.path).sorted()
        #expect(entries == ["checkpoint", "checkpoint-00000004", "log.jsonl", "loss.png", "loss.svg", "run.json"], "\(entries)")
        #expect(try losses(run).count == 4)
        // run.json records the toolkit that started the run, as `ddpm --version` prints it.
        let settings = try TrainingConfiguration.load(from: run.appendingPathComponent("run.json")).configuration
        #expect(settings.createdWith == ToolkitVersion.description, "\(settings.createdWith ?? "nil")")
        #expect(try runDDPM(["--version"]).standardOutput == "ddpm \(ToolkitVersion.description)\n")

        let out = dir.appendingPathComponent("samples")
        let sample = try runDDPM([
            "sample", "--checkpoint", run.path, "--count", "7", "--batch-size", "4",
            "--steps", "10", "--output", out.path, "--threads", "1",
        ])
        #expect(sample.status == 0, "\(sample.standardError)")
        let csv = try String(contentsOf: out.appendingPathComponent("samples.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 8)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples.png").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples.svg").path), "the scatter plot as SVG")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples.npy").path))

        let ddim = try runDDPM([
            "sample", "--checkpoint", run.path, "--count", "3", "--sampler", "ddim", "--steps", "5",
            "--output", dir.appendingPathComponent("ddim").path, "--threads", "1",
        ])
        #expect(ddim.status == 0, "\(ddim.standardError)")

        // A second train into the same folder without --resume is refused.
        let again = try runDDPM(["train", "--output", run.path, "--steps", "4"] + Self.toy)
        #expect(again.status != 0)
        #expect(again.standardError.contains("--resume"))
    }

    /// loss.png and loss.svg are redrawn at every checkpoint from log.jsonl: after the checkpoint
    /// at step 10 the curve has 10 points, after the last 30; the SVG is well-formed XML.
    @Test func trainDrawsTheLossCurveAtEachCheckpoint() throws {
        let run = try temporaryFolder().appendingPathComponent("run")
        let first = try runDDPM(["train", "--output", run.path, "--steps", "10", "--checkpoint-every", "10"] + Self.toy)
        #expect(first.status == 0, "\(first.standardError)")
        let svgURL = run.appendingPathComponent("loss.svg")
        func points() throws -> Int {
            let svg = try String(contentsOf: svgURL, encoding: .utf8)
            #expect(XMLParser(data: Data(svg.utf8)).parse(), "loss.svg is not well-formed")
            #expect(svg.contains(">training loss</text>") && svg.contains(">step</text>"))
            let polyline = try #require(svg.split(separator: "\n").first { $0.hasPrefix("<polyline") })
            return polyline.split(separator: "\"")[1].split(separator: " ").count
        }
        #expect(try points() == 10)
        let resumed = try runDDPM(
            ["train", "--output", run.path, "--resume", "--steps", "30", "--checkpoint-every", "10", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try points() == 30)
        let png = try PNGCodec.read(from: run.appendingPathComponent("loss.png"))
        #expect(png.width == 640 && png.height == 400)
    }

    @Test func resumeIsBitForBit() throws {
        let dir = try temporaryFolder()
        let straight = dir.appendingPathComponent("straight"), split = dir.appendingPathComponent("split")
        let a = try runDDPM(["train", "--output", straight.path, "--steps", "20", "--checkpoint-every", "7"] + Self.toy)
        #expect(a.status == 0, "\(a.standardError)")
        let b = try runDDPM(["train", "--output", split.path, "--steps", "10"] + Self.toy)
        #expect(b.status == 0, "\(b.standardError)")
        let c = try runDDPM(["train", "--output", split.path, "--resume", "--steps", "20", "--threads", "1"])
        #expect(c.status == 0, "\(c.standardError)")
        #expect(try losses(straight) == losses(split))
        #expect(try losses(split).count == 20)
        for name in ["model.safetensors", "ema.safetensors", "optimizer.safetensors", "state.json"].map({ "checkpoint/" + $0 }) {
            let x = try Data(contentsOf: straight.appendingPathComponent(name)),
                y = try Data(contentsOf: split.appendingPathComponent(name))
            #expect(x == y, "\(name) differs")
        }
    }

    @Test func mismatchedCheckpointIsExplained() throws {
        let dir = try temporaryFolder()
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two")
        #expect(try runDDPM(["train", "--output", one.path, "--steps", "2"] + Self.toy).status == 0)
        #expect(try runDDPM(["train", "--output", two.path, "--steps", "3"] + Self.toy).status == 0)
        // As if a save crashed after model.safetensors but before state.json.
        let model = "checkpoint/model.safetensors"
        try FileManager.default.removeItem(at: one.appendingPathComponent(model))
        try FileManager.default.copyItem(at: two.appendingPathComponent(model), to: one.appendingPathComponent(model))
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
        let dir = try temporaryFolder()
        let out = dir.appendingPathComponent("out")
        let result = try runDDPM(["train", "--data", "swissroll", "--output", out.path] + flags)
        #expect(result.status != 0)
        #expect(result.standardError.contains(named), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func missingDataWritesNothing() throws {
        let dir = try temporaryFolder()
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
        let dir = try temporaryFolder()
        let out = dir.appendingPathComponent("out")
        let first = try runDDPM(["train", "--output", out.path, "--steps", "2"] + Self.toy)
        #expect(first.status == 0, "\(first.standardError)")
        let before = try Data(contentsOf: out.appendingPathComponent("checkpoint/model.safetensors"))
        let state = try Data(contentsOf: out.appendingPathComponent("checkpoint/state.json"))
        // Raise the learning rate by editing run.json: the next steps blow up.
        let runURL = out.appendingPathComponent("run.json")
        var run = try JSONSerialization.jsonObject(with: Data(contentsOf: runURL)) as! [String: Any]
        var optimizer = run["optimizer"] as! [String: Any]
        optimizer["learningRate"] = 1e30
        optimizer["warmupSteps"] = 0
        run["optimizer"] = optimizer
        try JSONSerialization.data(withJSONObject: run).write(to: runURL)
        let result = try runDDPM(["train", "--output", out.path, "--resume", "--steps", "20", "--threads", "1"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("diverged"), "\(result.standardError)")
        #expect(try Data(contentsOf: out.appendingPathComponent("checkpoint/model.safetensors")) == before)
        #expect(try Data(contentsOf: out.appendingPathComponent("checkpoint/state.json")) == state)
    }

    @Test func sigtermSavesAndExitsCleanly() throws {
        let dir = try temporaryFolder()
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
        #expect(process.terminationStatus == 143, "interrupted by SIGTERM with a checkpoint saved")
        let state =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("checkpoint/state.json"))) as! [String: Any]
        let step = (state["step"] as! NSNumber).intValue
        #expect(step >= 1)
        #expect(try losses(out).count == step)
    }

    @Test func imagesTrainAndSample() throws {
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        let result = try runDDPM([
            "train", "--data", "deadleaves,size=8,count=16", "--model", "fashion", "--output", run.path,
            "--steps", "1", "--batch-size", "2", "--timesteps", "10",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let out = dir.appendingPathComponent("samples")
        let sample = try runDDPM(["sample", "--checkpoint", run.path, "--count", "2", "--steps", "2", "--output", out.path])
        #expect(sample.status == 0, "\(sample.standardError)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples.png").path))
        let npy = try Data(contentsOf: out.appendingPathComponent("samples.npy"))
        #expect(String(decoding: npy.prefix(80), as: UTF8.self).contains("(2, 8, 8, 1)"))
    }

    /// A run folder written before settings format 1 and the checkpoint link (committed: 3 steps of
    /// the toy model, EMA decay 0.9) samples, warning that its EMA is mostly initial weights, and
    /// resumes, saying that the steps after the checkpoint draw new random numbers.
    @Test func legacyRunFolderSamplesAndResumes() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../DDPMTrainingTests/Fixtures/legacy-run").standardizedFileURL
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        try FileManager.default.copyItem(at: fixture, to: run)
        let sample = try runDDPM([
            "sample", "--checkpoint", run.path, "--count", "4", "--steps", "5",
            "--output", dir.appendingPathComponent("s").path, "--threads", "1",
        ])
        #expect(sample.status == 0, "\(sample.standardError)")
        #expect(
            sample.standardError.contains("72.9 % of the initial weights") && sample.standardError.contains("--raw-weights"),
            "\(sample.standardError)")
        let raw = try runDDPM([
            "sample", "--checkpoint", run.path, "--count", "4", "--steps", "5", "--raw-weights",
            "--output", dir.appendingPathComponent("r").path, "--threads", "1",
        ])
        #expect(raw.status == 0 && !raw.standardError.contains("initial weights"), "\(raw.standardError)")
        let resumed = try runDDPM(["train", "--output", run.path, "--resume", "--steps", "5", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardError.contains("predates keyed randomness"), "\(resumed.standardError)")
        #expect(try losses(run).count == 5)
        let state =
            try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("checkpoint/state.json"))) as! [String: Any]
        #expect((state["step"] as? NSNumber)?.intValue == 5)
    }

    /// IDDPM's importance-sampled timesteps from the command line: recorded in run.json, the loss
    /// history saved in the checkpoint.
    @Test func lossAwareTimestepsAreSavedWithTheCheckpoint() throws {
        let run = try temporaryFolder().appendingPathComponent("run")
        let result = try runDDPM(
            [
                "train", "--output", run.path, "--steps", "6", "--timesteps", "4",
                "--timestep-sampling", "loss-aware",
            ] + Self.toy)
        #expect(result.status == 0, "\(result.standardError)")
        let settings = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("run.json"))) as! [String: Any]
        #expect((settings["timestepSampling"] as? [String: Any])?["kind"] as? String == "loss-aware")
        let state =
            try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("checkpoint/state.json"))) as! [String: Any]
        let history = state["lossHistory"] as? [[Double]]
        // 96 draws over T = 4: every t has filled its history of IDDPM's 10 losses.
        #expect(history?.count == 4 && history?.allSatisfy { $0.count == 10 } == true, "\(String(describing: history))")
    }
}
