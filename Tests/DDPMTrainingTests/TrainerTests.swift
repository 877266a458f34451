// The trainer: resume bit for bit without the binary, divergence checks that change nothing,
// keyed randomness that does not depend on how a batch is split.
import DDPMTestSupport
import DDPMDatasets
import Foundation
import DDPMNeuralNetworks
import DDPMTensors
import Testing
import DDPMTraining

@Suite("Trainer")
struct TrainerTests {
    /// N steps straight equal N/2 steps, a save, a fresh load and N/2 more, file for file.
    @Test("resume is bit for bit", arguments: ["toy", "unet", "loss-aware"])
    func resumeIsBitForBit(_ kind: String) throws {
        var configuration = kind == "unet" ? try unetConfiguration(steps: 4) : try toyConfiguration(steps: 6)
        if kind == "loss-aware" {
            configuration.process.timesteps = 3  // every t fills its history within the run
            configuration.timestepSampling = .lossAware(historyLength: 2, uniformProbability: 0.1)
        }
        let folder = try temporaryFolder()
        let dataset = try TrainingRun.loadData(configuration.data, seed: configuration.seed)

        let straight = folder.appendingPathComponent("straight")
        let a = try TrainingRun.start(configuration, dataset: dataset, in: straight)
        while !a.isFinished { try a.step() }
        try a.saveCheckpoint()

        let split = folder.appendingPathComponent("split")
        let b = try TrainingRun.start(configuration, dataset: dataset, in: split)
        for _ in 0..<(configuration.steps / 2) { try b.step() }
        try b.saveCheckpoint()
        let c = try TrainingRun.resume(split)
        #expect(c.trainer.step == configuration.steps / 2)
        while !c.isFinished { try c.step() }
        try c.saveCheckpoint()

        #expect(try checkpointFiles(straight) == checkpointFiles(split))
        if kind == "loss-aware" {
            #expect(c.trainer.timestepSampler.history.allSatisfy { $0.count == 2 }, "every t should have a full history")
        }
    }

    @Test("a NaN loss stops before anything changes")
    func nanLossChangesNothing() throws {
        let trainer = try Trainer(configuration: toyConfiguration())
        let dataset = try TrainingRun.loadData("swissroll,count=64", seed: 11)
        var sampler = trainer.batchSampler(for: dataset)
        try trainer.train(from: &sampler)
        let before = trainerBytes(trainer)
        let poisoned = Tensor([Double](repeating: .nan, count: 16), shape: [8, 2], dtype: .float32)
        #expect(throws: TrainingError.self) { try trainer.train(on: poisoned) }
        do { try trainer.train(on: poisoned) } catch let error as TrainingError {
            #expect(error.description.contains("diverged at step 2: the loss is NaN"), "\(error)")
        }
        #expect(trainerBytes(trainer) == before)
    }

    @Test("an infinite gradient norm stops before anything changes")
    func infiniteNormChangesNothing() throws {
        let trainer = try Trainer(configuration: toyConfiguration())
        let dataset = try TrainingRun.loadData("swissroll,count=64", seed: 11)
        var sampler = trainer.batchSampler(for: dataset)
        try trainer.train(from: &sampler)
        let before = trainerBytes(trainer)
        var gradients = try trainer.gradients(start: sampler.batch(step: 1, size: 8).data, examples: 0..<8)
        #expect(gradients.loss.isFinite)
        let huge = Tensor(repeating: Double(Float.greatestFiniteMagnitude), shape: gradients.values[0].shape, dtype: .float32)
        gradients.values[0] = huge
        do {
            try trainer.apply(gradients)
            Issue.record("apply accepted an infinite gradient norm")
        } catch let error as TrainingError {
            #expect(error == .diverged(step: 2, quantity: "gradient norm", value: .infinity))
        }
        #expect(trainerBytes(trainer) == before)
    }

    /// A batch of 8 drawn as one and as 2 × 4 gives each example the same timestep, noise and
    /// dropout mask: the parts' gradients add up to the whole batch's.
    @Test("keyed randomness does not depend on the batch split")
    func batchSplit() throws {
        let configuration = try unetConfiguration()
        let trainer = try Trainer(configuration: configuration)
        let whole = trainer.draws(examples: 0..<8)
        let first = trainer.draws(examples: 0..<4), second = trainer.draws(examples: 4..<8)
        #expect(first.timesteps + second.timesteps == whole.timesteps)
        #expect(first.noise.floats + second.noise.floats == whole.noise.floats)
        #expect(Set(whole.timesteps).count > 1, "timesteps \(whole.timesteps) should differ between examples")

        let dataset = try TrainingRun.loadData(configuration.data, seed: configuration.seed)
        var sampler = trainer.batchSampler(for: dataset)
        let x0 = try sampler.batch(step: 0, size: 8).data
        let all = try trainer.gradients(start: x0, examples: 0..<8)
        let a = try trainer.gradients(start: sampler.batch(at: 0..<4).data, examples: 0..<4)
        let b = try trainer.gradients(start: sampler.batch(at: 4..<8).data, examples: 4..<8)
        #expect(a.timesteps + b.timesteps == all.timesteps)
        #expect(abs(a.loss + b.loss - all.loss) <= 1e-5 * abs(all.loss))
        for (i, g) in all.values.enumerated() {
            let sum = (a.values[i] + b.values[i]).floats, expected = g.floats
            let scale = expected.map { abs($0) }.max() ?? 0
            let worst = zip(sum, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * scale + 1e-7, "parameter \(i): parts differ from the whole by \(worst) (scale \(scale))")
        }
        // Another step's draws differ.
        try trainer.apply(all)
        #expect(trainer.draws(examples: 0..<8).noise.floats != whole.noise.floats)
    }

    @Test("dropout rows come from their own generators")
    func dropoutRows() {
        let x = Tensor(repeating: 1, shape: [4, 3, 5], dtype: .float32)
        let keys = (0..<4).map { PhiloxGenerator(seed: 9, key: (0, UInt64($0))) }
        var all = keys, front = Array(keys[0..<2]), back = Array(keys[2..<4])
        let whole = dropout(x, probability: 0.5, rowGenerators: &all).floats
        let parts =
            dropout(Tensor(repeating: 1, shape: [2, 3, 5], dtype: .float32), probability: 0.5, rowGenerators: &front).floats
            + dropout(Tensor(repeating: 1, shape: [2, 3, 5], dtype: .float32), probability: 0.5, rowGenerators: &back).floats
        #expect(whole == parts)
        #expect(Set(whole) == [0, 2], "inverted dropout keeps 1/(1 − p) = 2 or drops to 0")
        #expect(whole[0..<15] != whole[15..<30], "rows should have different masks")
    }
}
