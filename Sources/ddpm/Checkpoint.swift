// Training checkpoints: a folder of run.json, model/ema/optimizer safetensors and state.json,
// each written atomically, state.json last.
import Datasets
import Diffusion
import Foundation
import Imaging
import Models
import NeuralNetworks
import Tensors

/// Every setting of a training run (run.json).
struct RunSettings: Codable, Equatable {
    var data: String
    var modelName: String
    var model: ModelSpec
    var schedule: String
    var timesteps: Int
    var prediction: String
    var variance: String
    var loss: String
    var batchSize: Int
    var steps: Int
    var learningRate: Double
    var warmup: Int
    var gradClip: Double
    var emaDecay: Double
    var flip: Bool
    var seed: UInt64
    var checkpointEvery: Int?
    var sampleEvery: Int?
    /// gaussian or binomial (`DiffusionKind`); absent in run.json files older than the field, which
    /// are Gaussian. `prediction`, `variance` and `loss` apply to Gaussian runs only.
    var diffusion: String?

    /// The Gaussian diffusion process these settings describe (see `makeProcess()` for either kind).
    func makeDiffusion() throws -> GaussianDiffusion {
        guard try diffusionKind() == .gaussian else {
            throw CommandFailure("run.json describes a binomial diffusion run (binary data), not a Gaussian one.")
        }
        let betas: BetaSchedule = schedule == "cosine" ? .cosine() : .ddpm
        guard let mean = MeanPrediction(rawValue: prediction) else { throw CommandFailure("run.json: unknown prediction \"\(prediction)\"") }
        guard let varianceKind = TrainCommand.varianceKinds[variance] else { throw CommandFailure("run.json: unknown variance \"\(variance)\"") }
        guard let lossKind = LossKind(name: loss) else { throw CommandFailure("run.json: unknown loss \"\(loss)\"") }
        // Points are real-valued: L₀ is a density. Images are 8-bit: L₀ is eq. 13.
        let decoderKind: DecoderKind = model.exampleShape.count == 1 ? .continuous : .discretized
        return try GaussianDiffusion(
            schedule: DiffusionSchedule(betas, stepCount: timesteps), meanPrediction: mean,
            varianceKind: varianceKind, lossKind: lossKind, decoderKind: decoderKind)
    }
}

/// Where training stands (state.json): enough, with the weights, to continue bit for bit.
struct TrainingState: Codable, Equatable {
    var step: Int
    /// The generator of timesteps, noise and dropout.
    var generator: PhiloxGenerator.State
    var sampler: BatchSampler.State
    /// Loss of the last step taken.
    var loss: Double?
}

/// The files of a checkpoint folder.
enum Checkpoint {
    static let runName = "run.json"
    static let modelName = "model.safetensors"
    static let emaName = "ema.safetensors"
    static let optimizerName = "optimizer.safetensors"
    static let stateName = "state.json"
    static let logName = "log.jsonl"

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    static func exists(in folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(stateName).path)
            || FileManager.default.fileExists(atPath: folder.appendingPathComponent(runName).path)
    }

    static func writeSettings(_ settings: RunSettings, to folder: URL) throws {
        try AtomicFile.write(encoder().encode(settings), to: folder.appendingPathComponent(runName))
    }

    static func readSettings(from folder: URL) throws -> RunSettings {
        let url = folder.appendingPathComponent(runName)
        guard let data = try? Data(contentsOf: url) else { throw CommandFailure("\(url.path): no run.json; is \(folder.path) a checkpoint folder made by `ddpm train`?") }
        do { return try JSONDecoder().decode(RunSettings.self, from: data) } catch {
            throw CommandFailure("\(url.path): not a valid run.json (\(error))")
        }
    }

    /// Writes weights, averages and optimiser moments, then state.json last: a crash in between
    /// leaves the previous state.json, whose step no longer matches the newer files' metadata.
    static func save(folder: URL, model: Module, ema: ExponentialMovingAverage, optimizer: Adam, state: TrainingState) throws {
        let metadata = ["step": String(state.step), "format": "ddpm-checkpoint"]
        try model.saveParameters(to: folder.appendingPathComponent(modelName), metadata: metadata)
        try SafeTensorsFile.write(ema.averages, metadata: metadata, to: folder.appendingPathComponent(emaName))
        var moments: [String: Tensor] = [:]
        for (name, m) in optimizer.firstMoments { moments["m." + name] = m }
        for (name, v) in optimizer.secondMoments { moments["v." + name] = v }
        var optimizerMetadata = metadata
        optimizerMetadata["adam_step"] = String(optimizer.step)
        try SafeTensorsFile.write(moments, metadata: optimizerMetadata, to: folder.appendingPathComponent(optimizerName))
        try AtomicFile.write(encoder().encode(state), to: folder.appendingPathComponent(stateName))
    }

    static func readState(from folder: URL) throws -> TrainingState {
        let url = folder.appendingPathComponent(stateName)
        guard let data = try? Data(contentsOf: url) else {
            throw CommandFailure("\(url.path): missing; the checkpoint in \(folder.path) was never completed (no checkpoint was saved yet).")
        }
        do { return try JSONDecoder().decode(TrainingState.self, from: data) } catch {
            throw CommandFailure("\(url.path): not a valid state.json (\(error))")
        }
    }

    /// Opens one safetensors file of the checkpoint and checks that its step matches state.json.
    static func open(_ name: String, in folder: URL, step: Int) throws -> SafeTensorsFile {
        let url = folder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else { throw CommandFailure("\(url.path): missing from the checkpoint.") }
        let file = try CommandFailure.wrap { try SafeTensorsFile(contentsOf: url) }
        guard let stored = file.metadata["step"], let fileStep = Int(stored) else {
            throw CommandFailure("\(url.path): has no step in its metadata; not a checkpoint file written by `ddpm train`.")
        }
        guard fileStep == step else {
            throw CommandFailure("\(url.path) is from step \(fileStep) but state.json says step \(step): "
                + "a save was interrupted part-way (state.json is written last). The files do not form one checkpoint; "
                + "restart training from an earlier copy or from scratch.")
        }
        return file
    }

    static func tensors(of file: SafeTensorsFile) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in file.names { out[name] = try CommandFailure.wrap { try file.tensor(named: name) } }
        return out
    }

    /// Loads weights, averages and moments into the given objects, checking their steps agree.
    static func restore(folder: URL, state: TrainingState, model: Module, ema: ExponentialMovingAverage, optimizer: Adam) throws {
        let modelFile = try open(modelName, in: folder, step: state.step)
        try CommandFailure.wrap { try model.loadParameters(from: modelFile) }
        let emaFile = try open(emaName, in: folder, step: state.step)
        ema.restore(try tensors(of: emaFile))
        let optimizerFile = try open(optimizerName, in: folder, step: state.step)
        var first: [String: Tensor] = [:], second: [String: Tensor] = [:]
        for (name, tensor) in try tensors(of: optimizerFile) {
            if name.hasPrefix("m.") { first[String(name.dropFirst(2))] = tensor }
            else if name.hasPrefix("v.") { second[String(name.dropFirst(2))] = tensor }
        }
        let adamStep = optimizerFile.metadata["adam_step"].flatMap(Int.init) ?? state.step
        optimizer.restore(step: adamStep, firstMoments: first, secondMoments: second)
    }
}

/// One line of log.jsonl.
struct LogEntry: Codable {
    var step: Int
    var loss: Double
    var learningRate: Double
    var gradientNorm: Double
    var seconds: Double
}
