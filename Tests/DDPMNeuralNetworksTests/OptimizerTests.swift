// The one-pass Adam and moving-average updates against the tensor-op formulas they replace.
import Foundation
import DDPMNeuralNetworks
import Testing
import DDPMTensors

@Suite struct OptimizerTests {
    /// Uniform values in [-1, 1), deterministic.
    func values(_ count: Int, seed: UInt64) -> [Double] {
        var g = PhiloxGenerator(seed: seed)
        return (0..<count).map { _ in 2 * g.nextUniform() - 1 }
    }

    final class Two: Module {
        let a: Parameter, b: Parameter
        init(_ a: Tensor, _ b: Tensor) { (self.a, self.b) = (Parameter(a), Parameter(b)) }
        var namedParameters: [(name: String, parameter: Parameter)] { [("a", a), ("b", b)] }
    }

    /// Sizes cover the vector body, the scalar tail and more than one thread's chunk.
    @Test(arguments: [DType.float32, .float64])
    func adamMatchesTensorOpFormula(_ dtype: DType) {
        let shapes = [[3, 7], [200_003]]
        let model = Two(
            Tensor(values(21, seed: 1), shape: shapes[0], dtype: dtype),
            Tensor(values(200_003, seed: 2), shape: shapes[1], dtype: dtype))
        let adam = Adam(learningRate: 1e-2, warmupSteps: 2)
        var theta = model.parameters.map(\.value)
        var m = theta.map { Tensor(zeros: $0.shape, dtype: dtype) }
        var v = m
        for step in 1...3 {
            let grads = shapes.enumerated().map {
                Tensor(values($0.element.reduce(1, *), seed: UInt64(10 * step + $0.offset)), shape: $0.element, dtype: dtype)
            }
            adam.update(model.namedParameters, gradients: grads)
            // The formula as tensor ops (the implementation before the one-pass kernel).
            let lr = adam.learningRate(atStep: step)
            let c1 = 1 - Foundation.pow(adam.beta1, Double(step)), c2 = 1 - Foundation.pow(adam.beta2, Double(step))
            for k in theta.indices {
                m[k] = m[k] * adam.beta1 + grads[k] * (1 - adam.beta1)
                v[k] = v[k] * adam.beta2 + grads[k].squared() * (1 - adam.beta2)
                theta[k] = theta[k] - ((m[k] * (1 / c1)) / ((v[k] * (1 / c2)).sqrt() + adam.epsilon)) * lr
            }
            for (k, name) in ["a", "b"].enumerated() {
                #expect(model.parameters[k].value.doubles == theta[k].doubles, "step \(step) \(name) \(dtype): parameters differ")
                #expect(adam.firstMoments[name]!.doubles == m[k].doubles, "step \(step) \(name) \(dtype): first moments differ")
                #expect(adam.secondMoments[name]!.doubles == v[k].doubles, "step \(step) \(name) \(dtype): second moments differ")
            }
        }
    }

    @Test func adamLeavesOtherHoldersOfTheOldValuesUnchanged() {
        let model = Two(Tensor(values(40, seed: 3), shape: [40], dtype: .float32), Tensor(values(3, seed: 4), shape: [3], dtype: .float32))
        let before = model.a.value
        let copy = before.doubles
        Adam().update(model.namedParameters, gradients: [Tensor(repeating: 1, shape: [40]), Tensor(repeating: 1, shape: [3])])
        #expect(before.doubles == copy)
        #expect(model.a.value.doubles != copy)
    }

    @Test(arguments: [DType.float32, .float64])
    func movingAverageMatchesTensorOpFormula(_ dtype: DType) {
        let model = Two(
            Tensor(values(21, seed: 5), shape: [21], dtype: dtype), Tensor(values(70_001, seed: 6), shape: [70_001], dtype: dtype))
        let ema = ExponentialMovingAverage(of: model, decay: 0.9)
        var expected = ["a": model.a.value, "b": model.b.value]
        model.a.value = Tensor(values(21, seed: 7), shape: [21], dtype: dtype)
        model.b.value = Tensor(values(70_001, seed: 8), shape: [70_001], dtype: dtype)
        let heldAverage = ema.averages["a"]!
        let held = heldAverage.doubles
        ema.update(from: model)
        expected["a"] = expected["a"]! * 0.9 + model.a.value * (1 - 0.9)
        expected["b"] = expected["b"]! * 0.9 + model.b.value * (1 - 0.9)
        for name in ["a", "b"] { #expect(ema.averages[name]!.doubles == expected[name]!.doubles, "\(name) \(dtype)") }
        #expect(heldAverage.doubles == held)
    }
}
