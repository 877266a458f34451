import Testing
import DDPMTensors

/// Convolution cases: (input NCHW, weight OIHW, stride, padding, bias).
struct ConvCase: CustomStringConvertible, Sendable {
    var input: [Int], weight: [Int], stride: (Int, Int), padding: Padding2D, bias: Bool
    var description: String { "conv input \(input) weight \(weight) stride \(stride) padding \(padding) bias \(bias)" }
}

let convCases: [ConvCase] = [
    ConvCase(input: [1, 1, 4, 4], weight: [1, 1, 3, 3], stride: (1, 1), padding: Padding2D(1), bias: false),
    ConvCase(input: [2, 2, 5, 4], weight: [3, 2, 3, 3], stride: (1, 1), padding: Padding2D(1), bias: true),
    ConvCase(
        input: [2, 3, 5, 5], weight: [2, 3, 3, 3], stride: (2, 2), padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1), bias: true),
    ConvCase(input: [1, 2, 6, 5], weight: [2, 2, 1, 1], stride: (1, 1), padding: .zero, bias: true),
    ConvCase(
        input: [1, 2, 5, 6], weight: [1, 2, 2, 3], stride: (2, 1), padding: Padding2D(top: 1, bottom: 0, left: 2, right: 1), bias: false),
    ConvCase(input: [2, 1, 3, 3], weight: [2, 1, 3, 3], stride: (1, 1), padding: .zero, bias: true),
]

