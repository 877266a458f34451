// The network interface the diffusion code needs, and the choice of architecture.
import DDPMNeuralNetworks
import DDPMTensors

/// A network f_θ(xₜ, t) with named parameters: the U-Net for images, the MLP for 2-D points.
/// `timesteps` are 0-based indices (index i is the paper's t = i + 1), one per batch row.
public protocol DenoisingModel: Module {
    func callAsFunction(_ x: Tensor, timesteps: [Int], mode: ForwardMode) -> Tensor
    /// FLOPs of one forward pass on `batch` inputs.
    func forwardFLOPs(batch: Int) -> Double
}

extension UNet: DenoisingModel {
    public func forwardFLOPs(batch: Int) -> Double { configuration.forwardFLOPs(batch: batch) }
}

extension ToyMLP: DenoisingModel {
    public func callAsFunction(_ x: Tensor, timesteps: [Int], mode: ForwardMode) -> Tensor {
        self(x, timesteps: timesteps)
    }

    public func forwardFLOPs(batch: Int) -> Double { configuration.forwardFLOPs(batch: batch) }
}

/// Which network, with its full configuration (stored in checkpoints).
public enum ModelSpec: Codable, Equatable, Sendable {
    case unet(UNetConfiguration)
    case toy(ToyMLPConfiguration)

    /// A freshly initialised network.
    public func makeModel(generator: inout PhiloxGenerator) -> any DenoisingModel {
        switch self {
        case .unet(let c): UNet(c, generator: &generator)
        case .toy(let c): ToyMLP(c, generator: &generator)
        }
    }

    /// Shape of one data example: [C, H, W] for images, [D] for points.
    public var exampleShape: [Int] {
        switch self {
        case .unet(let c): [c.inChannels, c.sampleSize, c.sampleSize]
        case .toy(let c): [c.dataDimension]
        }
    }

    /// Channels (images) or dimensions (points) of the network's output.
    public var outputChannels: Int {
        switch self {
        case .unet(let c): c.outChannels
        case .toy(let c): c.outputDimension
        }
    }
}
