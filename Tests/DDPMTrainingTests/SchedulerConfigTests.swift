// scheduler_config.json read completely: diffusers' defaults for absent keys, every supported value,
// a refusal by file and key for what cannot be followed, a warning for keys that are not read.
import DDPMDiffusion
import DDPMTestSupport
import DDPMTraining
import Foundation
import Testing

@Suite("scheduler_config.json")
struct SchedulerConfigTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures/diffusers-schedulers")

    /// The file written from `json` and read back.
    static func read(_ json: String, caller: String = #function) throws -> SchedulerConfigFile {
        let url = try temporaryFolder(caller).appendingPathComponent("scheduler_config.json")
        try Data(json.utf8).write(to: url)
        return try SchedulerConfigFile.read(url)
    }

    /// The message of the error reading `json` gives.
    static func refusal(_ json: String) throws -> String {
        let error = try #require(throws: TrainingError.self) { try Self.read(json) }
        guard case let .invalidFile(path, message) = error else { Issue.record("expected invalidFile, got \(error)"); return "" }
        #expect(path.hasSuffix("scheduler_config.json"))
        return message
    }

    @Test("an empty config is diffusers' DDPMScheduler() and DDIMScheduler() (defaults.json of the fixture)")
    func defaults() throws {
        let empty = try Self.read("{}").scheduler
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("defaults.json"))
        let recorded = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        for name in ["DDPMScheduler", "DDIMScheduler"] {
            let explicit = try SchedulerConfigFile(recorded[name] as! [String: Any], path: name)
            #expect(explicit.warnings.isEmpty, "\(explicit.warnings)")
            #expect(explicit.scheduler == empty, "\(name)")
            // Every key diffusers writes is one this toolkit reads (and has the same default).
            for (key, value) in recorded[name] as! [String: Any] where !key.hasPrefix("_") {
                let ours = try #require(SchedulerConfigFile.defaults[key], "\(key)")
                let json = { (v: Any) in
                    String(decoding: try JSONSerialization.data(withJSONObject: [v], options: [.fragmentsAllowed]), as: UTF8.self)
                }
                #expect(try json(ours) == json(value), "\(key): \(ours) vs diffusers' \(value)")
            }
        }
        #expect(empty.trainingSteps == 1000 && empty.betas.first == 1e-4 && empty.betas.last == 0.02)
        #expect(empty.prediction == .noise && empty.variance == .fixedSmall && empty.startLimit == .clip(range: 1))
        #expect(empty.spacing == .leading && empty.stepsOffset == 0 && empty.setAlphaToOne)
    }

    @Test("every supported value is read as what it means")
    func supportedValues() throws {
        let cosine = try Self.read(#"{"beta_schedule": "squaredcos_cap_v2", "num_train_timesteps": 50}"#).scheduler
        #expect(cosine.betas == (try BetaSchedule.cosine().betas(stepCount: 50)))
        let scaled = try Self.read(#"{"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}"#).scheduler
        expectClose([scaled.betas[0], scaled.betas[999]], [0.00085, 0.012], relative: 1e-15, "scaled_linear ends")
        expectClose(
            [scaled.betas[500]], [pow(0.00085.squareRoot() + 500 * (0.012.squareRoot() - 0.00085.squareRoot()) / 999, 2)],
            relative: 1e-14, "scaled_linear middle")
        let sigmoid = try Self.read(#"{"beta_schedule": "sigmoid", "num_train_timesteps": 3}"#).scheduler
        expectClose(sigmoid.betas, [-6.0, 0, 6].map { 1e-4 + (0.02 - 1e-4) / (1 + exp(-$0)) }, relative: 1e-14, "sigmoid")
        let trained = try Self.read(#"{"num_train_timesteps": 3, "trained_betas": [0.1, 0.2, 0.3], "beta_schedule": "linear"}"#).scheduler
        #expect(trained.betas == [0.1, 0.2, 0.3])
        let zeroSNR = try Self.read(#"{"rescale_betas_zero_snr": true}"#).scheduler
        #expect(zeroSNR.alphaBar.last == 0 && zeroSNR.betas.last == 1)
        expectClose([zeroSNR.alphaBar[0]], [1 - 1e-4], relative: 1e-12, "zero SNR keeps ᾱ₀")
        for (name, prediction) in [("epsilon", MeanPrediction.noise), ("sample", .start), ("v_prediction", .velocity)] {
            #expect(try Self.read("{\"prediction_type\": \"\(name)\"}").scheduler.prediction == prediction)
        }
        for variance in DiffusersScheduler.Variance.allCases {
            #expect(try Self.read("{\"variance_type\": \"\(variance.rawValue)\"}").scheduler.variance == variance)
        }
        #expect(try Self.read(#"{"clip_sample": false}"#).scheduler.startLimit == .none)
        #expect(try Self.read(#"{"clip_sample_range": 2.5}"#).scheduler.startLimit == .clip(range: 2.5))
        #expect(
            try Self.read(#"{"thresholding": true, "dynamic_thresholding_ratio": 0.9, "sample_max_value": 1.5}"#).scheduler.startLimit
                == .threshold(ratio: 0.9, maximum: 1.5))
        let spaced = try Self.read(#"{"timestep_spacing": "trailing", "steps_offset": 1, "set_alpha_to_one": false}"#).scheduler
        #expect(spaced.spacing == .trailing && spaced.stepsOffset == 1 && !spaced.setAlphaToOne)
    }

    @Test("values that cannot be followed are refused by key, with the supported values and the reason")
    func refusals() throws {
        #expect(
            try Self.refusal(#"{"beta_schedule": "foo"}"#)
                == #"beta_schedule "foo" is not supported; supported: linear, scaled_linear, squaredcos_cap_v2, sigmoid."#)
        #expect(
            try Self.refusal(#"{"prediction_type": "flow"}"#)
                == #"prediction_type "flow" is not supported; supported: epsilon, sample, v_prediction."#)
        #expect(
            try Self.refusal(#"{"variance_type": "learned"}"#).hasPrefix(
                #"variance_type "learned" is not supported (diffusers reads that output as σ² itself, this toolkit's learned variance is log σ²); "#
            ))
        #expect(try Self.refusal(#"{"variance_type": "fixed_large_log"}"#).contains("NaN"))
        #expect(
            try Self.refusal(#"{"timestep_spacing": "karras"}"#).hasPrefix(
                #"timestep_spacing "karras" is not supported; supported: leading, trailing, linspace"#))
        #expect(try Self.refusal(#"{"clip_sample": "yes"}"#) == #"clip_sample yes is not true or false."#)
        #expect(
            try Self.refusal(#"{"trained_betas": [0.1, 0.2]}"#) == "trained_betas must be a list of 1000 numbers (num_train_timesteps).")
        #expect(
            try Self.refusal(#"{"num_train_timesteps": 3, "trained_betas": [0.1, 1.5, 0.2]}"#)
                == "trained_betas gives β[1] = 1.5, outside (0, 1].")
        #expect(
            try Self.refusal(#"{"dynamic_thresholding_ratio": 2, "thresholding": true}"#).hasPrefix(
                "dynamic_thresholding_ratio 2 is not a number in 0.0…1.0"))
        for value in ["1000000000", "1.7", "0", "-5", "true", "\"1000\""] {
            #expect(try Self.refusal("{\"num_train_timesteps\": \(value)}").hasPrefix("num_train_timesteps "), "\(value)")
        }
        #expect(try Self.refusal("[1, 2]") == "not a JSON object.")
    }

    @Test("unknown keys and other scheduler classes are warnings, not errors")
    func warnings() throws {
        let file = try Self.read(#"{"_class_name": "PNDMScheduler", "skip_prk_steps": true, "beta_start": 0.0001}"#)
        #expect(file.warnings.count == 2)
        #expect(file.warnings[0].contains("_class_name PNDMScheduler"))
        #expect(
            file.warnings[1].hasSuffix(#"key "skip_prk_steps" is not read by this toolkit; check that the model does not depend on it."#))
    }

    @Test("written and read back, a scheduler is unchanged")
    func roundTrip() throws {
        let scheduler = try DiffusersScheduler(
            betas: try BetaSchedule.cosine().betas(stepCount: 20), prediction: .velocity, variance: .learnedRange,
            startLimit: .threshold(ratio: 0.9, maximum: 2), spacing: .linspace, stepsOffset: 1, setAlphaToOne: false)
        let json = String(decoding: try SchedulerConfigFile.encode(scheduler), as: UTF8.self)
        let read = try Self.read(json)
        #expect(read.scheduler == scheduler, "\(json)")
        #expect(read.warnings.isEmpty, "\(read.warnings)")
        #expect(
            try Self.read(String(decoding: try SchedulerConfigFile.encode(scheduler, betaSchedule: "squaredcos_cap_v2"), as: UTF8.self))
                .scheduler == scheduler)
    }
}
