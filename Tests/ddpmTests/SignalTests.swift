// Signals at random moments during training and sampling: none may crash the process (each is
// received on the signal thread; no handler frame is ever pushed on a thread running JIT kernels).
import DDPMTestSupport
import Foundation
import Testing
import DDPMTraining

@Suite("signals", .serialized)
struct SignalTests {
    /// Starts `ddpm arguments…` with standard output and error going to files in `folder`.
    static func start(_ arguments: [String], in folder: URL, environment: [String: String] = [:]) throws -> (Process, URL, URL) {
        let process = Process()
        process.executableURL = ddpmExecutable
        process.arguments = arguments
        let out = folder.appendingPathComponent("stdout-\(UUID().uuidString.prefix(6))")
        let err = folder.appendingPathComponent("stderr-\(UUID().uuidString.prefix(6))")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        try process.run()
        return (process, out, err)
    }

    /// Sends `count` signals at random intervals of 0–`maximumGap` ms while `process` runs; returns
    /// how many were sent.
    static func barrage(_ process: Process, signals: [Int32], count: Int, maximumGap: UInt32, seed: UInt64) -> Int {
        var generator = SplitMix(seed)
        var sent = 0
        for _ in 0..<count where process.isRunning {
            guard kill(process.processIdentifier, signals[Int(generator.next() % UInt64(signals.count))]) == 0 else { break }
            sent += 1
            usleep(UInt32(generator.next() % UInt64(maximumGap + 1)) * 1000)
        }
        return sent
    }

    /// Waits for `path` to exist (the run has started its steps), at most `seconds`.
    static func waitFor(_ path: URL, seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, !FileManager.default.fileExists(atPath: path.path) { usleep(20_000) }
    }

    /// Waits for `log` to hold a line (a step was taken), at most `seconds`.
    static func waitForLines(_ log: URL, seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, ((try? Data(contentsOf: log))?.count ?? 0) == 0 { usleep(20_000) }
    }

    @Test func hundredsOfSignalsDuringTrainingAndSamplingCrashNothing() throws {
        let folder = try temporaryFolder()
        let run = folder.appendingPathComponent("run")
        // A U-Net (time-embedding GEMMs on oneDNN's JIT) on two threads, far more steps than it will take.
        let (train, trainOut, trainErr) = try Self.start(
            [
                "train", "--data", "deadleaves,size=8,count=64", "--model", "tiny", "--batch-size", "8", "--steps", "1000000",
                "--timesteps", "50", "--threads", "2", "--output", run.path,
            ], in: folder)
        Self.waitForLines(run.appendingPathComponent("log.jsonl"), seconds: 60)
        let sentToTraining = Self.barrage(train, signals: [SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR2], count: 300, maximumGap: 8, seed: 1)
        kill(train.processIdentifier, SIGTERM)
        train.waitUntilExit()
        let trainError = try String(contentsOf: trainErr, encoding: .utf8)
        #expect(sentToTraining == 300)
        #expect(train.terminationReason == .exit && train.terminationStatus == 143, "\(trainError.suffix(2000))")
        #expect(try String(contentsOf: trainOut, encoding: .utf8).contains("interrupted: saved a checkpoint"))
        #expect(trainError.components(separatedBy: "status: step ").count > 100, "SIGUSR1 should print where training stands")
        // The checkpoint it saved loads, and the log holds exactly its steps.
        let trained = try TrainedModel.load(run)
        let step = try Checkpoint.readState(Checkpoint.location(in: run)!).step
        let logLines = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n").count
        #expect(step >= 1 && logLines == step && trained.exampleShape == [1, 8, 8])

        // Sampling (no handlers of its own: SIGUSR1 and SIGUSR2 are received and ignored).
        let (sample, _, sampleErr) = try Self.start(
            [
                "sample", "--checkpoint", run.path, "--count", "256", "--sampler", "ancestral", "--threads", "2", "--output",
                folder.appendingPathComponent("s").path,
            ],
            in: folder)
        usleep(300_000)
        let sentToSampling = Self.barrage(sample, signals: [SIGUSR1, SIGUSR2], count: 200, maximumGap: 8, seed: 2)
        sample.waitUntilExit()
        #expect(sentToSampling >= 100, "sampling ended after \(sentToSampling) signals; it should take longer")
        let sampleError = try String(contentsOf: sampleErr, encoding: .utf8)
        #expect(sample.terminationReason == .exit && sample.terminationStatus == 0, "\(sampleError.suffix(2000))")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("s/samples.npy").path))
    }

    /// Without a training loop to stop, SIGINT ends the process as the default action does.
    @Test func interruptEndsOtherCommandsAsUsual() throws {
        let folder = try temporaryFolder()
        let (bench, _, _) = try Self.start(
            [
                "bench", "--model", "tiny", "--mode", "sample", "--batch-size", "8", "--iterations", "100000",
                "--threads", "1",
            ], in: folder)
        usleep(500_000)
        kill(bench.processIdentifier, SIGINT)
        bench.waitUntilExit()
        #expect(bench.terminationReason == .uncaughtSignal && bench.terminationStatus == SIGINT)
    }
}

/// SplitMix64: the test's own random delays and signal choices.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
