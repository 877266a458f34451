// run.json: every closed choice round-trips, unknown keys and values are errors naming the file and
// the key, values are range-checked, and files of format 0 migrate.
import DDPMTestSupport
import DDPMDiffusion
import Foundation
import DDPMModels
import Testing
import DDPMTraining

@Suite("Training configuration")
struct ConfigurationTests {
    /// Writes `configuration` to run.json in a fresh folder and reads it back.
    func roundTrip(_ configuration: TrainingConfiguration) throws -> TrainingConfiguration {
        let url = try temporaryFolder().appendingPathComponent("run.json")
        try configuration.write(to: url)
        let (loaded, migrated) = try TrainingConfiguration.load(from: url)
        #expect(migrated == nil)
        return loaded
    }

    @Test("every closed choice round-trips through run.json")
    func closedChoices() throws {
        var cases: [TrainingConfiguration] = []
        for prediction in MeanPrediction.allCases {
            for variance in VarianceKind.allCases {
                for loss in [LossKind.simple, .vlb, .hybrid(lambda: 0.25)] {
                    for (schedule, shape, decoder) in [
                        (BetaSchedule.linear(start: 2e-4, end: 0.03), [2], DecoderKind.continuous),
                        (.cosine(s: 0.01), [1, 8, 8], .discretized),
                        (.custom([0.1, 0.2, 0.3]), [2], .continuous),
                    ] {
                        let process = ProcessConfiguration(
                            kind: .gaussian, schedule: schedule, timesteps: 3,
                            gaussian: GaussianChoices(prediction: prediction, variance: variance, loss: loss, decoder: decoder))
                        cases.append(
                            try TrainingConfiguration(
                                data: shape.count == 1 ? "swissroll" : "deadleaves,size=8", exampleShape: shape,
                                architecture: shape.count == 1 ? .toy : .tiny, process: process, steps: 7))
                    }
                }
            }
        }
        for schedule in [BetaSchedule.reciprocal, .ddpm, .cosine()] {
            cases.append(
                try TrainingConfiguration(
                    data: "deadleaves,size=8,binarize", exampleShape: [1, 8, 8], architecture: .tiny,
                    process: ProcessConfiguration(kind: .binomial, schedule: schedule, timesteps: 10)))
        }
        for architecture in [ModelArchitecture.fashion, .cifar10] {
            cases.append(
                try TrainingConfiguration(
                    data: "x", exampleShape: architecture == .fashion ? [1, 28, 28] : [3, 32, 32], architecture: architecture,
                    process: ProcessConfiguration(kind: .gaussian)))
        }
        var other = try toyConfiguration()
        other.timestepSampling = .lossAware(historyLength: 4, uniformProbability: 0.25)
        other.gradientClipNorm = nil
        other.randomFlips = true
        other.checkpointEvery = 3
        other.sampleEvery = 5
        other.seed = UInt64.max - 1
        cases.append(other)
        for configuration in cases {
            #expect(try roundTrip(configuration) == configuration)
        }
        #expect(cases.count == 3 * 4 * 3 * 3 + 3 + 2 + 1)
    }

    /// run.json with `edit` applied to its JSON object.
    func edited(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        let url = try temporaryFolder().appendingPathComponent("run.json")
        try toyConfiguration().write(to: url)
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        return url
    }

    func expectError(_ url: URL, mentioning fragments: [String]) {
        do {
            _ = try TrainingConfiguration.load(from: url)
            Issue.record("\(url.path) was accepted")
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix(url.path), "\(message)")
            for fragment in fragments { #expect(message.contains(fragment), "\(message) lacks \(fragment)") }
        }
    }

    func nested(_ object: inout [String: Any], _ path: [String], _ value: Any?) {
        if path.count == 1 { object[path[0]] = value; return }
        var inner = object[path[0]] as! [String: Any]
        nested(&inner, Array(path.dropFirst()), value)
        object[path[0]] = inner
    }

    @Test(
        "unknown values name the file and the key",
        arguments: [
            (["process", "schedule", "kind"], "quadratic", "process.schedule.kind"),
            (["process", "gaussian", "variance"], "huge", "process.gaussian.variance"),
            (["process", "gaussian", "loss", "kind"], "l1", "process.gaussian.loss.kind"),
            (["process", "kind"], "poisson", "process.kind"),
            (["architecture"], "resnet", "architecture"),
            (["timestepSampling", "kind"], "sometimes", "timestepSampling.kind"),
        ])
    func unknownValues(_ path: [String], _ value: String, _ key: String) throws {
        expectError(try edited { nested(&$0, path, value) }, mentioning: [key, value])
    }

