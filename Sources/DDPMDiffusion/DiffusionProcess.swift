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

    /// The channels (axis 1) of the network's output for data with `channels` channels (the
    /// dimensions, for [B, D] points).
    func modelOutputChannels(forDataChannels channels: Int) -> Int

    /// The noise of one training example of `shape` (no batch axis), drawn from `generator`:
    /// ε ~ N(0, I) for Gaussian diffusion, u ~ U[0, 1) for binomial diffusion's coin flips.
    func trainingNoise(shape: [Int], dtype: DType, generator: inout PhiloxGenerator) -> Tensor

    /// The per-example training loss [B] at the given timesteps with the given noise (average it).
    ///
    /// - Parameters:
    ///   - model: the network, called on xₜ and the timesteps.
    ///   - start: x₀, [B, …].
    ///   - timesteps: one 0-based index per example.
    ///   - noise: the batch's noise, x₀'s shape, as ``trainingNoise(shape:dtype:generator:)`` draws it per example.
    func trainingLoss(model: DiffusionModel, start: Tensor, timesteps: [Int], noise: Tensor) throws -> Tensor

    /// The whole variational bound of a batch in bits/dim, per term (`VariationalBound`); x̂₀ is
    /// clipped to the data range when `clipStart` (images). `progress` is told the number of
    /// steps done after each one. Runs without gradients.
    func variationalBound(
        model: DiffusionModel, start: Tensor, clipStart: Bool, generator: inout some NoiseSource, progress: StepProgress?
    ) throws -> VariationalBound

    /// Samples of `shape` scaled to [−1, 1] for pictures, with at most `maxSteps` network
    /// evaluations where the process can skip steps (Gaussian: evenly respaced ancestral sampling,
    /// x̂₀ clipped for images; binomial: all T steps, bits shown as −1 and 1). `progress` is told
    /// the number of steps done after each one.
    func samplesForDisplay(
        model: DiffusionModel, shape: [Int], maxSteps: Int, generator: inout some NoiseSource, progress: StepProgress?
    ) throws -> Tensor
}

/// Told the number of steps done so far, after each step of a long loop.
public typealias StepProgress = (_ stepsDone: Int) -> Void

extension DiffusionProcess {
    /// The whole bound, without clipping x̂₀ unless asked.
    public func variationalBound(
        model: DiffusionModel, start: Tensor, clipStart: Bool = false, generator: inout some NoiseSource
    ) throws -> VariationalBound {
        try variationalBound(model: model, start: start, clipStart: clipStart, generator: &generator, progress: nil)
    }

    /// Samples for pictures, without progress reports.
    public func samplesForDisplay(model: DiffusionModel, shape: [Int], maxSteps: Int, generator: inout some NoiseSource) throws -> Tensor {
        try samplesForDisplay(model: model, shape: shape, maxSteps: maxSteps, generator: &generator, progress: nil)
    }
}

extension GaussianDiffusion: DiffusionProcess {
    /// `false`: Gaussian diffusion models real values (images scaled to [−1, 1], or points).
    public var diffusesBinaryData: Bool { false }

    /// `channels`, or 2 × `channels` when ``varianceKind`` is learned (mean part first, then the
    /// variance part).
    public func modelOutputChannels(forDataChannels channels: Int) -> Int {
        varianceKind.isLearned ? 2 * channels : channels
    }

    /// ε ~ N(0, I) of `shape` (DDPM Algorithm 1, line 4).
    public func trainingNoise(shape: [Int], dtype: DType, generator: inout PhiloxGenerator) -> Tensor {
        generator.normal(shape: shape, dtype: dtype)
    }

    /// The `loss` of ``trainingLosses(model:start:timesteps:noise:)``: L_simple (eq. 14), T · L_{t−1}
    /// or the hybrid loss, per ``lossKind``; shape [B].
    ///
    /// - Parameters:
    ///   - model: the network, called on xₜ and the timesteps.
    ///   - start: x₀, [B, …].
    ///   - timesteps: one 0-based index per example.
    ///   - noise: ε, x₀'s shape.
    /// - Throws: ``DiffusionError`` for bad timesteps, noise or model-output shapes.
    public func trainingLoss(model: DiffusionModel, start: Tensor, timesteps: [Int], noise: Tensor) throws -> Tensor {
        try trainingLosses(model: model, start: start, timesteps: timesteps, noise: noise).loss
    }

