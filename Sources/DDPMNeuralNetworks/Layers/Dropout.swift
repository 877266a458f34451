// Dropout layer: active only in training mode, drawing each example's mask from its own generator.
import DDPMTensors

/// Inverted dropout with probability `probability`; identity in evaluation mode.
public struct Dropout {
    public var probability: Double

    public init(probability: Double) { self.probability = probability }

    public func callAsFunction(_ x: Tensor, mode: ForwardMode) -> Tensor {
        switch mode {
        case .evaluation: x
        case .training(let source): dropout(x, probability: probability, rowGenerators: &source.generators)
        }
    }
}
