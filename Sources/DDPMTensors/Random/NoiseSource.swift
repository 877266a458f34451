// Where a sampler's random tensors come from: one generator for the whole batch, or one generator
// per example, so that an example's draws do not depend on which others share its batch.

/// A source of the random tensors that sampling and evaluation draw (x_T, each step's z, each
/// step's coin flips).
///
/// ``PhiloxGenerator`` draws a whole tensor from one stream, element after element.
/// ``ExampleNoise`` draws row b (axis 0) from the b-th example's own generator, so a sample is
/// the same whatever the batch size, however the examples are split over processes, and wherever a
/// run was stopped and resumed.
public protocol NoiseSource {
    /// Standard normal values N(0, I) of `shape`, rounded to `dtype` (Box–Muller in Float64).
    mutating func normal(shape: [Int], dtype: DType) -> Tensor

    /// Uniform values in [0, 1) of `shape`, rounded to `dtype`.
    mutating func uniform(shape: [Int], dtype: DType) -> Tensor
}

extension PhiloxGenerator: NoiseSource {
    /// ``Tensor/randomNormal(shape:dtype:generator:)`` from this generator.
    public mutating func normal(shape: [Int], dtype: DType) -> Tensor {
        Tensor.randomNormal(shape: shape, dtype: dtype, generator: &self)
    }

    /// ``Tensor/randomUniform(shape:dtype:generator:)`` from this generator.
    public mutating func uniform(shape: [Int], dtype: DType) -> Tensor {
        Tensor.randomUniform(shape: shape, dtype: dtype, generator: &self)
    }
}

/// One generator per example of a batch: row b of every tensor drawn (axis 0) comes from
/// `generators[b]` alone, in the order its draws are made.
///
/// ``init(seed:examples:)`` keys example i's generator by (seed, i), so the i-th sample of a run
/// draws the same numbers when it is drawn in a batch of 1 or of 64, by one process or by rank 3
/// of 8.
public struct ExampleNoise: NoiseSource, Sendable {
    /// The generator of each row.
    public var generators: [PhiloxGenerator]

    /// The rows' generators, one per example.
    public init(generators: [PhiloxGenerator]) {
        precondition(!generators.isEmpty, "ExampleNoise: no generators")
        self.generators = generators
    }

    /// The generators of examples `examples` (0-based indices into the whole run) under `seed`:
    /// example i's is `PhiloxGenerator(seed: seed, key: (Self.stream, i))`.
    public init(seed: UInt64, examples: Range<Int>) {
        precondition(examples.lowerBound >= 0 && !examples.isEmpty, "ExampleNoise: examples \(examples) must be non-empty and ≥ 0")
        self.init(generators: examples.map { PhiloxGenerator(seed: seed, key: (Self.stream, UInt64($0))) })
    }

    /// The first half of the key of every example's generator (never change it: it is part of what
    /// a seed reproduces).
    public static let stream: UInt64 = 0x5A4D_504C  // "SMPL"

    /// Row b drawn from `generators[b]` by ``Tensor/randomNormal(shape:dtype:generator:)``.
    public mutating func normal(shape: [Int], dtype: DType) -> Tensor {
        rows(shape: shape, dtype: dtype) { Tensor.randomNormal(shape: $0, dtype: dtype, generator: &$1) }
    }

    /// Row b drawn from `generators[b]` by ``Tensor/randomUniform(shape:dtype:generator:)``.
    public mutating func uniform(shape: [Int], dtype: DType) -> Tensor {
        rows(shape: shape, dtype: dtype) { Tensor.randomUniform(shape: $0, dtype: dtype, generator: &$1) }
    }

    private mutating func rows(shape: [Int], dtype: DType, _ draw: ([Int], inout PhiloxGenerator) -> Tensor) -> Tensor {
        precondition(
            shape.count >= 1 && shape[0] == generators.count,
            "ExampleNoise: \(generators.count) example generators cannot draw a tensor of shape \(shape)")
        let row = Array(shape.dropFirst())
        let parts = generators.indices.map { b in draw([1] + row, &generators[b]) }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 0)
    }
}
