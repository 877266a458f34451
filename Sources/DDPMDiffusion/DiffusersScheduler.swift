// diffusers' DDPMScheduler and DDIMScheduler, step for step: the same timesteps for each spacing,
// the same x̂₀ limits, the same "previous" timestep and final ᾱ, the same noise rule, so that a
// model from the Python ecosystem samples here exactly as its scheduler_config.json says.
import Foundation
import DDPMTensors

/// The sampling semantics of diffusers' `DDPMScheduler` and `DDIMScheduler` (diffusers 0.2x–0.4x).
///
/// This toolkit's own samplers (`GaussianDiffusion.sampleAncestral`, `sampleDDIM` over a
/// respaced schedule) step from each kept timestep to the previous kept one. diffusers differs in
/// four places, all followed here:
/// - timesteps come from `timestep_spacing` (`leading`, `trailing`, `linspace`) and `steps_offset`;
/// - DDIM steps from t to t − ⌊T/n⌋ whatever the spacing, with ᾱ = 1 (`set_alpha_to_one`) or ᾱ₀
///   below 0, and takes ε̂ from the unlimited x̂₀;
/// - x̂₀ is clipped to ±`clip_sample_range`, or dynamically thresholded (Imagen);
/// - the ancestral (DDPM) step adds noise whenever the timestep is above 0, with its variance
///   from the respaced β′ = 1 − ᾱₜ/ᾱ_prev (`fixed_small`: β̃′ clamped at 1e-20; `fixed_large`: β′).
///
/// Timesteps are 0-based, as the network and diffusers see them (the paper's t − 1).
public struct DiffusersScheduler: Equatable, Sendable {
    /// diffusers' `timestep_spacing`.
    public enum Spacing: String, CaseIterable, Codable, Sendable {
        /// tₖ = k·⌊T/n⌋ + `steps_offset`, k = n−1…0 (DDIM's and DDPM's original choice).
        case leading
        /// round(T − k·T/n) − 1, k = 0…n−1: always starts at T − 1.
        case trailing
        /// round(linspace(0, T − 1, n)), reversed.
        case linspace
    }

    /// diffusers' `variance_type` for the ancestral step.
    public enum Variance: String, CaseIterable, Codable, Sendable {
        /// σ² = β̃′ = (1 − ᾱ_prev)/(1 − ᾱₜ)·β′, clamped at 1e-20 (DDPM's σ² = β̃ₜ).
        case fixedSmall = "fixed_small"
        /// The same σ, computed as exp(½ log β̃′).
        case fixedSmallLog = "fixed_small_log"
        /// σ² = β′ (DDPM's σ² = βₜ).
        case fixedLarge = "fixed_large"
        /// log σ² = v log β′ + (1 − v) log β̃′ with v = (out + 1)/2, the network's second half of
        /// channels (IDDPM eq. 15).
        case learnedRange = "learned_range"

        /// The matching variance of this toolkit's `GaussianDiffusion`.
        public var varianceKind: VarianceKind {
            switch self {
            case .fixedSmall, .fixedSmallLog: .fixedSmall
            case .fixedLarge: .fixedLarge
            case .learnedRange: .learnedRange
            }
        }
    }

    /// What is done to x̂₀ before it is used.
    public enum StartLimit: Equatable, Sendable {
        /// Nothing (`clip_sample` false, `thresholding` false).
        case none
        /// Clamped to [−range, range] (`clip_sample`, `clip_sample_range`).
        case clip(range: Double)
        /// Dynamic thresholding (Imagen; `thresholding`): per sample, s is the `ratio` quantile of
        /// |x̂₀|, clamped to [1, `maximum`]; then x̂₀ ← clamp(x̂₀, −s, s)/s.
        case threshold(ratio: Double, maximum: Double)
    }

