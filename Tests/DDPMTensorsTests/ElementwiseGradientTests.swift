import Testing
import DDPMTensors

@Suite struct ElementwiseGradientTests {
    static let shape = [2, 3, 5]

    @Test func exp() { checkGradients("exp", [testTensor(Self.shape, seed: 1, range: -2...2)]) { $0[0].exp() } }
    @Test func log() { checkGradients("log", [testTensor(Self.shape, seed: 2, range: 0.2...3)]) { $0[0].log() } }
    @Test func sqrt() { checkGradients("sqrt", [testTensor(Self.shape, seed: 3, range: 0.2...3)]) { $0[0].sqrt() } }
    @Test func square() { checkGradients("square", [testTensor(Self.shape, seed: 4, range: -2...2)]) { $0[0].squared() } }
    @Test func tanh() { checkGradients("tanh", [testTensor(Self.shape, seed: 5, range: -3...3)]) { $0[0].tanh() } }
    @Test func sigmoid() { checkGradients("sigmoid", [testTensor(Self.shape, seed: 6, range: -4...4)]) { $0[0].sigmoid() } }
    @Test func silu() { checkGradients("silu", [testTensor(Self.shape, seed: 7, range: -4...4)]) { $0[0].silu() } }
    @Test func erf() { checkGradients("erf", [testTensor(Self.shape, seed: 8, range: -2...2)]) { $0[0].erf() } }
    @Test func negate() { checkGradients("negate", [testTensor(Self.shape, seed: 9)]) { -$0[0] } }

    @Test func abs() {
        // Inputs kept away from the kink at 0.
        let x = testTensor(Self.shape, seed: 10, range: 0.1...2) * testTensor(Self.shape, seed: 11).mapSign()
        checkGradients("abs", [x]) { $0[0].abs() }
    }

    @Test func clamp() {
        // Inputs kept away from the bounds ±0.5.
        let x = Tensor([-0.9, -0.7, -0.3, 0.0, 0.2, 0.4, 0.6, 0.8], shape: [8], dtype: .float64)
        checkGradients("clamp", [x]) { $0[0].clamped(min: -0.5, max: 0.5) }
        checkGradients("clamp min only", [x]) { $0[0].clamped(min: 0.1) }
    }

    @Test func forwardValues() {
        let x = Tensor([-1.0, 0, 0.5, 2], shape: [4], dtype: .float64)
        let s = x.sigmoid().doubles
        let expected = [-1.0, 0, 0.5, 2].map { 1 / (1 + Foundation.exp(-$0)) }
        for i in 0..<4 { #expect(Swift.abs(s[i] - expected[i]) < 1e-15, "sigmoid(\(x.doubles[i]))") }
        #expect(x.silu().doubles[1] == 0)
        #expect(x.clamped(min: 0, max: 1).doubles == [0, 0, 0.5, 1])
        #expect(x.greaterThan(0.25).doubles == [0, 0, 1, 1])
        #expect(x.lessThan(0.25).doubles == [1, 1, 0, 0])
        // Extreme inputs saturate instead of producing NaN.
        let big = Tensor([-1000.0, 1000], shape: [2], dtype: .float64)
        #expect(big.sigmoid().doubles == [0, 1])
        #expect(big.silu().doubles == [-0.0, 1000])
    }
}

import Foundation

extension Tensor {
    /// ±1 by the sign of each element (test helper).
    func mapSign() -> Tensor {
        Tensor(doubles.map { $0 < 0 ? -1.0 : 1.0 }, shape: shape, dtype: dtype)
    }
}
