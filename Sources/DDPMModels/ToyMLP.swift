// A small MLP ε_θ(xₜ, t) for 2-D toy data (swiss roll, Gaussian mixtures).
import DDPMNeuralNetworks
import DDPMTensors

/// Architecture of the toy network.
public struct ToyMLPConfiguration: Codable, Equatable, Sendable {
    /// Dimension of a data point (2 for the swiss roll).
    public var dataDimension: Int
    /// Output dimension: dataDimension, or 2 × dataDimension for learned variance.
    public var outputDimension: Int
    /// Width of every hidden layer (and of the timestep MLP).
    public var hiddenWidth: Int
    /// Number of residual hidden layers h ← h + Linear(SiLU(h)).
    public var hiddenLayers: Int
    /// Dimension of the sinusoidal timestep embedding.
    public var embeddingDimension: Int

    /// A toy-network architecture; the defaults suit 2-D data such as the swiss roll.
    ///
    /// - Parameters:
    ///   - dataDimension: D of a data point.
    ///   - outputDimension: the output's dimension; nil for D (2D for learned variance).
    ///   - hiddenWidth: width of the hidden layers.
    ///   - hiddenLayers: number of residual hidden layers.
    ///   - embeddingDimension: dimension of the sinusoidal timestep embedding.
    public init(
        dataDimension: Int = 2, outputDimension: Int? = nil, hiddenWidth: Int = 128, hiddenLayers: Int = 3, embeddingDimension: Int = 32
    ) {
        self.dataDimension = dataDimension
        self.outputDimension = outputDimension ?? dataDimension
        self.hiddenWidth = hiddenWidth
        self.hiddenLayers = hiddenLayers
        self.embeddingDimension = embeddingDimension
    }
}

/// h₀ = W_in·xₜ + W_t·emb(t); then `hiddenLayers` times h ← h + Linear(SiLU(h)) (residual), and
/// the output Linear(SiLU(h)) (initialised at zero scale, as DDPM's output layers).
/// The timestep enters as DDPM's sinusoidal embedding followed by a Linear–SiLU–Linear map.
public final class ToyMLP: Module {
    /// The architecture this network was built with.
    public let configuration: ToyMLPConfiguration
    let embedding: SinusoidalEmbedding
    let timeIn: Linear
    let timeOut: Linear
    let input: Linear
    let hidden: [Linear]
    let output: Linear

    /// A freshly initialised network with the architecture `c`, its weights drawn from
    /// `generator`; the output layer starts near zero (DDPM's `init_scale` 0), so the untrained
    /// network predicts ε ≈ 0.
    public init(_ c: ToyMLPConfiguration, generator: inout PhiloxGenerator) {
        configuration = c
        embedding = SinusoidalEmbedding(dimension: c.embeddingDimension)
        timeIn = Linear(c.embeddingDimension, c.hiddenWidth, generator: &generator)
        timeOut = Linear(c.hiddenWidth, c.hiddenWidth, generator: &generator)
        input = Linear(c.dataDimension, c.hiddenWidth, generator: &generator)
        hidden = (0..<c.hiddenLayers).map { _ in Linear(c.hiddenWidth, c.hiddenWidth, generator: &generator) }
        output = Linear(c.hiddenWidth, c.outputDimension, initScale: 0, generator: &generator)
    }

    /// The parameters under the names of checkpoints: `time_in`, `time_out`, `input`,
    /// `hidden.{i}` and `output`, each with `.weight` and `.bias`.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        prefixed("time_in", timeIn) + prefixed("time_out", timeOut) + prefixed("input", input)
            + prefixed("hidden", hidden) + prefixed("output", output)
    }

    /// x: [N, dataDimension], one 0-based timestep per row → [N, outputDimension].
    public func callAsFunction(_ x: Tensor, timesteps: [Int]) -> Tensor {
        precondition(
            x.rank == 2 && x.shape[1] == configuration.dataDimension && timesteps.count == x.shape[0],
            "ToyMLP: input \(x.shape) must be [N, \(configuration.dataDimension)] with one timestep per row, got \(timesteps.count)")
        let temb = timeOut(timeIn(embedding(timesteps, dtype: x.dtype)).silu())
        var h = input(x) + temb
        for layer in hidden { h = h + layer(h.silu()) }
        return output(h.silu())
    }
}
