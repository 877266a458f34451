// scheduler_config.json of diffusers' DDPMScheduler and DDIMScheduler: read completely (every key
// diffusers defines, its defaults where a key is absent, a refusal by name for what cannot be
// followed exactly) and written for `ddpm export`.
import DDPMDiffusion
import DDPMModels
import Foundation

/// A diffusers `scheduler_config.json`, as this toolkit reads and writes it.
public struct SchedulerConfigFile {
    /// The file name diffusers uses.
    public static let fileName = "scheduler_config.json"

    /// The keys read, with diffusers' defaults (DDPMScheduler, DDIMScheduler; diffusers 0.42).
    public static var defaults: [String: Any] {
        [
            "num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear",
            "trained_betas": NSNull(), "variance_type": "fixed_small", "clip_sample": true, "clip_sample_range": 1.0,
            "prediction_type": "epsilon", "thresholding": false, "dynamic_thresholding_ratio": 0.995,
            "sample_max_value": 1.0, "timestep_spacing": "leading", "steps_offset": 0, "set_alpha_to_one": true,
            "rescale_betas_zero_snr": false,
        ]
    }

    /// The β schedules read (`beta_schedule`); `trained_betas`, when given, overrides them.
    public static let betaSchedules = ["linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid"]
    /// `prediction_type` values and what the network predicts.
    public static let predictionTypes: KeyValuePairs<String, MeanPrediction> = [
        "epsilon": .noise, "sample": .start, "v_prediction": .velocity,
    ]
    /// The scheduler classes whose step this toolkit runs (`_class_name`): DDPMScheduler and
    /// DDIMScheduler (`--sampler ancestral` and `ddim`), DPMSolverMultistepScheduler and
    /// UniPCMultistepScheduler (read into ``solver``, the default sampler of such a model).
    public static let schedulerClasses = ["DDPMScheduler", "DDIMScheduler"] + SolverSchedulerSettings.Solver.allCases.map(\.rawValue)

    /// The keys read for a file of `className`, with diffusers' defaults for that class: the
    /// solvers' keys and their `linspace` spacing for the solver classes.
    public static func defaults(for className: String?) -> [String: Any] {
        guard let solver = className.flatMap(SolverSchedulerSettings.Solver.init(rawValue:)) else { return defaults }
        return defaults.merging(solver.defaults) { _, solverDefault in solverDefault }
    }

    /// The scheduler the file describes.
    public var scheduler: DiffusersScheduler
    /// `_class_name` (nil when absent).
    public var className: String?
    /// The solver of a DPMSolverMultistepScheduler or UniPCMultistepScheduler file; nil for
    /// other classes.
    public var solver: SolverSchedulerSettings?
    /// What the file says that is not read (unknown keys, another scheduler class), one line each.
    public var warnings: [String]

