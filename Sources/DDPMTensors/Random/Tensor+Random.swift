// Random tensors (normal, uniform) and dropout, all drawing from an injected generator.
import Foundation

extension Tensor {
    /// Standard normal samples N(0, I) by the Box–Muller transform in Float64 (two per pair of
    /// uniform draws: r = √(−2 ln u₁), θ = 2πu₂, values r cos θ and r sin θ), rounded to `dtype`.
    ///
    /// Drawn one by one in order, so a shape of n elements uses 2⌈n/2⌉ draws of `generator`. The
    /// noise ε of DDPM's Algorithm 1 and the x_T of Algorithm 2 come from here.
    public static func randomNormal(shape: [Int], dtype: DType = .float32, generator: inout PhiloxGenerator) -> Tensor {
        let count = shape.reduce(1, *)
        var values = [Double](repeating: 0, count: count)
        var i = 0
        while i < count {
            let u1 = 1 - generator.nextUniform()  // (0, 1]
            let u2 = generator.nextUniform()
            let r = (-2 * Foundation.log(u1)).squareRoot()
            let theta = 2 * Double.pi * u2
            values[i] = r * Foundation.cos(theta)
            if i + 1 < count { values[i + 1] = r * Foundation.sin(theta) }
            i += 2
        }
        return Tensor(values, shape: shape, dtype: dtype)
    }

    /// Uniform samples in [0, 1): element i is the i-th `nextUniform()` of `generator`, rounded to
    /// `dtype` (drawn in parallel, the same values as drawing one by one).
    public static func randomUniform(shape: [Int], dtype: DType = .float32, generator: inout PhiloxGenerator) -> Tensor {
        randomMap(shape: shape, dtype: dtype, generator: &generator) { $0 }
    }

    /// Element i is f(u_i) with u_i the i-th uniform draw rounded to `dtype` and back to Double,
    /// rounded to `dtype` again (draws made in parallel; f must be a pure function).
    static func randomMap(shape: [Int], dtype: DType, generator: inout PhiloxGenerator, _ f: (Double) -> Double) -> Tensor {
        var out = Tensor(uninitializedShape: shape, dtype: dtype)
        let count = out.scalarCount
        func run<T: TensorScalar>(_: T.Type) {
            out.withUnsafeMutableBufferPointer(as: T.self) { y in
                let y = y.baseAddress!
                generator.forEachDraw(count: count) { i, draw in
                    y[i] = T(f(Double(T(PhiloxGenerator.uniform(draw)))))
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

/// Inverted dropout: each element is zeroed with probability `probability` and the survivors are
/// scaled by 1/(1 − probability), so the expectation is unchanged. The mask is drawn from
/// `generator`; with probability 0 the input is returned as is.
public func dropout(_ input: Tensor, probability: Double, generator: inout PhiloxGenerator) -> Tensor {
    precondition(probability >= 0 && probability < 1, "dropout: probability must be in [0, 1), got \(probability)")
    if probability == 0 { return input }
    var mask = Tensor(uninitializedShape: input.shape, dtype: input.dtype)
    fillDropoutMask(&mask, range: 0..<mask.scalarCount, keep: 1 - probability, generator: &generator)
    return masked(input, mask)
}

/// Inverted dropout whose mask for batch row b (axis 0) is drawn from `generators[b]` alone, so an
/// example's mask does not depend on which other examples share its batch (keyed randomness).
public func dropout(_ input: Tensor, probability: Double, rowGenerators generators: inout [PhiloxGenerator]) -> Tensor {
    precondition(probability >= 0 && probability < 1, "dropout: probability must be in [0, 1), got \(probability)")
    precondition(
        input.rank >= 1 && generators.count == input.shape[0],
        "dropout: \(generators.count) row generators for a batch of shape \(input.shape)")
    if probability == 0 { return input }
    var mask = Tensor(uninitializedShape: input.shape, dtype: input.dtype)
    let row = input.shape[0] == 0 ? 0 : mask.scalarCount / input.shape[0]
    for b in generators.indices {
        fillDropoutMask(&mask, range: (b * row)..<((b + 1) * row), keep: 1 - probability, generator: &generators[b])
    }
    return masked(input, mask)
}

/// input · mask, the mask (drawn row-major: the same draws whatever the layout) laid out as the
/// input; when the input can be recomputed (`Recomputation`), so can the product, from the mask
/// that the product keeps anyway.
private func masked(_ input: Tensor, _ mask: Tensor) -> Tensor {
    let mask = mask.inLayout(input.layout)
    var out = input * mask
    if let recipe = input.recomputation, out.node != nil {
        out.recomputation = Recomputation { recipe.values().binary(.multiply, mask, "dropout") }
    }
    return out
}

/// Writes 1/keep where the uniform draw (rounded to the dtype) is below `keep`, else 0, into
/// `mask[range]`, one draw per element in order.
private func fillDropoutMask(_ mask: inout Tensor, range: Range<Int>, keep: Double, generator: inout PhiloxGenerator) {
    func run<T: TensorScalar>(_: T.Type) {
        let scale = T(1 / keep)
        mask.withUnsafeMutableBufferPointer(as: T.self) { y in
            let y = y.baseAddress! + range.lowerBound
            generator.forEachDraw(count: range.count) { i, draw in
                y[i] = Double(T(PhiloxGenerator.uniform(draw))) < keep ? scale : 0
            }
        }
    }
    switch mask.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    }
}
