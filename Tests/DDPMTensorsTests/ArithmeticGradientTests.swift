import Testing
import DDPMTensors

/// Pairs of shapes that cover the broadcasting patterns: equal, trailing vector, outer product,
/// rank mismatch, scalar, middle extent 1, and zero-sized.
let broadcastCases: [([Int], [Int])] = [
    ([3, 4], [3, 4]), ([3, 4], [4]), ([3, 1], [1, 4]), ([2, 3, 4], [3, 1]),
    ([], [2, 3]), ([2, 1, 4], [1, 3, 1]), ([2, 3, 4, 5], [1, 3, 1, 1]), ([4], [1]),
]

@Suite struct ArithmeticGradientTests {
    @Test(arguments: broadcastCases)
    func add(_ a: [Int], _ b: [Int]) {
        checkGradients("add \(a) \(b)", [testTensor(a, seed: 1), testTensor(b, seed: 2)]) { $0[0] + $0[1] }
    }

    @Test(arguments: broadcastCases)
    func subtract(_ a: [Int], _ b: [Int]) {
        checkGradients("subtract \(a) \(b)", [testTensor(a, seed: 3), testTensor(b, seed: 4)]) { $0[0] - $0[1] }
    }

    @Test(arguments: broadcastCases)
    func multiply(_ a: [Int], _ b: [Int]) {
        checkGradients("multiply \(a) \(b)", [testTensor(a, seed: 5), testTensor(b, seed: 6)]) { $0[0] * $0[1] }
    }

    @Test(arguments: broadcastCases)
    func divide(_ a: [Int], _ b: [Int]) {
        checkGradients("divide \(a) \(b)", [testTensor(a, seed: 7), testTensor(b, seed: 8, range: 0.5...2)]) { $0[0] / $0[1] }
    }

    @Test func scalarForms() {
        checkGradients("scalar forms", [testTensor([2, 3], seed: 9, range: 0.5...2)]) { x in
            let y = 3.0 * x[0] + 2.0 - x[0] / 4.0
            return (1.0 - y) * 0.5 + (-x[0]) + 1.0 / x[0]
        }
    }

    @Test func reusedValueAccumulates() {
        // x is used three times: d/dx (x·x + x) = 2x + 1.
        checkGradients("reuse", [testTensor([5], seed: 10)]) { x in x[0] * x[0] + x[0] }
    }

    @Test func exactIntegerGradient() {
        let x = Tensor([1.0, 2, 3], shape: [3]).requiringGradient()
        let y = Tensor([4.0, 5, 6], shape: [3]).requiringGradient()
        let loss = (x * y + x * x).sum()
        let g = gradients(of: loss, withRespectTo: [x, y])
        #expect(loss.item == 4 + 10 + 18 + 1 + 4 + 9)
        #expect(g[0].doubles == [6, 9, 12])  // y + 2x
        #expect(g[1].doubles == [1, 2, 3])  // x
    }

    @Test func forwardValuesBroadcast() {
        let a = Tensor([1.0, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor([10.0, 20, 30], shape: [3])
        let c = Tensor([100.0, 200], shape: [2, 1])
        #expect((a + b).doubles == [11, 22, 33, 14, 25, 36])
        #expect((a * c).doubles == [100, 200, 300, 800, 1000, 1200])
        #expect((c - b).shape == [2, 3])
        #expect((c - b).doubles == [90, 80, 70, 190, 180, 170])
    }

    @Test func zeroSizedDimensions() {
        let a = Tensor(zeros: [0, 3], dtype: .float64).requiringGradient()
        let b = Tensor(zeros: [3], dtype: .float64).requiringGradient()
        let y = ((a + b).exp() * 2.0).sum()
        #expect(y.item == 0)
        let g = gradients(of: y, withRespectTo: [a, b])
        #expect(g[0].shape == [0, 3] && g[1].doubles == [0, 0, 0])
    }
}
