// Central-difference gradient checking in Float64, shared by the op tests.
import Testing
import DDPMTensors

/// Deterministic Float64 test inputs.
func testTensor(_ shape: [Int], seed: UInt64, range: ClosedRange<Double> = -1...1) -> Tensor {
    var g = PhiloxGenerator(seed: seed)
    let count = shape.reduce(1, *)
    let values = (0..<count).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * g.nextUniform() }
    return Tensor(values, shape: shape, dtype: .float64)
}

/// Checks the gradient of `f` at `inputs` against central differences.
///
/// The scalar checked is L = Σ f(x) ⊙ R for a fixed random R (so every output element matters with
/// a different weight). Step h = 1e-6; a component passes when |analytic − numeric| ≤ 1e-6 + 1e-5·|numeric|
/// (central differences in Float64 are accurate to about h² plus rounding ~1e-10/h).
func checkGradients(
    _ name: String, _ inputs: [Tensor], sourceLocation: SourceLocation = #_sourceLocation,
    _ f: ([Tensor]) -> Tensor
) {
    let probe = withoutGradients { f(inputs) }
    let weights = testTensor(probe.shape, seed: 99, range: 0.5...1.5)
    func loss(_ xs: [Tensor]) -> Tensor { (f(xs) * weights).sum() }

    let leaves = inputs.map { $0.requiringGradient() }
    let analytic = gradients(of: loss(leaves), withRespectTo: leaves)

    let h = 1e-6
    for (k, input) in inputs.enumerated() {
        let base = input.doubles
        let grad = analytic[k].doubles
        #expect(
            analytic[k].shape == input.shape, "\(name): gradient shape \(analytic[k].shape) ≠ input \(input.shape)",
            sourceLocation: sourceLocation)
        var worst = 0.0
        var worstIndex = -1
        var worstPair = (0.0, 0.0)
        for i in base.indices {
            var plus = base, minus = base
            plus[i] += h
            minus[i] -= h
            var xp = inputs, xm = inputs
            xp[k] = Tensor(plus, shape: input.shape, dtype: .float64)
            xm[k] = Tensor(minus, shape: input.shape, dtype: .float64)
            let numeric = withoutGradients { (loss(xp).item - loss(xm).item) / (2 * h) }
            let excess = Swift.abs(grad[i] - numeric) - (1e-6 + 1e-5 * Swift.abs(numeric))
            if excess > worst {
                worst = excess
                worstIndex = i
                worstPair = (grad[i], numeric)
            }
        }
        #expect(
            worstIndex < 0, "\(name): input \(k) \(input.shape), element \(worstIndex): analytic \(worstPair.0) vs numeric \(worstPair.1)",
            sourceLocation: sourceLocation)
    }
}
