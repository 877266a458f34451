// Which reverse chain `ddpm sample` runs: diffusers' scheduler semantics (a diffusers model, or a
// run with --spacing leading/trailing/linspace), this toolkit's respaced samplers, the multistep
// solvers (DPM-Solver++, its SDE variant, UniPC), or the binomial process's own ancestral sampler.
import DDPMDiffusion
import DDPMTensors
import DDPMTraining

/// A sampler chosen from the model and the flags, run batch by batch from a given x_T.
struct Chain {
    private enum Kind {
        case diffusers(DiffusersScheduler)
        case gaussian(GaussianDiffusion)
        case process(any DiffusionProcess)
        case dpmSolver(DPMSolver)
        case uniPC(UniPC)
    }

    /// The flags that choose the chain.
    struct Choice {
        /// nil: the solver a diffusers model's scheduler config names, else ancestral.
        var sampler: SampleCommand.Sampler?
        var steps: Int?
        var spacing: SampleCommand.Spacing?
        var eta: Double
        var order: Int?
        var placement: StepPlacement?
        /// --dynamic-thresholding: replaces the model's x̂₀ limit (solvers only).
        var thresholding: DynamicThresholding?
    }

    private let kind: Kind
    /// --sampler, or the model's default when it was not given.
    private let sampler: SampleCommand.Sampler
    private let model: DiffusionModel
    private let choice: Choice
    private let clipStart: Bool
    /// Denoising steps per sample (network evaluations).
    let stepCount: Int
    /// What `sampler.json` records: the sampler and every setting it runs with.
    let record: SamplerRecord

    /// The solvers' default number of steps.
    static let solverSteps = 20
    /// What a Gaussian `ddpm train` run samples with when --sampler is not given: SDE-DPM-Solver++
    /// 2M in 10 steps (unless --steps), the knee of the README's quality-versus-steps study (its
    /// FID at 10 steps beat DDIM's at 50; 15 steps gained little).
    static let recommended = (sampler: SampleCommand.Sampler.sdeDPMSolverPlusPlus, steps: 10)

    init(trained: TrainedModel, choice: Choice) throws {
        let T = trained.process.stepCount
        let fallback = Self.defaultChoice(trained)
        let sampler = choice.sampler ?? fallback.sampler
        guard sampler.isSolver || (choice.order == nil && choice.placement == nil && choice.thresholding == nil) else {
            throw CommandFailure(
                "--order, --step-placement and --dynamic-thresholding apply to --sampler dpm-solver++, sde-dpm-solver++ and unipc; this model samples with \(sampler.rawValue)."
            )
        }
        let defaultSteps = (choice.sampler == nil ? fallback.steps : nil) ?? (sampler.isSolver ? Self.solverSteps : T)
        let count = choice.steps ?? min(defaultSteps, T)
        guard count <= T else { throw CommandFailure("--steps \(count) is more than the model's T = \(T).") }
        self.model = trained.model
        self.sampler = sampler
        self.choice = choice
        clipStart = trained.isImages
        stepCount = count
        var record = SamplerRecord(sampler: sampler.rawValue, steps: count)
        let diffusersSpacing = choice.spacing.flatMap { DiffusersScheduler.Spacing(rawValue: $0.rawValue) }
        guard let gaussian = trained.process as? GaussianDiffusion else {
            guard count == T, sampler == .ancestral, choice.spacing == nil else {
                throw CommandFailure(
                    "this model's process samples with the ancestral sampler over all T = \(T) steps; drop --steps, --spacing and --sampler \(sampler.rawValue)."
                )
            }
            kind = .process(trained.process)
            record.timesteps = Array((0..<T).reversed())
            record.process = "binomial diffusion (its own ancestral sampler)"
            self.record = record
            return
        }
        if sampler.isSolver {
            guard choice.spacing != .even else {
                throw CommandFailure(
                    "--spacing even is the respacing of the ancestral and DDIM samplers; --sampler \(sampler.rawValue)"
                        + (choice.sampler == nil ? " (this model's default)" : "")
                        + " takes leading, trailing or linspace; add --sampler ancestral or ddim for even spacing."
                )
            }
            let solverKind = try Self.solver(
                sampler, count: count, gaussian: gaussian, scheduler: trained.scheduler, settings: trained.solver,
                settingsChoseSampler: choice.sampler == nil && trained.solver != nil, isImages: trained.isImages,
                choice: choice, spacing: diffusersSpacing, record: &record)
            kind = solverKind
        } else if var scheduler = trained.scheduler, choice.spacing != .even {
            // A diffusers model: its scheduler, with the spacing asked for.
            if let diffusersSpacing { scheduler.spacing = diffusersSpacing }
            kind = .diffusers(scheduler)
            record.semantics = sampler == .ddim ? "diffusers DDIMScheduler" : "diffusers DDPMScheduler"
            record.spacing = scheduler.spacing.rawValue
            record.stepsOffset = scheduler.stepsOffset
            record.timesteps = try CommandFailure.wrap("") { try scheduler.timesteps(count: count) }
            record.startLimit = Self.describe(scheduler.startLimit)
        } else if let diffusersSpacing {
            let scheduler = try CommandFailure.wrap("--spacing \(diffusersSpacing.rawValue): ") {
                try DiffusersScheduler(matching: gaussian, clipStart: trained.isImages, spacing: diffusersSpacing)
            }
            kind = .diffusers(scheduler)
            record.semantics = sampler == .ddim ? "diffusers DDIMScheduler" : "diffusers DDPMScheduler"
            record.spacing = diffusersSpacing.rawValue
            record.timesteps = try CommandFailure.wrap("") { try scheduler.timesteps(count: count) }
            record.startLimit = Self.describe(scheduler.startLimit)
        } else {
            let diffusion =
                count < T || sampler == .ddim
                ? try CommandFailure.wrap("") { try gaussian.respaced(sampler == .ddim ? .ddim(count: count) : .even(count: count)) }
                : gaussian
            kind = .gaussian(diffusion)
            record.semantics = "this toolkit's respaced chain"
            record.spacing = count < T || sampler == .ddim ? (sampler == .ddim ? "ddim (0, c, 2c, …)" : "even") : "all T"
            record.timesteps = Array(diffusion.schedule.originalTimesteps.reversed())
            record.startLimit = clipStart ? "clipped to ±1" : "none"
        }
        if sampler == .ddim { record.eta = choice.eta }
        record.prediction = gaussian.meanPrediction.rawValue
        self.record = record
    }

