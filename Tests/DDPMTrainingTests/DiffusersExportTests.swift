// `DiffusersExport`: a run folder written as a diffusers DDPMPipeline folder. The weights and the
// scheduler survive the round trip bit for bit; β is named as diffusers names it; what diffusers
// cannot express is refused and nothing is written.
import DDPMDiffusion
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTestSupport
import DDPMTraining
import Foundation
import Testing

/// Trains `configuration` to its steps in `folder`/run and saves a checkpoint.
private func trainedRun(_ configuration: TrainingConfiguration, in folder: URL) throws -> URL {
    let run = folder.appendingPathComponent("run")
    let training = try TrainingRun.start(
        configuration, dataset: try TrainingRun.loadData(configuration.data, seed: configuration.seed), in: run)
    while !training.isFinished { try training.step() }
    try training.saveCheckpoint()
    return run
}

/// The scheduler_config.json of an export as a JSON object.
func schedulerConfig(_ export: URL) throws -> [String: Any] {
    let data = try Data(contentsOf: export.appendingPathComponent("scheduler/scheduler_config.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// The entries of `folder` whose name contains ".partial".
private func partials(_ folder: URL) throws -> [String] {
    try folderContents(folder).filter { $0.contains(".partial") }
}

@Suite("diffusers export")
struct DiffusersExportTests {
    @Test(
        "a U-Net run exports its EMA or raw weights bit for bit and its process as a DDPMScheduler",
        arguments: [TrainedModel.Weights.ema, .raw])
    func roundTrip(_ weights: TrainedModel.Weights) throws {
        let folder = try temporaryFolder()
        let run = try trainedRun(try unetConfiguration(steps: 3), in: folder)
        let output = folder.appendingPathComponent("exports/pipeline")  // the parent is created
        let export = try DiffusersExport.write(run: run, weights: weights, to: output)

        #expect(try folderContents(output) == ["model_index.json", "scheduler", "unet"])
        #expect(try folderContents(output.appendingPathComponent("unet")) == ["config.json", "diffusion_pytorch_model.safetensors"])
        #expect(try folderContents(output.appendingPathComponent("scheduler")) == ["scheduler_config.json"])
        #expect(try partials(output.deletingLastPathComponent()).isEmpty)
        let index = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("model_index.json"))) as? [String: Any])
        #expect(Set(index.keys) == ["_class_name", "_diffusers_version", "scheduler", "unet"])
        #expect(index["_class_name"] as? String == "DDPMPipeline" && index["_diffusers_version"] as? String == "0.42.1")
        #expect(
            index["scheduler"] as? [String] == ["diffusers", "DDPMScheduler"] && index["unet"] as? [String] == ["diffusers", "UNet2DModel"])
        #expect(try schedulerConfig(output)["_class_name"] as? String == "DDPMScheduler")

        let source = try TrainedModel.load(run, weights: weights)
        let exported = try TrainedModel.load(output)
        #expect(exported.warnings.isEmpty, "\(exported.warnings)")
        #expect(exported.exampleShape == source.exampleShape)
        let expected = Dictionary(uniqueKeysWithValues: source.network.namedParameters.map { ($0.name, $0.parameter.value) })
        #expect(exported.network.namedParameters.count == expected.count)
        for (name, parameter) in exported.network.namedParameters {
            let value = try #require(expected[name], "\(name) is not a parameter of the run's network")
            #expect(
                parameter.value.shape == value.shape && parameter.value.floats.map(\.bitPattern) == value.floats.map(\.bitPattern),
                "\(name)")
        }
        let process = try #require(source.process as? GaussianDiffusion)
        let scheduler = try DiffusersScheduler(matching: process, clipStart: true)
        #expect(exported.scheduler == scheduler)
        #expect(export.scheduler == scheduler)
        #expect(scheduler.trainingSteps == 50 && scheduler.variance == .fixedLarge && scheduler.prediction == .noise)

        // The EMA of 3 steps and the raw weights differ, so the test above tells them apart.
        let other = try TrainedModel.load(run, weights: weights == .ema ? .raw : .ema)
        #expect(
            zip(other.network.namedParameters, source.network.namedParameters).contains {
                $0.parameter.value.floats != $1.parameter.value.floats
            })
    }

    /// (schedule, Gaussian choices, the expected beta_schedule or nil for trained_betas).
    static let schedules: [(BetaSchedule, GaussianChoices, String?)] = [
        (.linear(start: 1e-3, end: 0.05), GaussianChoices(), "linear"),
        (.cosine(), GaussianChoices(prediction: .velocity, variance: .learnedRange, loss: .hybrid()), "squaredcos_cap_v2"),
        (.cosine(s: 0.02), GaussianChoices(prediction: .start, variance: .fixedSmall), nil),
        (.custom((1...50).map { 0.0007 * Double($0) + 1e-4 / 3 }), GaussianChoices(), nil),
    ]

    @Test(
        "β is written as beta_schedule linear or squaredcos_cap_v2 where diffusers computes the same β, else as trained_betas",
        arguments: schedules)
    func betaSchedules(_ schedule: BetaSchedule, _ choices: GaussianChoices, _ name: String?) throws {
        let folder = try temporaryFolder()
        let process = ProcessConfiguration(kind: .gaussian, schedule: schedule, timesteps: 50, gaussian: choices)
        let run = try trainedRun(try unetConfiguration(steps: 1, process: process), in: folder)
        let output = folder.appendingPathComponent("pipeline")
        try DiffusersExport.write(run: run, to: output)
        let config = try schedulerConfig(output)
        let gaussian = try #require(try process.makeProcess() as? GaussianDiffusion)
        let betas = gaussian.schedule.betas
        #expect(config["beta_schedule"] as? String == name ?? "linear")
        if case .linear(let start, let end) = schedule {
            #expect((config["beta_start"] as? NSNumber).flatMap { Double($0.description) } == start)
            #expect((config["beta_end"] as? NSNumber).flatMap { Double($0.description) } == end)
        }
        if name == nil {
            let written = try #require(config["trained_betas"] as? [NSNumber])
            #expect(written.map { Double($0.description)! } == betas)
        } else {
            #expect(config["trained_betas"] is NSNull)
        }
        #expect(config["num_train_timesteps"] as? Int == 50)
        #expect(config["clip_sample"] as? Bool == true)

        let exported = try TrainedModel.load(output)
        #expect(exported.warnings.isEmpty, "\(exported.warnings)")
        #expect(exported.scheduler == (try DiffusersScheduler(matching: gaussian, clipStart: true)))
        #expect(exported.scheduler?.betas == betas)
    }

    /// (the run, what the refusal names).
    static func refusedRuns() throws -> [(String, TrainingConfiguration, [String])] {
        var binomial = try TrainingConfiguration(
            data: "deadleaves,size=8,count=16,binarize", exampleShape: [1, 8, 8], architecture: .tiny,
            process: ProcessConfiguration(kind: .binomial, timesteps: 10), steps: 1)
        binomial.batchSize = 8
        let learned = ProcessConfiguration(kind: .gaussian, timesteps: 50, gaussian: GaussianChoices(variance: .learned, loss: .hybrid()))
        return [
            ("binomial", binomial, ["process.kind", "binomial", "no diffusers scheduler"]),
            ("learned variance", try unetConfiguration(steps: 1, process: learned), ["process.gaussian.variance", "learned", "log σ²"]),
            ("toy MLP", try toyConfiguration(steps: 1), ["model", "toy MLP", "UNet2DModel is a network for images"]),
        ]
    }

    @Test(
        "binomial diffusion, the learned variance and the toy MLP are refused with their reasons, from run.json alone; nothing is written")
    func refusals() throws {
        for (label, configuration, fragments) in try Self.refusedRuns() {
            let folder = try temporaryFolder()
            let run = try trainedRun(configuration, in: folder)
            let output = folder.appendingPathComponent("pipeline")
            let loaded = try TrainedModel.load(run)
            let errors = [
                #expect(throws: TrainingError.self, "\(label)") { try DiffusersExport(loaded) },
                #expect(throws: TrainingError.self, "\(label)") { try DiffusersExport.write(run: run, to: output) },
            ]
            // Without a checkpoint the reason is the same: the settings are checked before any weight is read.
            for name in try folderContents(run) where name.hasPrefix("checkpoint") {
                try FileManager.default.removeItem(at: run.appendingPathComponent(name))
            }
            let withoutWeights = #expect(throws: TrainingError.self, "\(label)") { try DiffusersExport.write(run: run, to: output) }
            for error in errors + [withoutWeights] {
                for fragment in fragments {
                    #expect("\(String(describing: error))".contains(fragment), "\(label): \(String(describing: error))")
                }
            }
            #expect(try folderContents(folder) == ["run"], "\(label)")
        }
    }

    @Test("an existing output (a folder with files, an empty folder, a file) is refused and left as it was; nothing else is written")
    func existingOutput() throws {
        let folder = try temporaryFolder()
        let run = try trainedRun(try unetConfiguration(steps: 1), in: folder)
        let full = folder.appendingPathComponent("full"), empty = folder.appendingPathComponent("empty"),
            file = folder.appendingPathComponent("file")
        try FileManager.default.createDirectory(at: full, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: full.appendingPathComponent("notes.txt"))
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: file)
        for output in [full, empty, file] {
            let error = #expect(throws: TrainingError.self) { try DiffusersExport.write(run: run, to: output) }
            #expect(
                "\(String(describing: error))".contains("already exists; choose another folder or delete it"),
                "\(String(describing: error))")
        }
        #expect(try folderContents(folder) == ["empty", "file", "full", "run"])
        #expect(try folderContents(full) == ["notes.txt"] && folderContents(empty).isEmpty)
        #expect(try Data(contentsOf: file) == Data("keep".utf8))
    }

    @Test("a diffusers folder is not exported again")
    func diffusersFolderIsRefused() throws {
        let folder = try temporaryFolder()
        let run = try trainedRun(try unetConfiguration(steps: 1), in: folder)
        let pipeline = folder.appendingPathComponent("pipeline")
        try DiffusersExport.write(run: run, to: pipeline)
        let error = #expect(throws: TrainingError.self) {
            try DiffusersExport.write(run: pipeline, to: folder.appendingPathComponent("again"))
        }
        #expect("\(String(describing: error))".contains("already in diffusers' format"), "\(String(describing: error))")
        let loaded = try TrainedModel.load(pipeline)
        #expect(throws: TrainingError.self) { try DiffusersExport(loaded) }
        #expect(try folderContents(folder) == ["pipeline", "run"])
    }
}
