// Small runs for the Training tests: settings, data and file helpers.
import DDPMTestSupport
import DDPMDatasets
import DDPMDiffusion
import Foundation
import DDPMModels
import DDPMTensors
import DDPMTraining

/// The toy MLP on 64 swiss-roll points, batch 8, a high learning rate so steps change the weights.
func toyConfiguration(steps: Int = 6, process: ProcessConfiguration? = nil) throws -> TrainingConfiguration {
    var c = try TrainingConfiguration(
        data: "swissroll,count=64", exampleShape: [2], architecture: .toy,
        process: process ?? ProcessConfiguration(kind: .gaussian, gaussian: GaussianChoices(decoder: .continuous)), steps: steps)
    c.batchSize = 8
    c.optimizer = OptimizerConfiguration(learningRate: 1e-3, warmupSteps: 2)
    c.ema = EMAConfiguration(decay: 0.9, warmup: true)
    c.seed = 11
    return c
}

/// A small U-Net with dropout 0.1 on 8×8 dead-leaves images (dropout makes keyed masks matter).
/// `process` defaults to DDPM's with T = 50.
func unetConfiguration(steps: Int = 4, process: ProcessConfiguration? = nil) throws -> TrainingConfiguration {
    var c = try TrainingConfiguration(
        data: "deadleaves,size=8,count=16", exampleShape: [1, 8, 8], architecture: .tiny,
        process: process ?? ProcessConfiguration(kind: .gaussian, timesteps: 50), steps: steps)
    guard case .unet(var unet) = c.model else { fatalError("tiny is a U-Net") }
    unet.dropout = 0.1
    c.model = .unet(unet)
    c.batchSize = 8
    c.optimizer = OptimizerConfiguration(learningRate: 1e-3, warmupSteps: 0)
    c.seed = 5
    return c
}

/// The bytes of every file of a checkpoint folder, by name.
func checkpointFiles(_ run: URL) throws -> [String: Data] {
    let folder = run.appendingPathComponent(Checkpoint.linkName)
    var out: [String: Data] = [:]
    for name in [Checkpoint.modelName, Checkpoint.emaName, Checkpoint.optimizerName, Checkpoint.stateName] {
        out[name] = try Data(contentsOf: folder.appendingPathComponent(name))
    }
    return out
}

/// The raw bytes of every parameter, EMA average and Adam moment, and the step counters.
func trainerBytes(_ trainer: Trainer) -> [String: [Double]] {
    var out: [String: [Double]] = [:]
    for (name, p) in trainer.network.namedParameters { out["p." + name] = p.value.converted(to: .float64).doubles }
    for (name, t) in trainer.ema.averages { out["e." + name] = t.converted(to: .float64).doubles }
    for (name, t) in trainer.optimizer.firstMoments { out["m." + name] = t.converted(to: .float64).doubles }
    for (name, t) in trainer.optimizer.secondMoments { out["v." + name] = t.converted(to: .float64).doubles }
    out["steps"] = [Double(trainer.step), Double(trainer.optimizer.step), Double(trainer.ema.updates)]
    return out
}

/// The URL of a committed fixture.
func fixture(_ name: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
}

/// Copies a fixture folder somewhere writable.
func copyOfFixture(_ name: String) throws -> URL {
    let destination = try temporaryFolder(name).appendingPathComponent(name)
    try FileManager.default.copyItem(at: fixture(name), to: destination)
    return destination
}
