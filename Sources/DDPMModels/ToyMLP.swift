// A small MLP ε_θ(xₜ, t) for 2-D toy data (swiss roll, Gaussian mixtures).
import DDPMNeuralNetworks
import DDPMTensors

/// Architecture of the toy network.
public struct ToyMLPConfiguration: Codable, Equatable, Sendable {
    /// Dimension of a data point (2 for the swiss roll).
    public var dataDimension: Int
    /// Output dimension: dataDimension, or 2 × dataDimension for learned variance.
    public var outputDimension: Int
    public var hiddenWidth: Int
    public var hiddenLayers: Int
    /// Dimension of the sinusoidal timestep embedding.
    public var embeddingDimension: Int

    public init(dataDimension: Int = 2, outputDimension: Int? = nil, hiddenWidth: Int = 128, hiddenLayers: Int = 3, embeddingDimension: Int = 32) {
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
    public let configuration: ToyMLPConfiguration
    let embedding: SinusoidalEmbedding
    let timeIn: Linear
    let timeOut: Linear
    let input: Linear
    let hidden: [Linear]
    let output: Linear

    public init(_ c: ToyMLPConfiguration, generator: inout PhiloxGenerator) {
        configuration = c
        embedding = SinusoidalEmbedding(dimension: c.embeddingDimension)
        timeIn = Linear(c.embeddingDimension, c.hiddenWidth, generator: &generator)
        timeOut = Linear(c.hiddenWidth, c.hiddenWidth, generator: &generator)
        input = Linear(c.dataDimension, c.hiddenWidth, generator: &generator)
        hidden = (0..<c.hiddenLayers).map { _ in Linear(c.hiddenWidth, c.hiddenWidth, generator: &generator) }
        output = Linear(c.hiddenWidth, c.outputDimension, initScale: 0, generator: &generator)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        prefixed("time_in", timeIn) + prefixed("time_out", timeOut) + prefixed("input", input)
            + prefixed("hidden", hidden) + prefixed("output", output)
    }

    /// x: [N, dataDimension], one 0-based timestep per row → [N, outputDimension].
    public func callAsFunction(_ x: Tensor, timesteps: [Int]) -> Tensor {
        precondition(x.rank == 2 && x.shape[1] == configuration.dataDimension && timesteps.count == x.shape[0],
                     "ToyMLP: input \(x.shape) must be [N, \(configuration.dataDimension)] with one timestep per row, got \(timesteps.count)")
        let temb = timeOut(timeIn(embedding(timesteps, dtype: x.dtype)).silu())
        var h = input(x) + temb
        for layer in hidden { h = h + layer(h.silu()) }
        return output(h.silu())
    }
}