    /// What a model samples with when --sampler is not given (steps nil: the sampler's own
    /// default): the solver a diffusers model's scheduler config names (DPM-Solver++ also for the
    /// noise-prediction `dpmsolver`); ancestral for another diffusers scheduler, as diffusers'
    /// pipeline samples, and for the binomial process; ``recommended`` for a Gaussian `ddpm train` run.
    static func defaultChoice(_ trained: TrainedModel) -> (sampler: SampleCommand.Sampler, steps: Int?) {
        switch (trained.solver?.solver, trained.solver?.algorithm) {
        case (.uniPCMultistep, _): (.unipc, nil)
        case (_, .stochasticDataPrediction): (.sdeDPMSolverPlusPlus, nil)
        case (.some, _): (.dpmSolverPlusPlus, nil)
        case (nil, _):
            trained.scheduler == nil && trained.process is GaussianDiffusion ? (recommended.sampler, recommended.steps) : (.ancestral, nil)
        }
    }

    /// The solver of `sampler` for the model: a diffusers model's ᾱ, prediction, thresholding,
    /// spacing and offset (as `DPMSolverMultistepScheduler.from_config` of its scheduler config
    /// would take them) and, when its config is of the same solver class (`settings`), its order,
    /// variant, final steps and step placement — the algorithm too when the config chose the
    /// sampler; a run folder's ᾱ and prediction, x̂₀ clipped to ±1 for images (dynamic
    /// thresholding with maximum 1, as the other samplers clip), linspace steps. Flags override.
    private static func solver(
        _ sampler: SampleCommand.Sampler, count: Int, gaussian: GaussianDiffusion, scheduler: DiffusersScheduler?,
        settings: SolverSchedulerSettings?, settingsChoseSampler: Bool, isImages: Bool, choice: Choice,
        spacing: DiffusersScheduler.Spacing?, record: inout SamplerRecord
    ) throws -> Kind {
        let settings = settings.flatMap { ($0.solver == .uniPCMultistep) == (sampler == .unipc) ? $0 : nil }
        var alphaBar = gaussian.schedule.alphaBar
        var modelTimesteps = gaussian.schedule.originalTimesteps
        var prediction = gaussian.meanPrediction
        var thresholding: DynamicThresholding? = isImages ? try DynamicThresholding(ratio: 0.995, maximum: 1) : nil
        var grid = settings?.grid ?? SolverGrid()
        grid.placement = choice.placement ?? grid.placement
        grid.spacing = spacing ?? .linspace
        if let scheduler {
            alphaBar = scheduler.alphaBar
            // diffusers' solvers clamp a zero-SNR schedule's last ᾱ = 0 to 2⁻²⁴ (σ would be infinite).
            if alphaBar[alphaBar.count - 1] == 0 { alphaBar[alphaBar.count - 1] = 0x1p-24 }
            modelTimesteps = Array(alphaBar.indices)
            prediction = scheduler.prediction
            thresholding = nil
            if case .threshold(let ratio, let maximum) = scheduler.startLimit {
                thresholding = try DynamicThresholding(ratio: ratio, maximum: maximum)
            }
            grid.spacing = spacing ?? scheduler.spacing
            grid.stepsOffset = scheduler.stepsOffset
            record.semantics = sampler == .unipc ? "diffusers UniPCMultistepScheduler" : "diffusers DPMSolverMultistepScheduler"
        } else {
            record.semantics =
                sampler == .unipc ? "UniPC as diffusers' UniPCMultistepScheduler" : "DPM-Solver++ as diffusers' DPMSolverMultistepScheduler"
        }
        thresholding = choice.thresholding ?? thresholding
        let algorithm: DPMSolver.Algorithm =
            settingsChoseSampler
            ? settings?.algorithm ?? .dataPrediction : sampler == .sdeDPMSolverPlusPlus ? .stochasticDataPrediction : .dataPrediction
        let order = choice.order ?? min(settings?.order ?? 2, algorithm == .stochasticDataPrediction ? 2 : 3)
        let lowerOrderFinal = settings?.lowerOrderFinal ?? true
        let steps: SolverSteps
        let orders: [Int]
        let kind: Kind
        if sampler == .unipc {
            let solver = try CommandFailure.wrap("--sampler unipc: ") {
                try UniPC(
                    alphaBar: alphaBar, modelTimesteps: modelTimesteps, prediction: prediction, order: order,
                    variant: settings?.variant ?? .bh2, lowerOrderFinal: lowerOrderFinal, thresholding: thresholding, grid: grid)
            }
            steps = try CommandFailure.wrap("--sampler unipc: ") { try solver.steps(count) }
            orders = solver.orders(count: steps.count)
            kind = .uniPC(solver)
            record.variant = solver.variant.rawValue
            record.corrector = solver.corrector
            record.lowerOrderFinal = solver.lowerOrderFinal
        } else {
            let solver = try CommandFailure.wrap("--sampler \(sampler.rawValue): ") {
                try DPMSolver(
                    alphaBar: alphaBar, modelTimesteps: modelTimesteps, prediction: prediction, algorithm: algorithm, order: order,
                    lowerOrderFinal: lowerOrderFinal, thresholding: thresholding, grid: grid)
            }
            steps = try CommandFailure.wrap("--sampler \(sampler.rawValue): ") { try solver.steps(count) }
            orders = solver.orders(count: steps.count)
            kind = .dpmSolver(solver)
            record.algorithm = algorithm.rawValue
            record.lowerOrderFinal = solver.lowerOrderFinal
            record.solverType = "midpoint"
        }
        record.order = order
        record.orders = orders
        record.stepPlacement = grid.placement.rawValue
        record.spacing = grid.placement == .uniform ? grid.spacing.rawValue : nil
        record.stepsOffset = grid.placement == .uniform && grid.spacing == .leading ? grid.stepsOffset : nil
        record.finalNoise = grid.finalNoise.rawValue
        record.timesteps = steps.timesteps.map { modelTimesteps[$0] }
        record.sigmas = steps.sigmas
        record.startLimit =
            thresholding.map {
                $0.maximum == 1
                    ? "clipped to ±1 (dynamic thresholding with maximum 1)"
                    : "dynamic thresholding (quantile \($0.ratio), at most \($0.maximum))"
            } ?? "none"
        return kind
    }

