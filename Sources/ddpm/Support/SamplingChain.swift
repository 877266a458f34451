// Which reverse chain `ddpm sample` runs: diffusers' scheduler semantics (a diffusers model, or a
// run with --spacing leading/trailing/linspace), this toolkit's respaced samplers, or the
// binomial process's own ancestral sampler.
import DDPMDiffusion
import DDPMTensors
import DDPMTraining

/// A sampler chosen from the model and the flags, run batch by batch from a given x_T.
struct Chain {
    private enum Kind {
        case diffusers(DiffusersScheduler)
        case gaussian(GaussianDiffusion)
        case process(any DiffusionProcess)
    }

    private let kind: Kind
    private let model: DiffusionModel
    private let sampler: SampleCommand.Sampler
    private let eta: Double
    private let clipStart: Bool
    /// Denoising steps per sample.
    let stepCount: Int

    init(trained: TrainedModel, sampler: SampleCommand.Sampler, steps: Int?, spacing: SampleCommand.Spacing?, eta: Double) throws {
        let T = trained.process.stepCount
        let count = steps ?? T
        guard count <= T else { throw CommandFailure("--steps \(count) is more than the model's T = \(T).") }
        self.model = trained.model
        self.sampler = sampler
        self.eta = eta
        clipStart = trained.isImages
        stepCount = count
        let diffusersSpacing = spacing.flatMap { DiffusersScheduler.Spacing(rawValue: $0.rawValue) }
        guard let gaussian = trained.process as? GaussianDiffusion else {
            guard count == T, sampler == .ancestral, spacing == nil else {
                throw CommandFailure("this model's process samples with the ancestral sampler over all T = \(T) steps; drop --steps, --spacing and --sampler ddim.")
            }
            kind = .process(trained.process)
            return
        }
        if var scheduler = trained.scheduler, spacing != .even {
            // A diffusers model: its scheduler, with the spacing asked for.
            if let diffusersSpacing { scheduler.spacing = diffusersSpacing }
            kind = .diffusers(scheduler)
        } else if let diffusersSpacing {
            kind = .diffusers(try CommandFailure.wrap("--spacing \(diffusersSpacing.rawValue): ") {
                try DiffusersScheduler(matching: gaussian, clipStart: trained.isImages, spacing: diffusersSpacing)
            })
        } else if count < T || sampler == .ddim {
            kind = .gaussian(try CommandFailure.wrap("") {
                try gaussian.respaced(sampler == .ddim ? .ddim(count: count) : .even(count: count))
            })
        } else {
            kind = .gaussian(gaussian)
        }
    }

    /// Whether the chain starts from x_T ~ N(0, I) (Gaussian diffusion), which can be given.
    var startsFromGaussianNoise: Bool {
        if case .process = kind { return false }
        return true
    }

    /// Samples of `shape` from `start` = x_T (drawn from `generator` when nil; a binomial chain
    /// draws its own); `report` is told the steps done.
    func sample(from start: Tensor?, shape: [Int], generator: inout PhiloxGenerator, report: @escaping (Int) -> Void) throws -> Tensor {
        let steps = stepCount
        if case .process(let process) = kind {
            return try process.samplesForDisplay(model: model, shape: shape, maxSteps: steps, generator: &generator, progress: report)
        }
        let start = start ?? Tensor.randomNormal(shape: shape, dtype: .float32, generator: &generator)
        switch kind {
        case .diffusers(let scheduler):
            if sampler == .ddim {
                return try scheduler.sampleDDIM(model: model, initialNoise: start, steps: steps, eta: eta, generator: &generator) { report(steps - $0.index) }
            }
            return try scheduler.sampleAncestral(model: model, initialNoise: start, steps: steps, generator: &generator) { report(steps - $0.index) }
        case .gaussian(let diffusion):
            if sampler == .ddim {
                return try diffusion.sampleDDIM(
                    model: model, shape: start.shape, eta: eta, initialNoise: start, clipStart: clipStart, generator: &generator
                ) { report(steps - $0.index) }
            }
            return try diffusion.sampleAncestral(
                model: model, shape: start.shape, initialNoise: start, clipStart: clipStart, generator: &generator
            ) { report(steps - $0.index) }
        case .process(let process):
            return try process.samplesForDisplay(model: model, shape: shape, maxSteps: steps, generator: &generator, progress: report)
        }
    }
}
