// Sinusoidal timestep embedding (Transformer positional encoding, DDPM §4 / diffusers get_timestep_embedding).
import Foundation
import DDPMTensors

/// The sinusoidal timestep embedding of DDPM's U-Net (the Transformer's positional encoding,
/// DDPM §4) and how it is laid out (diffusers `flip_sin_to_cos`, `freq_shift`).
///
/// Timesteps are the network's 0-based indices (t = 0…T−1 for the paper's t = 1…T), as in the
/// official code and diffusers. The embedding has no parameters; the U-Net feeds it through two
/// linear layers.
public struct SinusoidalEmbedding: Sendable, Equatable {
    /// The width of the embedding (DDPM: the U-Net's base channel count).
    public var dimension: Int
    /// [cos, sin] instead of [sin, cos].
    public var flipSinToCos: Bool
    /// Frequencies exp(−ln(maxPeriod)·i/(half − shift)); DDPM's code is shift 1.
    public var frequencyShift: Double
    /// The longest period, 10,000 as in the Transformer.
    public var maxPeriod: Double

    /// An embedding of width `dimension`; the defaults are DDPM's layout ([sin, cos], shift 1).
    public init(dimension: Int, flipSinToCos: Bool = false, frequencyShift: Double = 1, maxPeriod: Double = 10_000) {
        self.dimension = dimension
        self.flipSinToCos = flipSinToCos
        self.frequencyShift = frequencyShift
        self.maxPeriod = maxPeriod
    }

    /// The embedding of each timestep: [B, dimension], computed in Float64 and cast to `dtype`.
    /// half = dimension/2, ωᵢ = exp(−ln(maxPeriod)·i/(half − shift)), e = [sin(tωᵢ), cos(tωᵢ)]
    /// (odd dimensions get a trailing zero).
    public func callAsFunction(_ timesteps: [Int], dtype: DType = .float32) -> Tensor {
        let half = dimension / 2
        var values = [Double](repeating: 0, count: timesteps.count * dimension)
        for (b, t) in timesteps.enumerated() {
            for i in 0..<half {
                let frequency = Foundation.exp(-Foundation.log(maxPeriod) * Double(i) / (Double(half) - frequencyShift))
                let angle = Double(t) * frequency
                let (first, second) =
                    flipSinToCos ? (Foundation.cos(angle), Foundation.sin(angle)) : (Foundation.sin(angle), Foundation.cos(angle))
                values[b * dimension + i] = first
                values[b * dimension + half + i] = second
            }
        }
        return Tensor(values, shape: [timesteps.count, dimension], dtype: dtype)
    }
}
