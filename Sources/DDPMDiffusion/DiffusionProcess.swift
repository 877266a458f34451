// What every diffusion process gives training, evaluation and sampling: Gaussian diffusion (DDPM)
// and SD15's binomial diffusion of binary data conform; a new process conforms here and needs no
// change in the trainer or the command-line tool.
import DDPMTensors

/// A forward process q with its learned reverse process p_θ: the training noise and loss, the whole
/// variational bound, and sampling.
///
/// Timesteps are 0-based indices (index i is the paper's t = i + 1); tensors are [B, …].
public protocol DiffusionProcess: Sendable {
    /// T.
    var stepCount: Int { get }

    /// Whether the data are binary {0, 1} (binomial diffusion) rather than real values in [−1, 1].
    var diffusesBinaryData: Bool { get }

    /// The channels (axis 1) of the network's output for data with `channels` channels.
    func modelOutputChannels(forDataChannels channels: Int) -> Int

    /// The noise of one training example of `shape` (no batch axis), drawn from `generator`:
    /// ε ~ N(0, I) for Gaussian diffusion, u ~ U[0, 1) for binomial diffusion's coin flips.
    func trainingNoise(shape: [Int], dtype: DType, generator: inout PhiloxGenerator) -> Tensor

    /// The per-example training loss [B] at the given timesteps with the given noise (average it).
    func trainingLoss(model: DiffusionModel, start: Tensor, timesteps: [Int], noise: Tensor) throws -> Tensor

    /// The whole variational bound of a batch in bits/dim, per term (`VariationalBound`); x̂₀ is
    /// clipped to the data range when `clipStart` (images). `progress` is told the number of
    /// steps done after each one. Runs without gradients.
    func variationalBound(
        model: DiffusionModel, start: Tensor, clipStart: Bool, generator: inout PhiloxGenerator, progress: StepProgress?
    ) throws -> VariationalBound

    /// Samples of `shape` scaled to [−1, 1] for pictures, with at most `maxSteps` network
    /// evaluations where the process can skip steps (Gaussian: evenly respaced ancestral sampling,
    /// x̂₀ clipped for images; binomial: all T steps, bits shown as −1 and 1). `progress` is told
    /// the number of steps done after each one.
    func samplesForDisplay(
        model: DiffusionModel, shape: [Int], maxSteps: Int, generator: inout PhiloxGenerator, progress: StepProgress?
    ) throws -> Tensor
}

/// Told the number of steps done so far, after each step of a long loop.
public typealias StepProgress = (_ stepsDone: Int) -> Void

extension DiffusionProcess {
    /// The whole bound, without clipping x̂₀ unless asked.
    public func variationalBound(
        model: DiffusionModel, start: Tensor, clipStart: Bool = false, generator: inout PhiloxGenerator
    ) throws -> VariationalBound {
        try variationalBound(model: model, start: start, clipStart: clipStart, generator: &generator, progress: nil)
    }

    /// Samples for pictures, without progress reports.
    public func samplesForDisplay(model: DiffusionModel, shape: [Int], maxSteps: Int, generator: inout PhiloxGenerator) throws -> Tensor {
        try samplesForDisplay(model: model, shape: shape, maxSteps: maxSteps, generator: &generator, progress: nil)
    }
}

extension GaussianDiffusion: DiffusionProcess {
    public var diffusesBinaryData: Bool { false }

    public func modelOutputChannels(forDataChannels channels: Int) -> Int {
        varianceKind.isLearned ? 2 * channels : channels
    }

    public func trainingNoise(shape: [Int], dtype: DType, generator: inout PhiloxGenerator) -> Tensor {
        Tensor.randomNormal(shape: shape, dtype: dtype, generator: &generator)
    }

    public func trainingLoss(model: DiffusionModel, start: Tensor, timesteps: [Int], noise: Tensor) throws -> Tensor {
        try trainingLosses(model: model, start: start, timesteps: timesteps, noise: noise).loss
    }

    public func variationalBound(
        model: DiffusionModel, start: Tensor, clipStart: Bool, generator: inout PhiloxGenerator, progress: StepProgress?
    ) throws -> VariationalBound {
        let T = stepCount
        return try variationalBound(model: model, start: start, clipStart: clipStart, generator: &generator) { index, _, _ in
            progress?(T - index)
        }
    }

    public func samplesForDisplay(
        model: DiffusionModel, shape: [Int], maxSteps: Int, generator: inout PhiloxGenerator, progress: StepProgress?
    ) throws -> Tensor {
        let sampling = maxSteps < stepCount ? try respaced(.even(count: max(1, maxSteps))) : self
        let steps = sampling.stepCount
        return try sampling.sampleAncestral(model: model, shape: shape, clipStart: shape.count == 4, generator: &generator) { step in
            progress?(steps - step.index)
        }
    }
}

extension BinomialDiffusion: DiffusionProcess {
    public var diffusesBinaryData: Bool { true }

    public func modelOutputChannels(forDataChannels channels: Int) -> Int { channels }

    public func trainingNoise(shape: [Int], dtype: DType, generator: inout PhiloxGenerator) -> Tensor {
        Tensor.randomUniform(shape: shape, dtype: dtype, generator: &generator)
    }

    public func trainingLoss(model: DiffusionModel, start: Tensor, timesteps: [Int], noise: Tensor) throws -> Tensor {
        try trainingLoss(model: model, start: start, timesteps: timesteps, uniformNoise: noise)
    }

    public func variationalBound(
        model: DiffusionModel, start: Tensor, clipStart: Bool, generator: inout PhiloxGenerator, progress: StepProgress?
    ) throws -> VariationalBound {
        try variationalBound(model: model, start: start, generator: &generator, progress: progress)
    }

    public func samplesForDisplay(
        model: DiffusionModel, shape: [Int], maxSteps: Int, generator: inout PhiloxGenerator, progress: StepProgress?
    ) throws -> Tensor {
        let T = stepCount
        return 2.0 * (try sampleAncestral(model: model, shape: shape, generator: &generator) { step in progress?(T - step.index) }) - 1.0
    }
}