    /// β₀…β_{T−1} as sampled (after any zero-SNR rescaling).
    public let betas: [Double]
    /// ᾱₜ = ∏_{s≤t}(1 − β_s).
    public let alphaBar: [Double]
    /// What the network's output predicts (`prediction_type`: epsilon, sample, v_prediction).
    public var prediction: MeanPrediction
    /// The ancestral step's variance.
    public var variance: Variance
    /// The limit on x̂₀.
    public var startLimit: StartLimit
    /// How the sampling timesteps are chosen.
    public var spacing: Spacing
    /// Added to every timestep of the `leading` spacing.
    public var stepsOffset: Int
    /// DDIM's ᾱ below timestep 0: 1 when true, else ᾱ₀.
    public var setAlphaToOne: Bool

    /// A scheduler with the given β (validated as for `DiffusionSchedule`) and settings; the
    /// defaults are diffusers' own.
    /// - Throws: `DiffusionError` for an empty β array, a β outside (0, 1] or a negative offset.
    public init(
        betas: [Double], prediction: MeanPrediction = .noise, variance: Variance = .fixedSmall,
        startLimit: StartLimit = .clip(range: 1), spacing: Spacing = .leading, stepsOffset: Int = 0, setAlphaToOne: Bool = true
    ) throws {
        self.betas = try BetaSchedule.custom(betas).betas(stepCount: betas.count)
        var product = 1.0
        alphaBar = betas.map {
            product *= 1 - $0; return product
        }
        self.prediction = prediction
        self.variance = variance
        self.startLimit = startLimit
        self.spacing = spacing
        guard stepsOffset >= 0 else { throw DiffusionError.unsupportedSchedulerSetting("steps_offset \(stepsOffset) must be 0 or more.") }
        self.stepsOffset = stepsOffset
        self.setAlphaToOne = setAlphaToOne
    }

    /// T, the number of training timesteps.
    public var trainingSteps: Int { betas.count }

    /// The `count` sampling timesteps, noisiest first, as diffusers' `set_timesteps(count)` gives them.
    /// - Throws: `DiffusionError` when `count` is not in 1…T or a timestep would fall outside 0..<T.
    public func timesteps(count: Int) throws -> [Int] {
        let T = trainingSteps
        guard count >= 1 else { throw DiffusionError.respacingEmpty }
        guard count <= T else { throw DiffusionError.respacingTooManySteps(requested: count, available: T) }
        let steps: [Int]
        switch spacing {
        case .leading:
            let ratio = T / count
            steps = (0..<count).reversed().map { $0 * ratio + stepsOffset }
        case .trailing:
            let ratio = Double(T) / Double(count)
            steps = (0..<count).map { Int((Double(T) - Double($0) * ratio).rounded(.toNearestOrEven)) - 1 }
        case .linspace:
            let stride = Double(T - 1) / Double(max(count - 1, 1))
            steps = (0..<count).reversed().map { Int((Double($0) * stride).rounded(.toNearestOrEven)) }
        }
        if let bad = steps.first(where: { !(0..<T).contains($0) }) {
            throw DiffusionError.unsupportedSchedulerSetting(
                "timestep \(bad) of the \(spacing.rawValue) spacing (steps_offset \(stepsOffset), \(count) steps) is outside 0…\(T - 1); "
                    + "use fewer steps or steps_offset 0.")
        }
        return steps
    }

    /// (x̂₀ before the limit, ε̂) from the network's mean output `m` at timestep `t`.
    func predictions(_ m: Tensor, current x: Tensor, timestep t: Int) -> (start: Tensor, noise: Tensor) {
        let a = alphaBar[t], s = a.squareRoot(), r = (1 - a).squareRoot()
        switch prediction {
        case .noise: return ((x - m * r) * (1 / s), m)
        case .start: return (m, (x - m * s) * (1 / r))
        case .velocity: return (x * s - m * r, m * s + x * r)
        }
    }

    /// x̂₀ with `startLimit` applied.
    func limited(_ start: Tensor) -> Tensor {
        switch startLimit {
        case .none:
            return start
        case .clip(let range):
            return start.clamped(min: -range, max: range)
        case .threshold(let ratio, let maximum):
            // Per sample: s = quantile(|x̂₀|, ratio) with linear interpolation, clamped to [1, maximum].
            return DynamicThresholding(uncheckedRatio: ratio, maximum: maximum).apply(start)
        }
    }

