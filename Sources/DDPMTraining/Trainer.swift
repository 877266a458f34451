// One step of DDPM's Algorithm 1 for any diffusion process: keyed timesteps and noise, the loss,
// gradients, finite-loss and finite-norm checks before any update, clipping, Adam and the EMA.
import DDPMDatasets
import DDPMDiffusion
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors

/// The network, optimiser, EMA and timestep sampler of a run, and the step that trains them.
///
/// Algorithm 1, step s (0-based) with batch x₀ of B examples:
/// 1. tᵢ ~ Uniform{1…T} (or the loss-aware sampler, IDDPM §3.3) and εᵢ, each from example i's keyed
///    generators (`TrainingRandomness`); dropout masks likewise.
/// 2. L = (1/B) Σᵢ wᵢ Lᵢ with the process's per-example loss Lᵢ (L_simple, eq. 14, by default) and
///    importance weights wᵢ (1 for uniform t); ∇θ L by reverse-mode autodiff.
/// 3. If L or ‖∇θ L‖ is not finite, throw `TrainingError.diverged`: nothing has changed.
/// 4. Clip ∇θ L to the global norm, Adam update, EMA update, record the losses (loss-aware t).
///
/// `gradients(start:examples:)` and `apply(_:)` are the two halves of a step, so that workers can
/// each compute a part of the batch and combine the gradients before one update.
public final class Trainer {
    /// The run's settings, validated.
    public let configuration: TrainingConfiguration
    /// The diffusion process made from `configuration.process`.
    public let process: any DiffusionProcess
    /// The network being trained: f_θ(xₜ, t), initialised from the `initialization` stream.
    public let network: any DenoisingModel
    /// Adam with the run's learning rate, warm-up, β₁, β₂ and ε.
    public let optimizer: Adam
    /// The exponential moving average of the weights, updated after every Adam step.
    public let ema: ExponentialMovingAverage
    /// The run's keyed random streams.
    public let randomness: TrainingRandomness
    /// Steps completed.
    public internal(set) var step = 0
    /// The loss of the last step taken.
    public internal(set) var lastLoss: Double?
    /// The sampler of training timesteps: uniform, or loss-aware with its loss history.
    public internal(set) var timestepSampler: TimestepSampler

    /// A fresh run: the network initialised from the seed's `initialization` stream.
    public init(configuration: TrainingConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        randomness = TrainingRandomness(seed: configuration.seed)
        process = try configuration.process.makeProcess()
        var initialization = PhiloxGenerator(seed: randomness.seed(of: .initialization))
        network = configuration.model.makeModel(generator: &initialization)
        let o = configuration.optimizer
        optimizer = Adam(learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, warmupSteps: o.warmupSteps)
        ema = ExponentialMovingAverage(of: network, decay: configuration.ema.decay, warmup: configuration.ema.warmup)
        timestepSampler = try TimestepSampler(stepCount: process.stepCount, strategy: configuration.timestepSampling.strategy)
    }

    /// What a step did.
    public struct StepReport: Sendable {
        /// The step just completed (1-based).
        public var step: Int
        /// The batch loss L of the step (before the update).
        public var loss: Double
        /// ‖∇θ L‖ before clipping.
        public var gradientNorm: Double
        /// The learning rate Adam used for the step (after warm-up).
        public var learningRate: Double
    }

    /// The gradients of part of a step's batch.
    public struct Gradients {
        /// ∂L/∂θ of this part's share of the batch loss, in `network.namedParameters` order.
        public var values: [Tensor]
        /// Σᵢ wᵢ Lᵢ / B over this part's examples (the parts' values add up to the batch loss).
        public var loss: Double
        /// The examples' timesteps (0-based) and unweighted losses, for the loss-aware sampler.
        public var timesteps: [Int]
        /// The examples' unweighted per-example losses Lᵢ, in the order of `timesteps`.
        public var losses: [Double]

        /// Gradients of a share of a batch, or of a whole batch combined from its shares (the
        /// values and losses added up, the timesteps and per-example losses in example order).
        public init(values: [Tensor], loss: Double, timesteps: [Int], losses: [Double]) {
            self.values = values
            self.loss = loss
            self.timesteps = timesteps
            self.losses = losses
        }
    }

    /// Step `step`'s gradients for the examples `examples` of its batch (indices in 0..<batch size),
    /// whose x₀ is `start` ([examples.count, …]). Changes nothing.
    public func gradients(start: Tensor, examples: Range<Int>) throws -> Gradients {
        try gradients(start: start, examples: examples, whenReady: nil)
    }

