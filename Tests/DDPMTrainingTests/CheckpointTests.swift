// Checkpoint folders: one current checkpoint behind an atomically replaced link, leftovers cleaned
// up, torn saves refused, runs without a checkpoint resumable, folders of format 0 still usable.
import DDPMTestSupport
import Foundation
import DDPMNeuralNetworks
import DDPMTensors
import Testing
import DDPMTraining

@Suite("Checkpoints")
struct CheckpointTests {
    func entries(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    @Test("a save replaces the previous checkpoint as a whole; leftovers of an interrupted save are removed on resume")
    func layout() throws {
        let configuration = try toyConfiguration(steps: 4)
        let run = try temporaryFolder().appendingPathComponent("run")
        let training = try TrainingRun.start(configuration, dataset: try TrainingRun.loadData(configuration.data, seed: 11), in: run)
        try training.step()
        try training.saveCheckpoint()
        #expect(try entries(run) == ["checkpoint", "checkpoint-00000001", "log.jsonl", "run.json"])
        try training.step()
        try training.saveCheckpoint()
        #expect(try entries(run) == ["checkpoint", "checkpoint-00000002", "log.jsonl", "run.json"])
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: run.appendingPathComponent("checkpoint").path)
                == "checkpoint-00000002")

        // What a crash mid-save leaves: a partial folder, a finished but unlinked one, a temporary link.
        let stale = [".checkpoint-00000003.partial", "checkpoint-00000003", ".checkpoint.link-123"]
        for name in stale.prefix(2) {
            try FileManager.default.createDirectory(at: run.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        try FileManager.default.createSymbolicLink(
            atPath: run.appendingPathComponent(stale[2]).path, withDestinationPath: "checkpoint-00000003")
        let resumed = try TrainingRun.resume(run)
        #expect(resumed.trainer.step == 2)
        #expect(try entries(run) == ["checkpoint", "checkpoint-00000002", "log.jsonl", "run.json"])
    }

    @Test("keepCheckpoints keeps the last N checkpoints before the current one, each loadable as its step's model")
    func keptCheckpoints() throws {
        var configuration = try toyConfiguration(steps: 6)
        configuration.keepCheckpoints = 2
        let run = try temporaryFolder().appendingPathComponent("run")
        let training = try TrainingRun.start(configuration, dataset: try TrainingRun.loadData(configuration.data, seed: 11), in: run)
        var weights: [Int: [Float]] = [:]
        for _ in 0..<5 {
            try training.step()
            try training.saveCheckpoint()
            weights[training.trainer.step] = training.trainer.network.namedParameters[0].parameter.value.floats
        }
        #expect(
            try entries(run) == [
                "checkpoint", "checkpoint-00000003", "checkpoint-00000004", "checkpoint-00000005", "log.jsonl", "run.json",
            ])
        for step in 3...5 {
            let folder = run.appendingPathComponent(String(format: "checkpoint-%08d", step))
            let model = try TrainedModel.load(folder, weights: .raw)
            #expect(model.network.namedParameters[0].parameter.value.floats == weights[step], "step \(step)")
        }
        #expect(weights[3] != weights[5])
        // Fewer on resume: the oldest go at once.
        let resumed = try TrainingRun.resume(run) { $0.keepCheckpoints = 1 }
        #expect(resumed.trainer.step == 5)
        #expect(try entries(run) == ["checkpoint", "checkpoint-00000004", "checkpoint-00000005", "log.jsonl", "run.json"])
        // A folder that only looks like one is not taken for a checkpoint.
        #expect(Checkpoint.isCheckpointFolderName("checkpoint-00000004"))
        #expect(!Checkpoint.isCheckpointFolderName("checkpoint-0000004x") && !Checkpoint.isCheckpointFolderName("checkpoint-4"))
    }

    @Test("the loss curve is drawn from log.jsonl's loss lines and the FID curve from its FID lines")
    func lossCurve() throws {
        let configuration = try toyConfiguration(steps: 3)
        let run = try temporaryFolder().appendingPathComponent("run")
        let training = try TrainingRun.start(configuration, dataset: try TrainingRun.loadData(configuration.data, seed: 11), in: run)
        var reported: [Double] = []
        for _ in 0..<3 {
            reported.append(try training.step().loss)
            if reported.count == 2 { training.appendToLog(["step": 2, "fid": 12.5]) }
        }
        let (steps, losses) = training.loggedLosses()
        #expect(steps == [1, 2, 3] && losses == reported)
        #expect(training.loggedFIDs() == ([2], [12.5]))
        let url = try training.writeLossCurve()
        #expect(url.lastPathComponent == TrainingRun.lossCurveName)
        #expect(try entries(run) == ["fid.png", "fid.svg", "log.jsonl", "loss.png", "loss.svg", "run.json"])
    }

    @Test("a run stopped before its first checkpoint resumes from step 0, as a fresh run would")
    func noCheckpointYet() throws {
        let configuration = try toyConfiguration(steps: 3)
        let folder = try temporaryFolder()
        let dataset = try TrainingRun.loadData(configuration.data, seed: 11)
        let fresh = folder.appendingPathComponent("fresh"), stopped = folder.appendingPathComponent("stopped")
        let a = try TrainingRun.start(configuration, dataset: dataset, in: fresh)
        while !a.isFinished { try a.step() }
        try a.saveCheckpoint()
        let b = try TrainingRun.start(configuration, dataset: dataset, in: stopped)
        try b.step()  // logged, never saved: then killed
        #expect(Checkpoint.location(in: stopped) == nil)
        let c = try TrainingRun.resume(stopped)
        #expect(c.trainer.step == 0 && c.notes.contains { $0.contains("starting from step 0") })
        while !c.isFinished { try c.step() }
        try c.saveCheckpoint()
        #expect(try checkpointFiles(fresh) == checkpointFiles(stopped))
        #expect(try String(contentsOf: stopped.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n").count == 3)
    }

