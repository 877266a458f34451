// Random tensors (normal, uniform) and dropout, all drawing from an injected generator.
import Foundation

extension Tensor {
    /// Standard normal samples by the Box–Muller transform in Float64 (two per pair of draws).
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
    let keep = 1 - probability
    // The mask: 1/keep where the uniform draw (rounded to the dtype) is below keep, else 0.
    var mask = Tensor(uninitializedShape: input.shape, dtype: input.dtype)
    let count = mask.scalarCount
    func run<T: TensorScalar>(_: T.Type) {
        let scale = T(1 / keep)
        mask.withUnsafeMutableBufferPointer(as: T.self) { y in
            let y = y.baseAddress!
            generator.forEachDraw(count: count) { i, draw in
                y[i] = Double(T(PhiloxGenerator.uniform(draw))) < keep ? scale : 0
            }
        }
    }
    switch input.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    }
    return input * mask
}
