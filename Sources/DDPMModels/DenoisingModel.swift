// The network interface the diffusion code needs, and the choice of architecture.
import DDPMNeuralNetworks
import DDPMTensors

/// A network f_θ(xₜ, t) with named parameters: the U-Net for images, the MLP for 2-D points.
/// `timesteps` are 0-based indices (index i is the paper's t = i + 1), one per batch row.
public protocol DenoisingModel: Module {
    /// f_θ(xₜ, t): x is [N, C, H, W] (U-Net) or [N, D] (MLP), one 0-based timestep per row; the
    /// output has x's batch and spatial shape with the configured output channels.
    ///
    /// - Parameters:
    ///   - x: xₜ, a batch of noisy inputs.
    ///   - timesteps: one 0-based index per row (t = index + 1).
    ///   - mode: `.training` applies dropout, `.evaluation` does not.
    func callAsFunction(_ x: Tensor, timesteps: [Int], mode: ForwardMode) -> Tensor
    /// FLOPs of one forward pass on `batch` inputs.
    func forwardFLOPs(batch: Int) -> Double
}

extension UNet: DenoisingModel {
    /// FLOPs of one forward pass on `batch` images (see ``UNetConfiguration/forwardFLOPs(batch:)``).
    public func forwardFLOPs(batch: Int) -> Double { configuration.forwardFLOPs(batch: batch) }
}

extension ToyMLP: DenoisingModel {
    /// ε_θ(xₜ, t) for points [N, dataDimension] → [N, outputDimension]; the MLP has no dropout, so
    /// `mode` is ignored.
    ///
    /// - Parameters:
    ///   - x: xₜ, [N, dataDimension].
    ///   - timesteps: one 0-based index per row (t = index + 1).
    ///   - mode: ignored.
    public func callAsFunction(_ x: Tensor, timesteps: [Int], mode: ForwardMode) -> Tensor {
        self(x, timesteps: timesteps)
    }

    /// FLOPs of one forward pass on `batch` points (see ``ToyMLPConfiguration/forwardFLOPs(batch:)``).
    public func forwardFLOPs(batch: Int) -> Double { configuration.forwardFLOPs(batch: batch) }
}

/// Which network, with its full configuration (stored in checkpoints).
public enum ModelSpec: Codable, Equatable, Sendable {
    /// DDPM's U-Net, for images [C, H, W].
    case unet(UNetConfiguration)
    /// The toy MLP, for points [D].
    case toy(ToyMLPConfiguration)

    /// A freshly initialised network, its parameters drawn from `generator` (DDPM's
    /// initialisation for the U-Net).
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
