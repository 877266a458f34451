// Exponential moving average of the weights (DDPM: decay 0.9999; sampling uses the average).
import Tensors

/// θ̄ ← decay·θ̄ + (1 − decay)·θ after every optimiser step, by parameter name.
public final class ExponentialMovingAverage {
    public let decay: Double
    /// The averaged weights, by parameter name.
    public private(set) var averages: [String: Tensor]

    /// Starts the average at the module's current weights.
    public init(of module: Module, decay: Double = 0.9999) {
        precondition(decay >= 0 && decay <= 1, "ExponentialMovingAverage: decay must be in [0, 1], got \(decay)")
        self.decay = decay
        averages = Dictionary(uniqueKeysWithValues: module.namedParameters.map { ($0.name, $0.parameter.value.detached()) })
    }

    /// Folds the module's current weights into the average.
    public func update(from module: Module) {
        for (name, parameter) in module.namedParameters {
            var average = averages.removeValue(forKey: name)!  // taken out so it is updated in place
            movingAverageStep(&average, toward: parameter.value.detached(), decay: decay)
            averages[name] = average
        }
    }

    /// Replaces the averages (from a checkpoint).
    public func restore(_ averages: [String: Tensor]) {
        self.averages = averages
    }

    /// Writes the averaged weights into `module` (for sampling).
    public func copy(into module: Module) {
        for (name, parameter) in module.namedParameters {
            parameter.value = averages[name]!
        }
    }
}
