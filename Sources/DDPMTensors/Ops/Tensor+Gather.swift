// Per-timestep coefficients: gather from a table, shaped to broadcast over a batch.

extension Tensor {
    /// `table[indices[b]]` for each batch element b, shaped [B, 1, …, 1] with `rank` dimensions so
    /// it broadcasts against a [B, …] batch (the `extract` of DDPM's code). `self` is a rank-1 table.
    ///
    /// A diffusion process stores each coefficient (√ᾱₜ, √(1 − ᾱₜ), …) as a table over t and
    /// gathers one entry per example's timestep. The derivative scatters g back into the table,
    /// summing entries whose index repeats. Indices out of range are a precondition.
    public func gathering(indices: [Int], broadcastingTo rank: Int) -> Tensor {
        precondition(self.rank == 1, "gathering: table must be rank 1, got shape \(shape)")
        precondition(rank >= 1, "gathering: target rank must be ≥ 1, got \(rank)")
        let size = shape[0]
        for i in indices {
            precondition(i >= 0 && i < size, "gathering: index \(i) out of range for table of \(size) entries")
        }
        var out = Tensor(uninitializedShape: [indices.count], dtype: dtype)
        func run<T: TensorScalar>(_: T.Type) {
            withUnsafeBufferPointer(as: T.self) { table in
                out.withUnsafeMutableBufferPointer(as: T.self) { y in
                    for (b, i) in indices.enumerated() { y[b] = table[i] }
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        out.record(.gather(indices: indices, tableSize: size), inputs: [self])
        return out.reshaped([indices.count] + [Int](repeating: 1, count: rank - 1))
    }

    /// Adjoint of gathering: `self` ([B]) scattered and summed into a table of `size` entries.
    func scatteredSum(indices: [Int], size: Int) -> Tensor {
        var out = Tensor(zeros: [size], dtype: dtype)
        func run<T: TensorScalar>(_: T.Type) {
            withUnsafeBufferPointer(as: T.self) { g in
                out.withUnsafeMutableBufferPointer(as: T.self) { table in
                    for (b, i) in indices.enumerated() { table[i] += g[b] }
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        return out
    }
}
