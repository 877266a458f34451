// Loading a trained model for sampling and the analyses: a `ddpm train` checkpoint folder or a
// diffusers model folder.
import ArgumentParser
import Datasets
import Diffusion
import Foundation
import Models
import NeuralNetworks
import Tensors

/// `--checkpoint` and `--raw-weights`, shared by the commands that use a trained model.
struct CheckpointOptions: ParsableArguments {
    @Option(help: "A `ddpm train` checkpoint folder or a diffusers model folder.")
    var checkpoint: String

    @Flag(name: .customLong("raw-weights"), help: "Use the raw weights instead of the EMA.")
    var rawWeights = false

    func load() throws -> TrainedModel {
        try TrainedModel.load(URL(fileURLWithPath: checkpoint), rawWeights: rawWeights)
    }

    /// `output`, or CHECKPOINT/`name` when it is nil; created if missing.
    func outputFolder(_ output: String?, default name: String) throws -> URL {
        let url = output.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: checkpoint).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// `--data` and `--split`: the examples an analysis reads.
struct DataOptions: ParsableArguments {
    @Option(help: "Data spec (default: the model's training data).")
    var data: String?

    @Option(help: "train or test.")
    var split: String = "test"

    func validate() throws {
        guard DataSplit(rawValue: split) != nil else { throw ValidationError("--split must be train or test, got \"\(split)\".") }
    }

    var dataSplit: DataSplit { DataSplit(rawValue: split) ?? .test }
}

/// A network with the diffusion process it was trained for.
struct TrainedModel {
    let network: any DenoisingModel
    let process: DiffusionProcess
    /// One example's shape: [C, H, W] for images, [D] for points.
    let exampleShape: [Int]
    /// run.json of a `ddpm train` folder; nil for a diffusers folder.
    let settings: RunSettings?

    var isImages: Bool { exampleShape.count == 3 }

    /// The Gaussian diffusion, for the commands that need one.
    func gaussian(_ command: String) throws -> GaussianDiffusion {
        guard case .gaussian(let diffusion) = process else {
            throw CommandFailure("ddpm \(command) needs a Gaussian diffusion model; the run in --checkpoint uses binomial diffusion.")
        }
        return diffusion
    }

    /// The network in evaluation mode as the Diffusion module calls it.
    var model: DiffusionModel {
        let network = network
        return { network($0, timesteps: $1, mode: .evaluation) }
    }

    /// Loads `folder`: a diffusers folder when it holds config.json (linear β schedule, T from
    /// scheduler_config.json or 1000, ε-prediction, fixed-large variance, learned range when the
    /// network has twice the input channels), else a `ddpm train` folder (EMA weights unless
    /// `rawWeights`).
    static func load(_ folder: URL, rawWeights: Bool = false) throws -> TrainedModel {
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent(DiffusersFolder.configName).path) {
            let unet = try CommandFailure.wrap { try DiffusersFolder.load(folder) }
            let c = unet.configuration
            let T = try DenoiseCommand.trainingSteps(folder)
            let diffusion = try CommandFailure.wrap {
                try GaussianDiffusion(schedule: DiffusionSchedule(.ddpm, stepCount: T),
                                      varianceKind: c.outChannels == 2 * c.inChannels ? .learnedRange : .fixedLarge)
            }
            return TrainedModel(network: unet, process: .gaussian(diffusion), exampleShape: [c.inChannels, c.sampleSize, c.sampleSize], settings: nil)
        }
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw CommandFailure("--checkpoint \(folder.path): no such folder.")
        }
        let settings = try Checkpoint.readSettings(from: folder)
        let state = try Checkpoint.readState(from: folder)
        let process = try settings.makeProcess()
        var unused = PhiloxGenerator(seed: 0)
        let network = settings.model.makeModel(generator: &unused)
        let file = try Checkpoint.open(rawWeights ? Checkpoint.modelName : Checkpoint.emaName, in: folder, step: state.step)
        try CommandFailure.wrap { try network.loadParameters(from: file) }
        return TrainedModel(network: network, process: process, exampleShape: settings.model.exampleShape, settings: settings)
    }

    /// The model's data, `spec` or the training data of run.json, as `split`; checked against
    /// the model's example shape.
    func data(_ spec: String?, split: DataSplit, seed: UInt64) throws -> Dataset {
        guard let text = spec ?? settings?.data else {
            throw CommandFailure("--data is required for a diffusers model folder (it has no training data recorded).")
        }
        let parsed = try CommandFailure.wrap { try DataSpec(parsing: text) }
        // Generated data: the test split gets a generator of its own.
        var generator = PhiloxGenerator(seed: split == .test ? seed ^ 0x7E57_DA7A : seed)
        let dataset = try CommandFailure.wrap { try parsed.load(split: split, generator: &generator) }
        guard dataset.exampleShape == exampleShape else {
            throw CommandFailure("--data \(text): examples have shape \(dataset.exampleShape) but the model takes \(exampleShape).")
        }
        switch process {
        case .gaussian where dataset.isBinary:
            throw CommandFailure("--data \(text): binarised data, but the model is a Gaussian diffusion of 8-bit data; drop ,binarize.")
        case .binomial where !dataset.isBinary:
            throw CommandFailure("--data \(text): the model is a binomial diffusion of binary data; add ,binarize.")
        default: break
        }
        return dataset
    }
}

extension TrainedModel {
    /// Paper timesteps t (1…T) from a comma-separated `--FLAG` value, or `defaults` given as
    /// fractions of T (rounded, at least 1), in the order given.
    func times(_ text: String?, flag: String, defaults: [Double]) throws -> [Int] {
        let T = process.stepCount
        guard let text else {
            var seen = Set<Int>()
            return defaults.map { max(1, Int(($0 * Double(T)).rounded())) }.filter { seen.insert($0).inserted }
        }
        let values = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let times = values.compactMap(Int.init)
        guard !values.isEmpty, times.count == values.count, times.allSatisfy({ (1...T).contains($0) }) else {
            throw CommandFailure("--\(flag) \(text): expected comma-separated timesteps t in 1…\(T) (the paper's 1-based t).")
        }
        var seen = Set<Int>()
        return times.filter { seen.insert($0).inserted }
    }
}