    @Test(
        "an unknown key, top level or nested, is named",
        arguments: [["learningRate"], ["optimizer", "momentum"], ["process", "gaussian", "clip"]])
    func unknownKeys(_ path: [String]) throws {
        expectError(try edited { nested(&$0, path, 1.5) }, mentioning: ["unknown key", path.joined(separator: ".")])
    }

    @Test("a missing key or a fraction where an integer belongs is named")
    func missingAndMistyped() throws {
        expectError(try edited { $0.removeValue(forKey: "batchSize") }, mentioning: ["missing key", "batchSize"])
        expectError(try edited { $0["steps"] = 1.7 }, mentioning: ["steps"])
    }

    @Test(
        "values are checked as strictly as the flags",
        arguments: [
            (["batchSize"], 0 as Double, "batchSize"),
            (["optimizer", "learningRate"], -1, "optimizer.learningRate"),
            (["optimizer", "warmupSteps"], -5, "optimizer.warmupSteps"),
            (["ema", "decay"], 1.5, "ema.decay"),
            (["process", "timesteps"], 0, "process.timesteps"),
            (["process", "timesteps"], 1e9, "process.timesteps"),
            (["batchSize"], 1e9, "batchSize"),
            (["gradientClipNorm"], -1, "gradientClipNorm"),
            (["checkpointEvery"], 0, "checkpointEvery"),
        ])
    func ranges(_ path: [String], _ value: Double, _ key: String) throws {
        expectError(try edited { nested(&$0, path, value) }, mentioning: [key])
    }

    @Test("a U-Net configuration that cannot be built is refused, naming the key")
    func badUNet() throws {
        var configuration = try unetConfiguration()
        guard case .unet(var unet) = configuration.model else { return }
        unet.normGroups = 3
        configuration.model = .unet(unet)
        let url = try temporaryFolder().appendingPathComponent("run.json")
        try configuration.write(to: url)
        expectError(url, mentioning: ["model.unet", "does not divide"])
        unet.normGroups = 8
        unet.blockOutChannels = [1 << 20, 1 << 20]
        configuration.model = .unet(unet)
        try configuration.write(to: url)
        expectError(url, mentioning: ["model.unet", "memory"])
    }

    @Test("a newer format is refused, not misread")
    func newerFormat() throws {
        expectError(try edited { $0["formatVersion"] = 99 }, mentioning: ["newer version"])
    }

    /// run.json files written before format 1 migrate to the same run.
    @Test(
        "format 0 migrates",
        arguments: ["legacy-run/run.json", "legacy-oldest-run.json", "legacy-binomial-run.json", "legacy-hybrid-run.json"])
    func legacyMigration(_ name: String) throws {
        let (c, migrated) = try TrainingConfiguration.load(from: fixture(name))
        #expect(migrated == 0)
        switch name {
        case "legacy-binomial-run.json":
            #expect(c.process == ProcessConfiguration(kind: .binomial, schedule: .reciprocal, timesteps: 10))
            #expect(c.architecture == .tiny && c.exampleShape == [1, 8, 8] && c.batchSize == 4 && c.steps == 1)
            #expect(c.gradientClipNorm == 1 && c.ema == EMAConfiguration(decay: 0.9999, warmup: false))
        case "legacy-hybrid-run.json":
            #expect(
                c.process
                    == ProcessConfiguration(
                        kind: .gaussian, schedule: .cosine(s: 0.008), timesteps: 20,
                        gaussian: GaussianChoices(
                            prediction: .noise, variance: .learnedRange, loss: .hybrid(lambda: 0.001), decoder: .discretized)))
            #expect(c.gradientClipNorm == nil && c.randomFlips && c.model.outputChannels == 2)
        default:
            #expect(
                c.process
                    == ProcessConfiguration(
                        kind: .gaussian, schedule: .linear(start: 1e-4, end: 0.02), timesteps: 1000,
                        gaussian: GaussianChoices(prediction: .noise, variance: .fixedLarge, loss: .simple, decoder: .continuous)))
            #expect(c.architecture == .toy && c.exampleShape == [2] && c.batchSize == 8 && c.steps == 3 && c.seed == 4)
            #expect(c.optimizer == OptimizerConfiguration(learningRate: 1e-3, warmupSteps: 2))
            #expect(c.ema == EMAConfiguration(decay: 0.9, warmup: false) && c.gradientClipNorm == 1 && !c.randomFlips)
        }
    }

    @Test("format 0 with an unknown value names it")
    func legacyUnknownValue() throws {
        let url = try temporaryFolder().appendingPathComponent("run.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture("legacy-oldest-run.json"))) as! [String: Any]
        object["variance"] = "tiny"
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        expectError(url, mentioning: ["variance", "tiny"])
    }
}
