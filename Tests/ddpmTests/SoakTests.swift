// The crash-resume soak: a run killed with SIGKILL at random moments (saves slowed down, so that
// many kills land inside one) and resumed each time ends byte-identical to an uninterrupted run,
// and every checkpoint seen on disk between kills loads. `make soak` runs 20 kills
// (DDPM_SOAK_KILLS=20); the tests run 5.
import DDPMTestSupport
import Foundation
import Testing
import DDPMTraining

@Suite("crash-resume soak", .serialized)
struct SoakTests {
    /// The run: long enough (40 steps per kill, at least 240) that the kills land before it ends.
    static func run(kills: Int) -> [String] {
        [
            "--data", "swissroll,count=256", "--batch-size", "16", "--steps", "\(max(240, 40 * kills))", "--checkpoint-every", "4",
            "--learning-rate", "1e-3", "--warmup", "5", "--threads", "1",
        ]
    }

    @Test func killedAndResumedRunEqualsAnUninterruptedOne() throws {
        let kills = Int(ProcessInfo.processInfo.environment["DDPM_SOAK_KILLS"] ?? "") ?? 5
        let run = Self.run(kills: kills)
        let folder = try temporaryFolder()
        let straight = folder.appendingPathComponent("straight"), killed = folder.appendingPathComponent("killed")
        let reference = try runDDPM(["train", "--output", straight.path] + run)
        #expect(reference.status == 0, "\(reference.standardError)")

        var generator = SplitMix(42)
        var killCount = 0, starts = 0, checkpointsLoaded = 0
        while killCount < kills {
            let resume = TrainingRun.exists(in: killed)
            let (process, _, _) = try SignalTests.start(
                ["train", "--output", killed.path] + (resume ? ["--resume"] : []) + run, in: folder,
                environment: ["DDPM_CHECKPOINT_WRITE_DELAY_MS": "15"])
            starts += 1
            usleep(UInt32(50_000 + generator.next() % 900_000))  // 0.05–0.95 s: start-up, steps and saves
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killCount += 1
            }
            process.waitUntilExit()
            // Whatever checkpoint is current now is complete and loads.
            if Checkpoint.location(in: killed) != nil {
                _ = try TrainedModel.load(killed)
                _ = try TrainedModel.load(killed, weights: .raw)
                checkpointsLoaded += 1
            }
            if process.terminationReason == .exit { break }  // finished before this kill: nothing left to interrupt
        }
        let last = try runDDPM(["train", "--output", killed.path, "--resume"] + run)
        #expect(last.status == 0, "\(last.standardError)")
        #expect(killCount == kills, "the run finished after \(killCount) of \(kills) kills; it should take longer")
        #expect(checkpointsLoaded >= 1)
        for name in [Checkpoint.modelName, Checkpoint.emaName, Checkpoint.optimizerName, Checkpoint.stateName] {
            let a = try Data(contentsOf: straight.appendingPathComponent("checkpoint/" + name))
            let b = try Data(contentsOf: killed.appendingPathComponent("checkpoint/" + name))
            #expect(a == b, "\(name) differs after \(killCount) kills and \(starts) starts")
        }
        func losses(_ run: URL) throws -> [String] {
            try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                return "\(object["step"]!) \(object["loss"]!)"
            }
        }
        #expect(try losses(straight) == losses(killed))
        print("soak: \(killCount) kills, \(starts) starts, \(checkpointsLoaded) checkpoints loaded between kills, final files identical")
    }
}