    /// The network's output split into the mean part and, for `learned_range`, the variance part.
    func split(_ output: Tensor, channels: Int) throws -> (mean: Tensor, variance: Tensor?) {
        if output.shape[1] == 2 * channels {
            let parts = output.split(sizes: [channels, channels], axis: 1)
            return (parts[0], variance == .learnedRange ? parts[1] : nil)
        }
        guard variance != .learnedRange else {
            throw DiffusionError.unsupportedSchedulerSetting(
                "variance_type learned_range needs a network with twice the input channels; this one returns \(output.shape[1]).")
        }
        return (output, nil)
    }

    /// Calls `model` on `x` (given to it in `dtype`) at timestep `t`, checks the output's shape and
    /// returns it in Float64: the scheduler's arithmetic runs in Float64 whatever the network's
    /// precision, so that a Float32 network adds only its own rounding.
    func evaluate(_ model: DiffusionModel, _ x: Tensor, timestep t: Int, dtype: DType) throws -> Tensor {
        let output = model(x.converted(to: dtype), [Int](repeating: t, count: x.shape[0])).converted(to: .float64)
        let channels = x.shape[1]
        guard output.shape[0] == x.shape[0], Array(output.shape.dropFirst(2)) == Array(x.shape.dropFirst(2)),
            output.shape[1] == channels || output.shape[1] == 2 * channels
        else { throw DiffusionError.modelOutputShape(expected: x.shape, got: output.shape) }
        return output
    }

    /// DDIM from `initialNoise` = x_T in `steps` steps (diffusers' `DDIMScheduler.step`; DDIM eq. 12).
    ///
    /// For each timestep t (noisiest first), with prev = t − ⌊T/n⌋:
    /// 1. x̂₀ and ε̂ from the output; ε̂ is kept from the unlimited x̂₀; x̂₀ is limited.
    /// 2. ᾱ_prev = ᾱ[prev], or 1 (`setAlphaToOne`) or ᾱ₀ when prev < 0.
    /// 3. σ = η √((1 − ᾱ_prev)/(1 − ᾱₜ)·(1 − ᾱₜ/ᾱ_prev))   (DDIM eq. 16).
    /// 4. x_prev = √ᾱ_prev x̂₀ + √(1 − ᾱ_prev − σ²) ε̂ + σ z.
    public func sampleDDIM(
        model: DiffusionModel, initialNoise: Tensor, steps: Int, eta: Double = 0,
        generator: inout some NoiseSource, onStep: SamplingCallback? = nil
    ) throws -> Tensor {
        guard eta.isFinite, eta >= 0, eta <= 1 else { throw DiffusionError.invalidEta(eta) }
        let timesteps = try self.timesteps(count: steps)
        let stride = trainingSteps / steps
        let finalAlphaBar = setAlphaToOne ? 1 : alphaBar[0]
        return try withoutGradients {
            var x = initialNoise.converted(to: .float64)
            for (k, t) in timesteps.enumerated() {
                // 1. Predictions.
                let (mean, _) = try split(evaluate(model, x, timestep: t, dtype: initialNoise.dtype), channels: x.shape[1])
                let (rawStart, noise) = predictions(mean, current: x, timestep: t)
                let start = limited(rawStart)
                onStep?(
                    SamplingStep(
                        index: timesteps.count - 1 - k, timestep: t, current: x.converted(to: initialNoise.dtype),
                        predictedStart: start.converted(to: initialNoise.dtype)))
                // 2–3. ᾱ_prev and σ.
                let previous = t - stride
                let a = alphaBar[t], aPrevious = previous >= 0 ? alphaBar[previous] : finalAlphaBar
                let sigma = eta * ((1 - aPrevious) / (1 - a) * (1 - a / aPrevious)).squareRoot()
                // 4. Update.
                x = start * aPrevious.squareRoot() + noise * (1 - aPrevious - sigma * sigma).squareRoot()
                if eta > 0 {
                    x =
                        x + generator.normal(shape: x.shape, dtype: initialNoise.dtype).converted(to: .float64)
                        * sigma
                }
            }
            return x.converted(to: initialNoise.dtype)
        }
    }

