// Dropout layer: active only in training mode, drawing its mask from the pass's random source.
import Tensors

/// Inverted dropout with probability `probability`; identity in evaluation mode.
public struct Dropout {
    public var probability: Double

    public init(probability: Double) { self.probability = probability }

    public func callAsFunction(_ x: Tensor, mode: ForwardMode) -> Tensor {
        switch mode {
        case .evaluation: x
        case .training(let source): dropout(x, probability: probability, generator: &source.generator)
        }
    }
}
