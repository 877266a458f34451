// Exponential moving average of the weights (DDPM: decay 0.9999; sampling uses the average), with
// an optional warm-up of the decay.
import DDPMTensors

/// θ̄ ← dₙ·θ̄ + (1 − dₙ)·θ after every optimiser step, by parameter name.
///
/// dₙ = `decay`, or with `warmup` dₙ = min(decay, (1 + n)/(10 + n)) at update n = 0, 1, 2, … (as
/// TensorFlow's `ExponentialMovingAverage` with `num_updates`): the average forgets the initial
/// weights within the first few hundred updates instead of the 1/(1 − decay) a constant decay needs.
/// `initialWeight` = ∏ dₙ is the weight the average still gives the weights it started from.
public final class ExponentialMovingAverage {
    /// The decay d in [0, 1] (DDPM: 0.9999); with ``warmup``, the most the decay reaches.
    public let decay: Double
    /// Whether the decay warms up as (1 + n)/(10 + n).
    public let warmup: Bool
    /// The averaged weights, by parameter name.
    public private(set) var averages: [String: Tensor]
    /// Updates folded in so far.
    public private(set) var updates: Int = 0
    /// ∏ dₙ over the updates so far: the share of the average that is still the initial weights.
    public private(set) var initialWeight: Double = 1

    /// Starts the average at the module's current weights.
    public init(of module: Module, decay: Double = 0.9999, warmup: Bool = false) {
        precondition(decay >= 0 && decay <= 1, "ExponentialMovingAverage: decay must be in [0, 1], got \(decay)")
        self.decay = decay
        self.warmup = warmup
        averages = Dictionary(uniqueKeysWithValues: module.namedParameters.map { ($0.name, $0.parameter.value.detached()) })
    }

    /// dₙ, the decay of update n (0-based).
    public func decay(atUpdate n: Int) -> Double {
        warmup ? min(decay, Double(1 + n) / Double(10 + n)) : decay
    }

    /// Folds the module's current weights into the average.
    public func update(from module: Module) {
        let d = decay(atUpdate: updates)
        for (name, parameter) in module.namedParameters {
            var average = averages.removeValue(forKey: name)!  // taken out so it is updated in place
            movingAverageStep(&average, toward: parameter.value.detached(), decay: d)
            averages[name] = average
        }
        updates += 1
        initialWeight *= d
    }

    /// Replaces the averages and the update count (from a checkpoint); `initialWeight` is recomputed
    /// from the decays of `updates` updates.
    public func restore(_ averages: [String: Tensor], updates: Int) {
        precondition(updates >= 0, "ExponentialMovingAverage.restore: negative update count \(updates)")
        self.averages = averages
        self.updates = updates
        initialWeight = (0..<updates).reduce(1.0) { $0 * decay(atUpdate: $1) }
    }

    /// Writes the averaged weights into `module` (for sampling).
    public func copy(into module: Module) {
        for (name, parameter) in module.namedParameters {
            parameter.value = averages[name]!
        }
    }
}