    /// The whole bound L = L_T + Σ L_{t−1} + L₀ in bits/dim (eq. 5), per term; see
    /// ``variationalBound(model:start:clipStart:generator:onStep:)``. `progress` is told the
    /// number of steps done after each of the T steps.
    ///
    /// - Parameters:
    ///   - model: the network.
    ///   - start: x₀, [B, …]: 8-bit data scaled to [−1, 1] for the discretised decoder.
    ///   - clipStart: clip x̂₀ to [−1, 1] (images).
    ///   - generator: the source of the fresh ε of each step.
    ///   - progress: told the number of steps done.
    public func variationalBound(
        model: DiffusionModel, start: Tensor, clipStart: Bool, generator: inout some NoiseSource, progress: StepProgress?
    ) throws -> VariationalBound {
        let T = stepCount
        return try variationalBound(model: model, start: start, clipStart: clipStart, generator: &generator) { index, _, _ in
            progress?(T - index)
        }
    }

    /// Ancestral samples (Algorithm 2) in [−1, 1], over at most `maxSteps` steps: the schedule is
    /// respaced with ``TimestepSpacing/even(count:)`` when `maxSteps` < T. x̂₀ is clipped to
    /// [−1, 1] when `shape` has rank 4 ([B, C, H, W] images).
    ///
    /// - Parameters:
    ///   - model: the network.
    ///   - shape: [B, …] of the samples.
    ///   - maxSteps: the most network evaluations per sample.
    ///   - generator: the source of x_T and every z.
    ///   - progress: told the number of steps done.
    public func samplesForDisplay(
        model: DiffusionModel, shape: [Int], maxSteps: Int, generator: inout some NoiseSource, progress: StepProgress?
    ) throws -> Tensor {
        let sampling = maxSteps < stepCount ? try respaced(.even(count: max(1, maxSteps))) : self
        let steps = sampling.stepCount
        return try sampling.sampleAncestral(model: model, shape: shape, clipStart: shape.count == 4, generator: &generator) { step in
            progress?(steps - step.index)
        }
    }
}

extension BinomialDiffusion: DiffusionProcess {
    /// `true`: binomial diffusion models binary data x ∈ {0, 1}ᴰ.
    public var diffusesBinaryData: Bool { true }

    /// `channels`: the network returns one logit of x₀ = 1 per dimension.
    public func modelOutputChannels(forDataChannels channels: Int) -> Int { channels }

    /// u ~ U[0, 1) of `shape`: the coin flips that draw xₜ ~ q(xₜ | x₀).
    public func trainingNoise(shape: [Int], dtype: DType, generator: inout PhiloxGenerator) -> Tensor {
        generator.uniform(shape: shape, dtype: dtype)
    }

    /// T · L_{t−1} in bits/dim per example, [B]; see ``trainingLoss(model:start:timesteps:uniformNoise:)``.
    ///
    /// - Parameters:
    ///   - model: the network, returning logits of x₀ = 1.
    ///   - start: x₀ ∈ {0, 1}, [B, …].
    ///   - timesteps: one 0-based index per example.
    ///   - noise: u ~ U[0, 1) of x₀'s shape.
    /// - Throws: ``DiffusionError/nonBinaryData(_:)`` unless x₀ is binary, or a shape or timestep error.
    public func trainingLoss(model: DiffusionModel, start: Tensor, timesteps: [Int], noise: Tensor) throws -> Tensor {
        try trainingLoss(model: model, start: start, timesteps: timesteps, uniformNoise: noise)
    }

    /// The whole binomial bound in bits/dim, per term; see
    /// ``variationalBound(model:start:generator:progress:)``. `clipStart` is ignored (x̂₀ is a
    /// probability already).
    ///
    /// - Parameters:
    ///   - model: the network.
    ///   - start: x₀ ∈ {0, 1}, [B, …].
    ///   - clipStart: ignored.
    ///   - generator: the source of each step's coin flips.
    ///   - progress: told the number of steps done.
    public func variationalBound(
        model: DiffusionModel, start: Tensor, clipStart: Bool, generator: inout some NoiseSource, progress: StepProgress?
    ) throws -> VariationalBound {
        try variationalBound(model: model, start: start, generator: &generator, progress: progress)
    }

    /// Ancestral samples over all T steps (binomial diffusion cannot skip steps; `maxSteps` is
    /// ignored), with the bits shown as −1 (0) and 1 (1).
    ///
    /// - Parameters:
    ///   - model: the network.
    ///   - shape: [B, …] of the samples.
    ///   - maxSteps: ignored.
    ///   - generator: the source of every coin flip.
    ///   - progress: told the number of steps done.
    public func samplesForDisplay(
        model: DiffusionModel, shape: [Int], maxSteps: Int, generator: inout some NoiseSource, progress: StepProgress?
    ) throws -> Tensor {
        let T = stepCount
        return 2.0 * (try sampleAncestral(model: model, shape: shape, generator: &generator) { step in progress?(T - step.index) }) - 1.0
    }
}