    static func describe(_ limit: DiffusersScheduler.StartLimit) -> String {
        switch limit {
        case .none: "none"
        case .clip(let range): "clipped to ±\(range)"
        case .threshold(let ratio, let maximum): "dynamic thresholding (quantile \(ratio), at most \(maximum))"
        }
    }

    /// Whether the chain starts from x_T ~ N(0, I) (Gaussian diffusion), which can be given.
    var startsFromGaussianNoise: Bool {
        if case .process = kind { return false }
        return true
    }

    /// Samples of `shape` from `start` = x_T (drawn from `generator` when nil; a binomial chain
    /// draws its own); `report` is told the steps done, `observe` sees every step's xₜ and x̂₀
    /// (Gaussian chains).
    func sample(
        from start: Tensor?, shape: [Int], generator: inout some NoiseSource, observe: SamplingCallback? = nil,
        report: @escaping (Int) -> Void
    ) throws -> Tensor {
        let steps = stepCount
        let stepDone: SamplingCallback = { step in
            observe?(step)
            report(steps - step.index)
        }
        // x_T ~ N(0, I) unless given; the binomial process draws its own prior.
        func initial(_ generator: inout some NoiseSource) -> Tensor { start ?? generator.normal(shape: shape, dtype: .float32) }
        let isDDIM = sampler == .ddim
        switch kind {
        case .process(let process):
            return try process.samplesForDisplay(model: model, shape: shape, maxSteps: steps, generator: &generator, progress: report)
        case .diffusers(let scheduler):
            let x = initial(&generator)
            if isDDIM {
                return try scheduler.sampleDDIM(
                    model: model, initialNoise: x, steps: steps, eta: choice.eta, generator: &generator, onStep: stepDone)
            }
            return try scheduler.sampleAncestral(model: model, initialNoise: x, steps: steps, generator: &generator, onStep: stepDone)
        case .gaussian(let diffusion):
            let x = initial(&generator)
            if isDDIM {
                return try diffusion.sampleDDIM(
                    model: model, shape: shape, eta: choice.eta, initialNoise: x, clipStart: clipStart, generator: &generator,
                    onStep: stepDone)
            }
            return try diffusion.sampleAncestral(
                model: model, shape: shape, initialNoise: x, clipStart: clipStart, generator: &generator, onStep: stepDone)
        case .dpmSolver(let solver):
            let x = initial(&generator)
            return try solver.sample(model: model, initialNoise: x, steps: steps, generator: &generator, onStep: stepDone)
        case .uniPC(let solver):
            return try solver.sample(model: model, initialNoise: initial(&generator), steps: steps, onStep: stepDone)
        }
    }
}