    @Test("files from different steps are refused, naming the file and both steps")
    func tornCheckpoint() throws {
        let configuration = try toyConfiguration(steps: 3)
        let folder = try temporaryFolder()
        let dataset = try TrainingRun.loadData(configuration.data, seed: 11)
        let one = folder.appendingPathComponent("one"), two = folder.appendingPathComponent("two")
        for (run, steps) in [(one, 1), (two, 2)] {
            let training = try TrainingRun.start(configuration, dataset: dataset, in: run)
            for _ in 0..<steps { try training.step() }
            try training.saveCheckpoint()
        }
        let target = one.appendingPathComponent("checkpoint/ema.safetensors")
        try FileManager.default.removeItem(at: target)
        try FileManager.default.copyItem(at: two.appendingPathComponent("checkpoint/ema.safetensors"), to: target)
        do {
            _ = try TrainingRun.resume(one)
            Issue.record("a torn checkpoint was resumed")
        } catch let error as TrainingError {
            #expect("\(error)".contains(target.lastPathComponent) && "\(error)".contains("step 2 but state.json says step 1"), "\(error)")
        }
        #expect(throws: TrainingError.self) { try TrainedModel.load(one) }
    }

    @Test("a checkpoint missing a moment or holding a wrong shape is refused")
    func missingMoment() throws {
        let configuration = try toyConfiguration(steps: 2)
        let run = try temporaryFolder().appendingPathComponent("run")
        let training = try TrainingRun.start(configuration, dataset: try TrainingRun.loadData(configuration.data, seed: 11), in: run)
        try training.step()
        try training.saveCheckpoint()
        let url = run.appendingPathComponent("checkpoint/optimizer.safetensors")
        let file = try SafeTensorsFile(contentsOf: url)
        var tensors = try file.allTensors()
        let name = tensors.keys.sorted().first { $0.hasPrefix("v.") }!
        tensors.removeValue(forKey: name)
        try SafeTensorsFile.write(tensors, metadata: file.metadata, to: url)
        do {
            _ = try TrainingRun.resume(run)
            Issue.record("a checkpoint without \(name) was resumed")
        } catch let error as TrainingError {
            #expect("\(error)".contains("has no tensor \"\(name)\""), "\(error)")
        }
    }

    /// A run folder written before the link layout (committed: 3 steps of the toy model) samples
    /// and resumes, saying that it continues under keyed randomness; its weights load unchanged.
    @Test("a run folder of format 0 samples and resumes")
    func legacyFolder() throws {
        let run = try copyOfFixture("legacy-run")
        let legacyEMA = try SafeTensorsFile(contentsOf: run.appendingPathComponent("ema.safetensors")).allTensors()
        let trained = try TrainedModel.load(run)
        #expect(trained.exampleShape == [2])
        for (name, p) in trained.network.namedParameters { #expect(p.value.floats == legacyEMA[name]!.floats, "\(name)") }
        // 3 updates at decay 0.9: 0.9³ of the average is still the initial weights.
        #expect(abs(trained.emaInitialWeight! - 0.729) < 1e-12)
        var generator = PhiloxGenerator(seed: 1)
        let samples = try trained.process.samplesForDisplay(model: trained.model, shape: [5, 2], maxSteps: 10, generator: &generator)
        #expect(samples.shape == [5, 2] && samples.floats.allSatisfy(\.isFinite))

        let resumed = try TrainingRun.resume(run) { $0.steps = 5 }
        #expect(resumed.trainer.step == 3 && resumed.trainer.optimizer.step == 3)
        #expect(resumed.notes.contains { $0.contains("keyed randomness") })
        #expect(resumed.notes.contains { $0.contains("rewrote it in the new format") })
        while !resumed.isFinished { try resumed.step() }
        try resumed.saveCheckpoint()
        #expect(try entries(run) == ["checkpoint", "checkpoint-00000005", "log.jsonl", "run.json"])
        #expect(try TrainingConfiguration.load(from: run.appendingPathComponent("run.json")).migratedFrom == nil)
        #expect(try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n").count == 5)
    }

    @Test(
        "hand-edited state.json values are refused, naming the file and the key",
        arguments: [
            ("step", "-3" as String, "step"), ("emaUpdates", "1.5", "emaUpdates"), ("surprise", "1", "surprise"),
            ("formatVersion", "7", "formatVersion"),
        ])
    func editedState(_ key: String, _ value: String, _ named: String) throws {
        let configuration = try toyConfiguration(steps: 2)
        let run = try temporaryFolder().appendingPathComponent("run")
        let training = try TrainingRun.start(configuration, dataset: try TrainingRun.loadData(configuration.data, seed: 11), in: run)
        try training.step()
        try training.saveCheckpoint()
        let url = run.appendingPathComponent("checkpoint/state.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        object[key] = try JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        do {
            _ = try TrainingRun.resume(run)
            Issue.record("state.json with \(key) = \(value) was accepted")
        } catch let error as TrainingError {
            #expect("\(error)".contains("state.json") && "\(error)".contains(named), "\(error)")
        }
    }
}
