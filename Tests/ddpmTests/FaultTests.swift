// Faults while writing and giant requests: each gives a clear error (or training goes on where only
// a log line or a message was lost), exits non-zero when it stops, and leaves the last good
// checkpoint loadable.
import DDPMTestSupport
import Foundation
import Testing
import DDPMTraining

@Suite("faults while writing")
struct FaultTests {
    static let toy = ["--data", "swissroll,count=64", "--batch-size", "8", "--threads", "1"]

    /// Runs `ddpm arguments…` through bash with `prefix` (limits and redirections) in front.
    func runThroughShell(_ prefix: String, _ arguments: [String]) throws -> CommandResult {
        let quoted = ([ddpmExecutable.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let folder = try temporaryFolder("shell")
        let script = folder.appendingPathComponent("run.sh")
        try Data("\(prefix)\nexec \(quoted)\n".utf8).write(to: script)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path]
        let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus,
            standardOutput: try String(contentsOf: out, encoding: .utf8),
            standardError: try String(contentsOf: err, encoding: .utf8))
    }

    func step(_ run: URL) throws -> Int {
        try Checkpoint.readState(Checkpoint.location(in: run)!).step
    }

    /// A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes writes past 400 KiB fail as on a full
    /// disk: the 570 KB optimiser file of the next checkpoint cannot be written.
    @Test func fullDiskDuringACheckpointKeepsTheLastOne() throws {
        let run = try temporaryFolder().appendingPathComponent("run")
        #expect(try runDDPM(["train", "--output", run.path, "--steps", "2"] + Self.toy).status == 0)
        let full = try runThroughShell(
            "trap '' XFSZ; ulimit -f 400", ["train", "--output", run.path, "--resume", "--steps", "4", "--threads", "1"])
        #expect(full.status == 1, "\(full.standardError)")
        #expect(
            full.standardError.contains("optimizer.safetensors") && full.standardError.contains("File too large"), "\(full.standardError)")
        #expect(try step(run) == 2)
        _ = try TrainedModel.load(run)
        let again = try runDDPM(["train", "--output", run.path, "--resume", "--steps", "4", "--threads", "1"])
        #expect(again.status == 0, "\(again.standardError)")
        #expect(try step(run) == 4)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: run.path).sorted() == [
                "checkpoint", "checkpoint-00000004", "log.jsonl", "loss.png", "loss.svg", "run.json",
            ])
    }

    /// A loss curve that cannot be written (loss.png is a folder) is noted once; training goes on.
    @Test func aLossCurveThatCannotBeWrittenDoesNotStopTraining() throws {
        let run = try temporaryFolder().appendingPathComponent("run")
        #expect(try runDDPM(["train", "--output", run.path, "--steps", "2"] + Self.toy).status == 0)
        let picture = run.appendingPathComponent("loss.png")
        try FileManager.default.removeItem(at: picture)
        try FileManager.default.createDirectory(at: picture.appendingPathComponent("in the way"), withIntermediateDirectories: true)
        let result = try runDDPM(
            ["train", "--output", run.path, "--resume", "--steps", "6", "--checkpoint-every", "2", "--threads", "1"])
        #expect(result.status == 0, "\(result.standardError)")
        let notes = result.standardError.components(separatedBy: "Training goes on without the loss curve.")
        #expect(notes.count == 2 && notes[0].contains(picture.path), "\(result.standardError)")
        #expect(try step(run) == 6)
    }

    @Test func aLogThatCannotBeWrittenLosesLinesNotTheRun() throws {
        let run = try temporaryFolder().appendingPathComponent("run")
        #expect(try runDDPM(["train", "--output", run.path, "--steps", "2"] + Self.toy).status == 0)
        let log = run.appendingPathComponent("log.jsonl")
        try FileManager.default.removeItem(at: log)
        try FileManager.default.createSymbolicLink(atPath: log.path, withDestinationPath: "/dev/full")
        let result = try runDDPM(["train", "--output", run.path, "--resume", "--steps", "5", "--threads", "1"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("some log lines were lost: \(log.path)"), "\(result.standardError)")
        #expect(try step(run) == 5)
    }

    @Test(arguments: ["exec 2>&-", "exec 2>/dev/full"])
    func closedOrFullStandardErrorDoesNotStopTraining(_ redirection: String) throws {
        let run = try temporaryFolder().appendingPathComponent("run")
        let result = try runThroughShell(redirection, ["train", "--output", run.path, "--steps", "3"] + Self.toy)
        #expect(result.status == 0, "\(result.standardOutput)")
        #expect(try step(run) == 3)
    }

    @Test func anOutputThatIsAFileIsRefused() throws {
        let folder = try temporaryFolder()
        let file = folder.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        let train = try runDDPM(["train", "--output", file.path, "--steps", "1"] + Self.toy)
        #expect(train.status != 0 && train.standardError.contains(file.path), "\(train.standardError)")
        let run = folder.appendingPathComponent("run")
        #expect(try runDDPM(["train", "--output", run.path, "--steps", "1"] + Self.toy).status == 0)
        let sample = try runDDPM(["sample", "--checkpoint", run.path, "--count", "2", "--steps", "2", "--output", file.path])
        #expect(sample.status != 0 && sample.standardError.contains(file.path), "\(sample.standardError)")
        #expect(try Data(contentsOf: file) == Data("x".utf8))
    }

    /// The run folder removed while training: the next save is refused instead of recreating a
    /// folder without run.json.
    @Test func aRunFolderDeletedMidRunStopsWithAnError() throws {
        let run = try temporaryFolder().appendingPathComponent("run")
        let (process, _, err) = try SignalTests.start(
            ["train", "--output", run.path, "--steps", "100000", "--checkpoint-every", "50"] + Self.toy, in: run.deletingLastPathComponent()
        )
        // loss.svg is written last after a save: then nothing is being written until the next one.
        SignalTests.waitFor(run.appendingPathComponent("loss.svg"), seconds: 30)
        try FileManager.default.removeItem(at: run)
        process.waitUntilExit()
        let message = try String(contentsOf: err, encoding: .utf8)
        #expect(process.terminationReason == .exit && process.terminationStatus == 1, "\(message.suffix(1000))")
        #expect(message.contains("was removed while training"), "\(message.suffix(1000))")
        #expect(!FileManager.default.fileExists(atPath: run.path))
    }

    @Test(arguments: [
        (["train", "--output", "", "--data", "swissroll"], "--output"),
        (["train", "--output", "o", "--data", "swissroll", "--batch-size", "1000000000"], "--batch-size"),
        (["train", "--output", "o", "--data", "swissroll", "--timesteps", "1000000000"], "--timesteps"),
        (["train", "--output", "o", "--data", "swissroll,count=1000000000000"], "count=1000000000000"),
        (["train", "--output", "o", "--data", "deadleaves,size=4096,count=100000000"], "exceed"),
        (["demo", "--count", "1000000000000"], "--count"),
    ])
    func giantOrEmptyRequestsAreRefusedBeforeAnythingIsAllocated(_ arguments: [String], _ named: String) throws {
        let folder = try temporaryFolder()
        let result = try runDDPM(arguments, in: folder)
        #expect(result.status != 0 && result.standardError.contains(named), "\(result.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test func samplesThatWouldNotFitInMemoryAreRefused() throws {
        let folder = try temporaryFolder()
        let run = folder.appendingPathComponent("run")
        #expect(try runDDPM(["train", "--output", run.path, "--steps", "1"] + Self.toy).status == 0)
        let result = try runDDPM([
            "sample", "--checkpoint", run.path, "--count", "2000000000", "--output", folder.appendingPathComponent("s").path,
        ])
        #expect(result.status != 0 && result.standardError.contains("--count 2000000000"), "\(result.standardError)")
    }
}