/// `sampler.json`: the sampler and the settings it ran with, written beside the samples.
struct SamplerRecord: Encodable {
    /// --sampler.
    var sampler: String
    /// Network evaluations per sample.
    var steps: Int
    /// Whose step semantics the chain follows.
    var semantics: String?
    /// What the network predicts (epsilon… as this toolkit names it: noise, start, velocity).
    var prediction: String?
    /// The process, for a non-Gaussian one.
    var process: String?
    /// The solvers' algorithm_type (dpmsolver++, sde-dpmsolver++).
    var algorithm: String?
    /// DPM-Solver's second-order form.
    var solverType: String?
    /// UniPC's B(h).
    var variant: String?
    /// UniPC's corrector.
    var corrector: Bool?
    /// The highest solver order.
    var order: Int?
    /// The order of each step.
    var orders: [Int]?
    /// diffusers' lower_order_final.
    var lowerOrderFinal: Bool?
    /// uniform, log-snr or karras.
    var stepPlacement: String?
    /// The spacing of uniform steps.
    var spacing: String?
    /// diffusers' steps_offset.
    var stepsOffset: Int?
    /// zero or sigma-min.
    var finalNoise: String?
    /// The 0-based timestep of each network evaluation, noisiest first.
    var timesteps: [Int]?
    /// The solvers' σ = √((1 − ᾱ)/ᾱ) of every step and the final one.
    var sigmas: [Double]?
    /// What is done to x̂₀.
    var startLimit: String?
    /// DDIM's η.
    var eta: Double?
    /// --seed.
    var seed: UInt64?
    /// Samples drawn.
    var count: Int?
    /// --checkpoint and the weights used.
    var checkpoint: String?
    /// ema or raw.
    var weights: String?
    /// --initial-noise, when given.
    var initialNoise: String?
    /// How the random draws are keyed.
    var noise: String?
    /// --batch-size.
    var batchSize: Int?
    /// The MPI ranks that drew the samples.
    var ranks: Int?

    enum CodingKeys: String, CodingKey {
        case sampler, steps, semantics, prediction, process, algorithm, solverType = "solver_type", variant, corrector, order, orders
        case lowerOrderFinal = "lower_order_final", stepPlacement = "step_placement", spacing, stepsOffset = "steps_offset"
        case finalNoise = "final_noise", timesteps, sigmas, startLimit = "x0_limit", eta, seed, count, checkpoint, weights
        case initialNoise = "initial_noise", noise, batchSize = "batch_size", ranks
    }
}
