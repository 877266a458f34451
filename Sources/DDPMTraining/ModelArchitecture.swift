// The named networks a run can train, and the full configuration each gives for a data shape.
import DDPMModels

/// A named network (`ddpm train --model`).
public enum ModelArchitecture: String, CaseIterable, Codable, Sendable {
    /// The toy MLP for 2-D points.
    case toy
    /// The U-Net preset for Fashion-MNIST (ch 64, multipliers 1, 2, 2, attention at 14×14).
    case fashion
    /// DDPM's CIFAR-10 U-Net (35.7M parameters).
    case cifar10
    /// A small U-Net for any square image size, for quick checks: ch 16, multipliers (1, 2), one
    /// residual block per level, no attention, 8 groups, no dropout.
    case tiny
    /// A U-Net read from a diffusers `UNet2DModel` config.json (`ddpm train --model-config`); the
    /// run's ``TrainingConfiguration/model`` holds it. It has no specification of its own.
    case custom

    /// The default for examples of `shape`: toy for points, fashion for 1×28×28, cifar10 for
    /// 3×32×32; nil otherwise.
    public static func defaultFor(exampleShape shape: [Int]) -> ModelArchitecture? {
        if shape.count == 1 { return .toy }
        if shape == [1, 28, 28] { return .fashion }
        if shape == [3, 32, 32] { return .cifar10 }
        return nil
    }

    /// The network for examples of `shape` ([D] or [C, H, W]) returning `outputChannels` channels.
    public func specification(exampleShape shape: [Int], outputChannels: Int) throws -> ModelSpec {
        switch self {
        case .toy:
            guard shape.count == 1 else {
                throw TrainingError.dataMismatch("model toy needs 2-D points, but the data are images \(shape).")
            }
            return .toy(ToyMLPConfiguration(dataDimension: shape[0], outputDimension: outputChannels))
        case .custom:
            throw TrainingError.dataMismatch("model custom is a U-Net given by a diffusers config.json (ddpm train --model-config FILE).")
        case .fashion, .cifar10, .tiny:
            guard shape.count == 3, shape[1] == shape[2] else {
                throw TrainingError.dataMismatch("model \(rawValue) needs square images, but the data have shape \(shape).")
            }
            var c = self == .tiny ? Self.tinyUNet : UNetConfiguration.presets[rawValue]!
            let levels = c.blockOutChannels.count
            guard shape[1] % (1 << (levels - 1)) == 0 else {
                throw TrainingError.dataMismatch("model \(rawValue): image size \(shape[1]) must be divisible by \(1 << (levels - 1)).")
            }
            c.sampleSize = shape[1]
            c.inChannels = shape[0]
            c.outChannels = outputChannels
            return .unet(c)
        }
    }

    static let tinyUNet: UNetConfiguration = {
        var c = UNetConfiguration(
            ddpmResolution: 28, inChannels: 1, channels: 16, multipliers: [1, 2], residualBlocks: 1,
            attentionResolutions: [], dropout: 0, groups: 8)
        c.midBlockAttention = false
        return c
    }()
}