    /// Reads `url`.
    /// - Throws: `TrainingError.invalidFile` naming the file and the key for a value that is
    ///   malformed or that this toolkit cannot follow exactly (with the supported values).
    public static func read(_ url: URL) throws -> SchedulerConfigFile {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrainingError.invalidFile(path: url.path, message: "cannot read (\(error.localizedDescription)).")
        }
        guard data.count <= 16 << 20 else {
            throw TrainingError.invalidFile(path: url.path, message: "\(data.count) bytes, more than a scheduler config holds (16 MiB).")
        }
        guard let object = DiffusersJSON.object(from: data) else {
            throw TrainingError.invalidFile(path: url.path, message: "not a JSON object.")
        }
        return try SchedulerConfigFile(object, path: url.path)
    }

    /// Interprets the keys of a scheduler config (see `read(_:)`); `path` names it in errors.
    public init(_ object: [String: Any], path: String) throws {
        className = object["_class_name"] as? String
        let defaults = Self.defaults(for: className)  // built once, not per key
        let keys = SchedulerConfigKeys(object: object, defaults: defaults, path: path)
        warnings = []
        if let className, !Self.schedulerClasses.contains(className) {
            warnings.append(
                "\(path): _class_name \(className): sampled with the DDPMScheduler, DDIMScheduler, DPM-Solver++ or UniPC step "
                    + "that --sampler selects, with this file's β, prediction and limits.")
        }
        for key in object.keys.sorted() where !key.hasPrefix("_") && defaults[key] == nil {
            warnings.append("\(path): key \"\(key)\" is not read by this toolkit; check that the model does not depend on it.")
        }

        // β.
        let T = try keys.integer("num_train_timesteps", in: 1...TrainedModel.maximumTrainingSteps)
        var betas: [Double]
        if let trained = object["trained_betas"], !(trained is NSNull) {
            guard let list = trained as? [Any], list.count == T,
                let values = Optional(list.compactMap { ($0 as? NSNumber).map(Self.double) }), values.count == T
            else { throw keys.fail("trained_betas", "must be a list of \(T) numbers (num_train_timesteps).") }
            betas = values
        } else {
            let start = try keys.number("beta_start", in: 0...1), end = try keys.number("beta_end", in: 0...1)
            switch try keys.choice("beta_schedule", Self.betaSchedules) {
            case "linear": betas = try BetaSchedule.linear(start: start, end: end).betas(stepCount: T)
            case "scaled_linear": betas = DiffusersScheduler.scaledLinearBetas(start: start, end: end, count: T)
            case "sigmoid": betas = DiffusersScheduler.sigmoidBetas(start: start, end: end, count: T)
            default: betas = try BetaSchedule.cosine().betas(stepCount: T)
            }
        }
        if try keys.boolean("rescale_betas_zero_snr") { betas = DiffusersScheduler.zeroTerminalSNR(betas) }
        if let bad = betas.firstIndex(where: { !($0.isFinite && $0 > 0 && $0 <= 1) }) {
            throw keys.fail(
                object["trained_betas"] is [Any] ? "trained_betas" : "beta_schedule", "gives β[\(bad)] = \(betas[bad]), outside (0, 1].")
        }

        // What the network predicts and the ancestral variance.
        let predictionName = try keys.choice("prediction_type", Self.predictionTypes.map(\.key))
        let prediction = Self.predictionTypes.first { $0.key == predictionName }!.value
        // A solver config's variance_type is null (fixed variance) or learned/learned_range (the
        // network also outputs variance channels, which the solvers drop).
        let solverClass = className.flatMap(SolverSchedulerSettings.Solver.init(rawValue:))
        let varianceName: String
        if solverClass != nil, keys.value("variance_type") is NSNull {
            varianceName = DiffusersScheduler.Variance.fixedSmall.rawValue
        } else if solverClass != nil, keys.value("variance_type") as? String == "learned" {
            varianceName = DiffusersScheduler.Variance.learnedRange.rawValue
            warnings.append(
                "\(path): variance_type learned: the solvers drop the variance channels; --sampler ancestral reads them as learned_range.")
        } else {
            varianceName = try keys.choice(
                "variance_type", DiffusersScheduler.Variance.allCases.map(\.rawValue),
                why: [
                    "learned": "diffusers reads that output as σ² itself, this toolkit's learned variance is log σ²",
                    "fixed_large_log": "diffusers' DDPMScheduler takes the square root of log β there, which is NaN for every t > 0",
                ])
        }
        let variance = DiffusersScheduler.Variance(rawValue: varianceName)!

        // The limit on x̂₀.
        var limit = DiffusersScheduler.StartLimit.none
        if try keys.boolean("thresholding") {
            limit = .threshold(
                ratio: try keys.number("dynamic_thresholding_ratio", in: 0...1), maximum: try keys.number("sample_max_value", in: 1...1e6))
        } else if try keys.boolean("clip_sample") {
            limit = .clip(range: try keys.number("clip_sample_range", in: 1e-6...1e6))
        }

        let spacing = DiffusersScheduler.Spacing(
            rawValue: try keys.choice("timestep_spacing", DiffusersScheduler.Spacing.allCases.map(\.rawValue)))!
        do {
            scheduler = try DiffusersScheduler(
                betas: betas, prediction: prediction, variance: variance, startLimit: limit, spacing: spacing,
                stepsOffset: try keys.integer("steps_offset", in: 0...T), setAlphaToOne: try keys.boolean("set_alpha_to_one"))
        } catch let error as DiffusionError {
            throw TrainingError.invalidFile(path: path, message: "\(error)")
        }
        solver = try solverClass.map { try SolverSchedulerSettings(keys: keys, solver: $0) }
    }

    /// The number exactly as written: Foundation's JSON parser on Linux keeps the digits but its
    /// `doubleValue` can be off by an ulp (0.007992721315781437 → 0.00799272131578144).
    static func double(_ n: NSNumber) -> Double {
        Double(n.description) ?? n.doubleValue
    }

    /// The JSON of `scheduler` as a `className` config: β written as `trained_betas` unless
    /// `betaSchedule` names the schedule (then `beta_start`/`beta_end` are `betaRange`).
    public static func encode(
        _ scheduler: DiffusersScheduler, className: String = "DDPMScheduler", betaSchedule: String? = nil,
        betaRange: (Double, Double) = (0.0001, 0.02)
    ) throws -> Data {
        var object = defaults
        object["_class_name"] = className
        object["_diffusers_version"] = "0.42.1"
        object["num_train_timesteps"] = scheduler.trainingSteps
        if let betaSchedule {
            object["beta_schedule"] = betaSchedule
            object["beta_start"] = betaRange.0
            object["beta_end"] = betaRange.1
        } else {
            object["trained_betas"] = scheduler.betas
        }
        object["prediction_type"] = predictionTypes.first { $0.value == scheduler.prediction }!.key
        object["variance_type"] = scheduler.variance.rawValue
        switch scheduler.startLimit {
        case .none: object["clip_sample"] = false
        case .clip(let range):
            object["clip_sample"] = true
            object["clip_sample_range"] = range
        case .threshold(let ratio, let maximum):
            object["thresholding"] = true
            object["dynamic_thresholding_ratio"] = ratio
            object["sample_max_value"] = maximum
        }
        object["timestep_spacing"] = scheduler.spacing.rawValue
        object["steps_offset"] = scheduler.stepsOffset
        object["set_alpha_to_one"] = scheduler.setAlphaToOne
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}