@Suite struct LayerGradientTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matmul2D(_ tA: Bool, _ tB: Bool) {
        let a = testTensor(tA ? [4, 3] : [3, 4], seed: 1)
        let b = testTensor(tB ? [5, 4] : [4, 5], seed: 2)
        checkGradients("matmul tA \(tA) tB \(tB)", [a, b]) { matmul($0[0], $0[1], transposeA: tA, transposeB: tB) }
    }

    @Test(arguments: [(false, false), (true, true)])
    func matmulBatched(_ tA: Bool, _ tB: Bool) {
        let a = testTensor(tA ? [2, 3, 4, 2] : [2, 3, 2, 4], seed: 3)
        let b = testTensor(tB ? [2, 3, 3, 4] : [2, 3, 4, 3], seed: 4)
        checkGradients("batched matmul tA \(tA) tB \(tB)", [a, b]) { matmul($0[0], $0[1], transposeA: tA, transposeB: tB) }
        checkGradients("shared rhs", [testTensor([2, 3, 4], seed: 5), testTensor([4, 2], seed: 6)]) { matmul($0[0], $0[1]) }
    }

    @Test func matmulExactIntegers() {
        let a = Tensor([1.0, 2, 3, 4], shape: [2, 2])
        let b = Tensor([5.0, 6, 7, 8], shape: [2, 2])
        #expect(matmul(a, b).doubles == [19, 22, 43, 50])
        #expect(matmul(a, b, transposeA: true).doubles == [26, 30, 38, 44])
        #expect(matmul(a, b, transposeB: true).doubles == [17, 23, 39, 53])
    }

    @Test(arguments: convCases)
    func conv(_ c: ConvCase) {
        var inputs = [testTensor(c.input, seed: 7), testTensor(c.weight, seed: 8)]
        if c.bias { inputs.append(testTensor([c.weight[0]], seed: 9)) }
        checkGradients(c.description, inputs) { xs in
            conv2d(xs[0], weight: xs[1], bias: c.bias ? xs[2] : nil, stride: c.stride, padding: c.padding)
        }
    }

    @Test func convExactIntegers() {
        let x = Tensor((1...9).map(Double.init), shape: [1, 1, 3, 3])
        let w = Tensor([1.0, 0, 0, 1], shape: [1, 1, 2, 2])
        #expect(conv2d(x, weight: w).doubles == [6, 8, 12, 14])
        // TF 'SAME' stride 2 (pad bottom/right by one) on a 4×4 ramp with a 3×3 box filter.
        let ramp = Tensor((0..<16).map(Double.init), shape: [1, 1, 4, 4])
        let box = Tensor([Double](repeating: 1, count: 9), shape: [1, 1, 3, 3])
        let y = conv2d(
            ramp, weight: box, bias: Tensor([1.0], shape: [1]), stride: (2, 2), padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1))
        // Windows: rows 0–2 × cols 0–2 = 45; rows 0–2 × cols 2–3 (+pad) = 39; rows 2–3 (+pad) × cols 0–2 = 66; rows 2–3 × cols 2–3 = 50; plus bias 1.
        #expect(y.doubles == [46, 40, 67, 51])
    }

    @Test(arguments: [([2, 4, 3, 3], 2), ([1, 6, 5], 3), ([2, 4], 1), ([3, 8, 2, 2], 8), ([1, 4, 1, 1], 4)])
    func groupNormGradient(_ shape: [Int], _ groups: Int) {
        let c = shape[1]
        checkGradients(
            "groupNorm \(shape) groups \(groups)",
            [testTensor(shape, seed: 10, range: -2...3), testTensor([c], seed: 11), testTensor([c], seed: 12)]
        ) {
            groupNorm($0[0], groups: groups, gamma: $0[1], beta: $0[2], eps: 1e-5)
        }
    }

    @Test(arguments: [([2, 4, 3, 3], 2), ([1, 6, 5], 3), ([2, 4], 1), ([3, 8, 2, 2], 8)])
    func groupNormSiLUGradient(_ shape: [Int], _ groups: Int) {
        let c = shape[1]
        checkGradients(
            "groupNormSiLU \(shape) groups \(groups)",
            [testTensor(shape, seed: 13, range: -2...3), testTensor([c], seed: 14), testTensor([c], seed: 15)]
        ) {
            groupNormSiLU($0[0], groups: groups, gamma: $0[1], beta: $0[2], eps: 1e-5)
        }
    }

    @Test func groupNormValues() {
        // One group of 4 values {1, 2, 3, 4}: mean 2.5, variance 1.25.
        let x = Tensor([1.0, 2, 3, 4], shape: [1, 1, 2, 2], dtype: .float64)
        let y = groupNorm(x, groups: 1, gamma: Tensor([2.0], shape: [1]), beta: Tensor([1.0], shape: [1]), eps: 0)
        let r = 1 / 1.25.squareRoot()
        let expected = [1.0, 2, 3, 4].map { ($0 - 2.5) * r * 2 + 1 }
        for (a, b) in zip(y.doubles, expected) { #expect(Swift.abs(a - b) < 1e-14) }
    }

    @Test(arguments: [0, 1, 2, -1])
    func softmaxGradient(_ axis: Int) {
        checkGradients("softmax axis \(axis)", [testTensor([2, 3, 4], seed: 13, range: -3...3)]) { softmax($0[0], axis: axis) }
    }

    @Test func softmaxValues() {
        let x = Tensor([0.0, 0, 1000, 1000], shape: [2, 2], dtype: .float64)
        #expect(softmax(x, axis: 1).doubles == [0.5, 0.5, 0.5, 0.5])
        #expect(softmax(x, axis: 0).doubles == [0, 0, 1, 1])
    }

    @Test func upsample() {
        checkGradients("upsample", [testTensor([2, 2, 3, 2], seed: 14)]) { upsampleNearest2x($0[0]) }
        let x = Tensor([1.0, 2, 3, 4], shape: [1, 1, 2, 2])
        #expect(upsampleNearest2x(x).doubles == [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
    }

    @Test func dropoutGradientAndStatistics() {
        checkGradients("dropout", [testTensor([4, 5], seed: 15)]) { xs in
            var g = PhiloxGenerator(seed: 3)  // the same mask on every evaluation
            return dropout(xs[0], probability: 0.3, generator: &g)
        }
        var g = PhiloxGenerator(seed: 4)
        let y = dropout(Tensor(repeating: 1, shape: [100_000], dtype: .float64), probability: 0.25, generator: &g).doubles
        let kept = y.filter { $0 != 0 }
        #expect(kept.allSatisfy { Swift.abs($0 - 4.0 / 3.0) < 1e-12 })
        // Kept fraction 0.75 ± 4 standard deviations (σ = √(0.75·0.25/1e5) ≈ 0.00137).
        #expect(Swift.abs(Double(kept.count) / 1e5 - 0.75) < 4 * 0.00137)
    }
}
