// Timestep sampling for training: uniform (DDPM Algorithm 1) or importance sampling by the
// running loss history (IDDPM §3.3, eq. 18).
import DDPMTensors

/// Draws training timesteps and the importance weights that keep the loss estimate unbiased.
public struct TimestepSampler: Sendable {
    /// How timesteps are drawn.
    public enum Strategy: Equatable, Sendable {
        /// t ~ Uniform{1…T} (DDPM Algorithm 1); every weight is 1.
        case uniform
        /// p_t ∝ √E[L_t²] over the last `historyLength` losses of each t (IDDPM eq. 18), mixed with
        /// `uniformProbability` of the uniform distribution so no t starves. Uniform until every t
        /// has a full history. IDDPM uses 10 and 0.001.
        case lossAware(historyLength: Int = 10, uniformProbability: Double = 0.001)
    }

    /// T, the number of timesteps drawn from.
    public let stepCount: Int
    /// Uniform or loss-aware.
    public let strategy: Strategy
    /// The last losses seen at each 0-based timestep (only for `.lossAware`).
    public private(set) var history: [[Double]]

    /// A sampler over the 0-based timesteps 0..<`stepCount` with an empty loss history.
    ///
    /// - Throws: ``DiffusionError/invalidStepCount(_:)`` if `stepCount` < 1. A loss-aware history
    ///   length below 1 or a uniform probability outside [0, 1] is a programmer error (precondition).
    public init(stepCount: Int, strategy: Strategy = .uniform) throws {
        guard stepCount >= 1 else { throw DiffusionError.invalidStepCount(stepCount) }
        if case .lossAware(let length, let p) = strategy {
            precondition(
                length >= 1 && p >= 0 && p <= 1,
                "TimestepSampler: history length \(length) must be ≥ 1 and uniform probability \(p) in [0, 1]")
        }
        self.stepCount = stepCount
        self.strategy = strategy
        self.history = Array(repeating: [], count: stepCount)
    }

    /// The probability of drawing each 0-based timestep.
    public var probabilities: [Double] {
        let uniform = [Double](repeating: 1 / Double(stepCount), count: stepCount)
        switch strategy {
        case .uniform:
            return uniform
        case .lossAware(let length, let uniformProbability):
            guard history.allSatisfy({ $0.count == length }) else { return uniform }
            let rms = history.map { h in (h.reduce(0) { $0 + $1 * $1 } / Double(h.count)).squareRoot() }
            let total = rms.reduce(0, +)
            guard total > 0, total.isFinite else { return uniform }
            return rms.map { $0 / total * (1 - uniformProbability) + uniformProbability / Double(stepCount) }
        }
    }

    /// `batchSize` 0-based timesteps and their importance weights 1/(T pₜ), so that
    /// mean(weight · loss) is an unbiased estimate of the uniform-t average.
    public func sample(batchSize: Int, generator: inout PhiloxGenerator) -> (timesteps: [Int], weights: [Double]) {
        switch strategy {
        case .uniform:
            let t = (0..<batchSize).map { _ in generator.nextInt(below: stepCount) }
            return (t, [Double](repeating: 1, count: batchSize))
        case .lossAware:
            let p = probabilities
            var cumulative = [Double]()
            cumulative.reserveCapacity(stepCount)
            var running = 0.0
            for value in p { running += value; cumulative.append(running) }
            let t = (0..<batchSize).map { _ -> Int in
                let u = generator.nextUniform() * running
                var lo = 0, hi = stepCount - 1  // first index with cumulative > u
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
                }
                return lo
            }
            return (t, t.map { 1 / (Double(stepCount) * p[$0]) })
        }
    }

    /// One timestep and its weight per generator, each drawn from its own generator alone (as
    /// `sample(batchSize: 1, generator:)`), so an example's timestep depends only on its generator.
    public func sample(generators: inout [PhiloxGenerator]) -> (timesteps: [Int], weights: [Double]) {
        var timesteps: [Int] = [], weights: [Double] = []
        for i in generators.indices {
            let (t, w) = sample(batchSize: 1, generator: &generators[i])
            timesteps += t
            weights += w
        }
        return (timesteps, weights)
    }

    /// Replaces the loss history (from a checkpoint): one list per 0-based timestep, each at most
    /// the strategy's history length, every loss finite.
    public mutating func restore(history: [[Double]]) throws {
        let length: Int
        switch strategy {
        case .uniform: length = 0
        case .lossAware(let historyLength, _): length = historyLength
        }
        guard history.isEmpty && length == 0 || history.count == stepCount,
            history.allSatisfy({ $0.count <= length && $0.allSatisfy(\.isFinite) })
        else {
            throw DiffusionError.invalidLossHistory(expectedSteps: stepCount, maximumLength: length)
        }
        self.history = history.isEmpty ? Array(repeating: [], count: stepCount) : history
    }

    /// Records the per-example losses of a batch (ignored for `.uniform`).
    public mutating func record(timesteps: [Int], losses: [Double]) throws {
        precondition(timesteps.count == losses.count, "TimestepSampler.record: \(timesteps.count) timesteps for \(losses.count) losses")
        guard case .lossAware(let length, _) = strategy else { return }
        for (t, loss) in zip(timesteps, losses) {
            guard (0..<stepCount).contains(t) else { throw DiffusionError.timestepOutOfRange(timestep: t, stepCount: stepCount) }
            history[t].append(loss)
            if history[t].count > length { history[t].removeFirst() }
        }
    }
}