    /// Ancestral sampling (DDPM Algorithm 2 as diffusers' `DDPMScheduler.step` runs it) from
    /// `initialNoise` = x_T in `steps` steps.
    ///
    /// For each timestep t with prev the next one of the list (or −1 after the last):
    /// 1. x̂₀ from the output, limited.
    /// 2. β′ = 1 − ᾱₜ/ᾱ_prev (ᾱ_prev = 1 below 0); μ = √ᾱ_prev β′/(1 − ᾱₜ)·x̂₀ + √(1−β′)(1 − ᾱ_prev)/(1 − ᾱₜ)·xₜ
    ///    (eq. 7 on the respaced chain).
    /// 3. If t > 0: x_prev = μ + σ z, σ from `variance`, z from `noise(k)` when given (k = 0 for
    ///    the first step) else from `generator`; at t = 0, x_prev = μ.
    public func sampleAncestral(
        model: DiffusionModel, initialNoise: Tensor, steps: Int, noise: ((Int) -> Tensor)? = nil,
        generator: inout some NoiseSource, onStep: SamplingCallback? = nil
    ) throws -> Tensor {
        let timesteps = try self.timesteps(count: steps)
        return try withoutGradients {
            var x = initialNoise.converted(to: .float64)
            for (k, t) in timesteps.enumerated() {
                // 1. x̂₀.
                let (mean, varianceOutput) = try split(evaluate(model, x, timestep: t, dtype: initialNoise.dtype), channels: x.shape[1])
                let start = limited(predictions(mean, current: x, timestep: t).start)
                onStep?(
                    SamplingStep(
                        index: timesteps.count - 1 - k, timestep: t, current: x.converted(to: initialNoise.dtype),
                        predictedStart: start.converted(to: initialNoise.dtype)))
                // 2. The posterior mean of the respaced step.
                let previous = k + 1 < timesteps.count ? timesteps[k + 1] : -1
                let a = alphaBar[t], aPrevious = previous >= 0 ? alphaBar[previous] : 1
                let beta = 1 - a / aPrevious
                let startCoefficient = aPrevious.squareRoot() * beta / (1 - a)
                let currentCoefficient = (1 - beta).squareRoot() * (1 - aPrevious) / (1 - a)
                x = start * startCoefficient + x * currentCoefficient
                // 3. Noise.
                guard t > 0 else { continue }
                let drawn = noise?(k) ?? generator.normal(shape: x.shape, dtype: initialNoise.dtype)
                guard drawn.shape == x.shape else { throw DiffusionError.noiseShape(expected: x.shape, got: drawn.shape) }
                let z = drawn.converted(to: .float64)
                let small = max((1 - aPrevious) / (1 - a) * beta, 1e-20)
                switch variance {
                case .fixedSmall: x = x + z * small.squareRoot()
                case .fixedSmallLog: x = x + z * Foundation.exp(0.5 * Foundation.log(small))
                case .fixedLarge: x = x + z * beta.squareRoot()
                case .learnedRange:
                    let fraction = (varianceOutput! + 1.0) * 0.5
                    let logVariance = fraction * Foundation.log(beta) + (1.0 - fraction) * Foundation.log(small)
                    x = x + z * (logVariance * 0.5).exp()
                }
            }
            return x.converted(to: initialNoise.dtype)
        }
    }
}

