// Dropout layer: active only in training mode, drawing each example's mask from its own generator.
import DDPMTensors

/// Inverted dropout with probability `probability`; identity in evaluation mode.
///
/// In training each element is zeroed with probability p and the survivors scaled by 1/(1 − p),
/// so the expectation is unchanged; example b's mask comes from its own generator
/// (``RandomSource``), so it does not depend on the rest of the batch. DDPM uses p = 0.1 on
/// CIFAR-10. The layer has no parameters.
public struct Dropout {
    /// p, the probability of zeroing an element, in [0, 1); 0 makes the layer the identity.
    public var probability: Double

    /// A dropout layer with drop probability `probability`.
    public init(probability: Double) { self.probability = probability }

    /// `x` itself in ``ForwardMode/evaluation``; in ``ForwardMode/training(_:)``, `x` times a
    /// fresh mask of 0 and 1/(1 − p), row b drawn from the source's `generators[b]` (axis 0 of `x`
    /// is the batch).
    public func callAsFunction(_ x: Tensor, mode: ForwardMode) -> Tensor {
        switch mode {
        case .evaluation: x
        case .training(let source): dropout(x, probability: probability, rowGenerators: &source.generators)
        }
    }
}