    /// ``gradients(start:examples:)`` that hands each parameter's gradient (its index in
    /// `network.namedParameters`, the tensor) to `whenReady` as soon as the backward pass has
    /// finished it, so that a data-parallel step can send it while the rest is computed (see
    /// `DDPMTensors.gradients(of:withRespectTo:whenReady:)`).
    public func gradients(start: Tensor, examples: Range<Int>, whenReady: ((Int, Tensor) -> Void)?) throws -> Gradients {
        let batchSize = configuration.batchSize
        precondition(
            examples.lowerBound >= 0 && examples.upperBound <= batchSize && !examples.isEmpty,
            "Trainer.gradients: examples \(examples) outside the batch 0..<\(batchSize)")
        precondition(
            start.shape == [examples.count] + configuration.exampleShape,
            "Trainer.gradients: x₀ of shape \(start.shape) for \(examples.count) examples of shape \(configuration.exampleShape)")
        // 1. Keyed timesteps, noise and dropout.
        let (timesteps, weights, noise) = draws(examples: examples, dtype: start.dtype)
        let dropout = RandomSource(rows: examples.map { randomness.generator(.dropout, step: step, example: $0) })
        // 2. Loss and gradients.
        let network = network
        let leaves = network.prepareForGradients()
        defer { network.detachParameters() }
        let perExample = try process.trainingLoss(
            model: { network($0, timesteps: $1, mode: .training(dropout)) }, start: start, timesteps: timesteps, noise: noise)
        let weighted =
            weights.allSatisfy { $0 == 1 } ? perExample : perExample * Tensor(weights, shape: [weights.count], dtype: perExample.dtype)
        let loss = weighted.sum() * (1 / Double(batchSize))
        let values =
            whenReady.map { DDPMTensors.gradients(of: loss, withRespectTo: leaves, whenReady: $0) }
            ?? DDPMTensors.gradients(of: loss, withRespectTo: leaves)
        return Gradients(
            values: values, loss: loss.item, timesteps: timesteps,
            losses: perExample.detached().converted(to: .float64).doubles)
    }

    /// Step `step`'s timesteps (0-based), importance weights and noise ([examples.count, …]) for the
    /// examples `examples` of its batch, each from the example's own keyed generators.
    public func draws(examples: Range<Int>, dtype: DType = .float32) -> (timesteps: [Int], weights: [Double], noise: Tensor) {
        var timestepGenerators = examples.map { randomness.generator(.timestep, step: step, example: $0) }
        let (timesteps, weights) = timestepSampler.sample(generators: &timestepGenerators)
        let noise = Tensor.concatenate(
            examples.map { example in
                var generator = randomness.generator(.noise, step: step, example: example)
                return process.trainingNoise(shape: configuration.exampleShape, dtype: dtype, generator: &generator)
                    .reshaped([1] + configuration.exampleShape)
            }, axis: 0)
        return (timesteps, weights, noise)
    }

    /// Checks, clips and applies a whole batch's gradients: Adam, the EMA and the loss history.
    /// Throws `TrainingError.diverged` before changing anything if the loss or the norm is not finite.
    @discardableResult
    public func apply(_ gradients: Gradients) throws -> StepReport {
        // 3. Divergence checks.
        guard gradients.loss.isFinite else { throw TrainingError.diverged(step: step + 1, quantity: "loss", value: gradients.loss) }
        let (clipped, norm) = clipByGlobalNorm(gradients.values, maxNorm: configuration.gradientClipNorm ?? .infinity)
        guard norm.isFinite else { throw TrainingError.diverged(step: step + 1, quantity: "gradient norm", value: norm) }
        // 4. Updates.
        optimizer.update(network.namedParameters, gradients: clipped)
        ema.update(from: network)
        try timestepSampler.record(timesteps: gradients.timesteps, losses: gradients.losses)
        step += 1
        lastLoss = gradients.loss
        return StepReport(
            step: step, loss: gradients.loss, gradientNorm: norm, learningRate: optimizer.learningRate(atStep: optimizer.step))
    }

    /// One whole step of Algorithm 1 on the batch x₀ = `start` ([batch size, …]).
    @discardableResult
    public func train(on start: Tensor) throws -> StepReport {
        try apply(gradients(start: start, examples: 0..<configuration.batchSize))
    }

    /// The run's stream of training examples from `dataset` (`BatchSampler` keyed by the run's
    /// `dataOrder` stream, with the run's random flips).
    public func batchSampler(for dataset: Dataset) -> BatchSampler {
        BatchSampler(dataset: dataset, seed: randomness.seed(of: .dataOrder), randomFlips: configuration.randomFlips)
    }

    /// One whole step on the next batch of `sampler` (batch number `step`).
    @discardableResult
    public func train(from sampler: inout BatchSampler) throws -> StepReport {
        try train(on: sampler.batch(step: step, size: configuration.batchSize).data)
    }

    /// `count` samples from the EMA weights for a picture, scaled to [−1, 1] (images: ancestral
    /// sampling respaced to at most 100 steps; points and binomial diffusion: all T), from the
    /// run's `preview` stream: the same every time for the same weights.
    public func previewSamples(count: Int) throws -> Tensor {
        var unused = PhiloxGenerator(seed: 0)
        let model = configuration.model.makeModel(generator: &unused)
        ema.copy(into: model)
        var generator = PhiloxGenerator(seed: randomness.seed(of: .preview))
        let isImages = configuration.exampleShape.count == 3
        return try process.samplesForDisplay(
            model: { model($0, timesteps: $1, mode: .evaluation) }, shape: [count] + configuration.exampleShape,
            maxSteps: isImages ? 100 : process.stepCount, generator: &generator)
    }
}