extension DiffusersScheduler {
    /// β rescaled so that the last timestep has zero signal-to-noise ratio (Lin et al. 2024,
    /// "Common Diffusion Noise Schedules and Sample Steps are Flawed", Algorithm 1; diffusers'
    /// `rescale_betas_zero_snr`): √ᾱ is shifted and scaled so that √ᾱ₀ is kept and √ᾱ_{T−1} = 0,
    /// then β is read back from ᾱ (the last β is exactly 1).
    public static func zeroTerminalSNR(_ betas: [Double]) -> [Double] {
        var product = 1.0
        let root = betas.map {
            product *= 1 - $0; return product.squareRoot()
        }
        let first = root[0], last = root[root.count - 1]
        let alphaBar = root.map {
            let s = ($0 - last) * first / (first - last); return s * s
        }
        return alphaBar.indices.map { $0 == 0 ? 1 - alphaBar[0] : 1 - alphaBar[$0] / alphaBar[$0 - 1] }
    }

    /// diffusers' `scaled_linear` schedule: β = linspace(√start, √end, T)².
    public static func scaledLinearBetas(start: Double, end: Double, count: Int) -> [Double] {
        let a = start.squareRoot(), b = end.squareRoot()
        return (0..<count).map { i in
            let root = count == 1 ? a : (i == count - 1 ? b : a + Double(i) * (b - a) / Double(count - 1))
            return root * root
        }
    }

    /// diffusers' `sigmoid` schedule: β = sigmoid(linspace(−6, 6, T))·(end − start) + start.
    public static func sigmoidBetas(start: Double, end: Double, count: Int) -> [Double] {
        (0..<count).map { i in
            let x = count == 1 ? -6 : -6 + 12 * Double(i) / Double(count - 1)
            return 1 / (1 + Foundation.exp(-x)) * (end - start) + start
        }
    }
}

extension DiffusersScheduler: CustomStringConvertible {
    /// The process in one paragraph, as `ddpm info` prints it: T, β at both ends, what the network
    /// predicts, the variance, the x̂₀ limit and the sampling timesteps.
    public var description: String {
        let prediction =
            switch prediction {
            case .noise: "epsilon (ε)"
            case .start: "sample (x₀)"
            case .velocity: "v_prediction (v)"
            }
        let limit =
            switch startLimit {
            case .none: "none"
            case .clip(let range): "clipped to ±\(range)"
            case .threshold(let ratio, let maximum): "dynamic thresholding (quantile \(ratio), at most \(maximum))"
            }
        return """
            Gaussian diffusion, T = \(trainingSteps): β₁ = \(betas[0]), β_T = \(betas[trainingSteps - 1]), ᾱ_T = \(alphaBar[trainingSteps - 1])
            prediction: \(prediction); ancestral variance: \(variance.rawValue); x̂₀: \(limit)
            timesteps: \(spacing.rawValue) spacing, steps_offset \(stepsOffset); DDIM's final ᾱ: \(setAlphaToOne ? "1 (set_alpha_to_one)" : "ᾱ₀")
            """
    }
}

extension DiffusersScheduler {
    /// The diffusers scheduler that samples `process` as this toolkit does: its β, prediction and
    /// variance, x̂₀ clipped to [−1, 1] when `clipStart` (images), `spacing` for fewer steps.
    /// - Throws: `DiffusionError.unsupportedSchedulerSetting` for a learned variance, which
    ///   diffusers has no scheduler for (its `learned` reads σ², this toolkit's reads log σ²).
    public init(matching process: GaussianDiffusion, clipStart: Bool, spacing: Spacing = .leading) throws {
        let variance: Variance
        switch process.varianceKind {
        case .fixedSmall: variance = .fixedSmall
        case .fixedLarge: variance = .fixedLarge
        case .learnedRange: variance = .learnedRange
        case .learned:
            throw DiffusionError.unsupportedSchedulerSetting(
                "the learned variance (log σ² from the network) has no diffusers scheduler: its variance_type learned reads σ² itself.")
        }
        try self.init(
            betas: process.schedule.betas, prediction: process.meanPrediction, variance: variance,
            startLimit: clipStart ? .clip(range: 1) : .none, spacing: spacing)
    }
}
