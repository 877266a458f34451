// The randomness of a run, keyed rather than drawn in sequence: every draw is a function of
// (seed, stream, step, example), so one example's draws do not depend on which others share its
// batch, how a batch is split across workers, or where a run was stopped and resumed.
import DDPMTensors

/// The keyed random streams of a training run.
///
/// | stream | keyed by | draws |
/// |---|---|---|
/// | `timestep` | (step, example) | the example's t |
/// | `noise` | (step, example) | the example's ε (or binomial coin-flip uniforms), in its shape |
/// | `dropout` | (step, example) | the example's dropout masks, layer after layer in forward order |
/// | `dataOrder` | (epoch) and (epoch, place) | each epoch's permutation and each example's flip (`BatchSampler`) |
/// | `initialization` | — | the network's initial weights |
/// | `preview` | — | the samples of the preview pictures |
///
/// `step` is the 0-based index of the step being taken and `example` the example's index in that
/// step's whole batch (0..<batch size), so a worker that computes examples 4..<8 draws exactly what
/// one process computing all 8 draws for them. Generated data (swiss roll, dead leaves) come from
/// the first `split()` of `PhiloxGenerator(seed:)`, as in runs written before keyed randomness.
public struct TrainingRandomness: Sendable {
    /// The independent streams of a run.
    public enum Stream: UInt64, Sendable {
        /// The streams, numbered 1…6 (the numbers are part of what a seed reproduces: never renumber them).
        case initialization = 1, dataOrder, timestep, noise, dropout, preview
    }

    /// The run's seed (run.json's `seed`).
    public let seed: UInt64
    /// Each stream's seed, derived once (indexed by `Stream.rawValue`).
    private let streamSeeds: [UInt64]

    /// The streams of a run seeded with `seed`; each stream's seed is the first draw of the generator
    /// keyed (stream, 0) under `seed`.
    public init(seed: UInt64) {
        self.seed = seed
        streamSeeds = (0...Stream.preview.rawValue).map { stream in
            var generator = PhiloxGenerator(seed: seed, key: (stream, 0))
            return generator.next()
        }
    }

    /// The seed of a whole stream.
    public func seed(of stream: Stream) -> UInt64 { streamSeeds[Int(stream.rawValue)] }

    /// The generator of `stream` for one example of one step.
    public func generator(_ stream: Stream, step: Int, example: Int) -> PhiloxGenerator {
        precondition(step >= 0 && example >= 0, "TrainingRandomness: step \(step) and example \(example) must be ≥ 0")
        return PhiloxGenerator(seed: seed(of: stream), key: (UInt64(step), UInt64(example)))
    }

    /// The generator of generated training data (the swiss roll's points, dead leaves' images).
    public var dataGenerator: PhiloxGenerator {
        var root = PhiloxGenerator(seed: seed)
        return root.split()
    }
}
