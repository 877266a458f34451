import Testing
import DDPMTensors

@Suite struct ReductionShapeGradientTests {
    static let axesCases: [[Int]] = [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2], [-1]]

    @Test(arguments: axesCases, [false, true])
    func sum(_ axes: [Int], _ keep: Bool) {
        checkGradients("sum axes \(axes) keep \(keep)", [testTensor([2, 3, 4], seed: 1)]) { $0[0].sum(axes: axes, keepingDimensions: keep) }
    }

    @Test(arguments: axesCases)
    func mean(_ axes: [Int]) {
        checkGradients("mean axes \(axes)", [testTensor([2, 3, 4], seed: 2)]) { $0[0].mean(axes: axes) }
    }

    /// The vectorised, parallel sums against a plain loop over every element, for each subset of
    /// axes of a tensor whose rows are long enough for the vector body, a tail and two threads.
    @Test(arguments: [DType.float32, .float64])
    func sumMatchesPlainLoop(_ dtype: DType) {
        let shape = [3, 5, 70, 37]
        let x = testTensor(shape, seed: 6).converted(to: dtype)
        let values = x.doubles
        for mask in 1..<16 {
            let axes = (0..<4).filter { mask & (1 << $0) != 0 }
            let kept = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
            var expected = [Double](repeating: 0, count: kept.reduce(1, *))
            for i in values.indices {
                var rest = i, target = 0, step = 1
                for d in (0..<4).reversed() {
                    let index = rest % shape[d]
                    rest /= shape[d]
                    if !axes.contains(d) { target += index * step }
                    step *= kept[d]
                }
                expected[target] += values[i]
            }
            let got = x.sum(axes: axes, keepingDimensions: true)
            let tolerance = dtype == .float32 ? 1e-3 : 1e-9
            let worst = zip(got.doubles, expected).map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(got.shape == kept && worst <= tolerance, "axes \(axes) \(dtype): shape \(got.shape), largest difference \(worst)")
        }
    }

    /// Concatenation and splitting of tensors large enough for their row copies to be split over threads.
    @Test func largeConcatenateAndSplitRoundTrip() {
        let a = testTensor([4, 3, 64, 64], seed: 30).converted(to: .float32)
        let b = testTensor([4, 5, 64, 64], seed: 31).converted(to: .float32)
        let joined = Tensor.concatenate([a, b], axis: 1)
        let (av, bv, jv) = (a.doubles, b.doubles, joined.doubles)
        let plane = 64 * 64
        var expected: [Double] = []
        for n in 0..<4 {
            expected += av[(n * 3 * plane)..<((n + 1) * 3 * plane)]
            expected += bv[(n * 5 * plane)..<((n + 1) * 5 * plane)]
        }
        #expect(jv == expected)
        let parts = joined.split(sizes: [3, 5], axis: 1)
        #expect(parts[0].doubles == av && parts[1].doubles == bv)
    }

    @Test func sumValues() {
        let x = Tensor([1.0, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect(x.sum(axes: [0]).doubles == [5, 7, 9])
        #expect(x.sum(axes: [1]).doubles == [6, 15])
        #expect(x.sum(axes: [1], keepingDimensions: true).shape == [2, 1])
        #expect(x.sum().item == 21)
        #expect(x.mean().item == 3.5)
        #expect(meanSquaredError(x, x * 2.0).item == (1 + 4 + 9 + 16 + 25 + 36) / 6.0)
    }

    @Test func meanSquaredErrorGradient() {
        checkGradients("mse", [testTensor([3, 4], seed: 3), testTensor([3, 4], seed: 4)]) { meanSquaredError($0[0], $0[1]).reshaped([1]) }
    }

    @Test(arguments: [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0], [0, 2, 1]])
    func permute(_ axes: [Int]) {
        checkGradients("permute \(axes)", [testTensor([2, 3, 4], seed: 5)]) { $0[0].permuted(axes) }
    }

    @Test func permuteValues() {
        let x = Tensor([1.0, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect(x.transposed().doubles == [1, 4, 2, 5, 3, 6])
        #expect(x.transposed().shape == [3, 2])
    }

    @Test func reshapeAndBroadcast() {
        checkGradients("reshape", [testTensor([2, 6], seed: 6)]) { $0[0].reshaped([3, -1]) * 2.0 }
        checkGradients("broadcast", [testTensor([3, 1], seed: 7)]) { $0[0].broadcast(to: [2, 3, 4]) }
    }

    @Test(arguments: [0, 1, 2, -1])
    func concatenate(_ axis: Int) {
        var b = [2, 3, 4]
        b[(axis + 3) % 3] = 2
        checkGradients("concatenate axis \(axis)", [testTensor([2, 3, 4], seed: 8), testTensor(b, seed: 9)]) {
            Tensor.concatenate([$0[0], $0[1]], axis: axis)
        }
    }

    @Test(arguments: [0, 1, 2])
    func splitAndSlice(_ axis: Int) {
        let x = testTensor([4, 5, 6], seed: 10)
        let n = x.shape[axis]
        checkGradients("split axis \(axis)", [x]) { xs in
            let parts = xs[0].split(sizes: [1, n - 3, 2], axis: axis)
            return Tensor.concatenate([parts[2] * 3.0, parts[0], parts[1].squared()], axis: axis)
        }
        checkGradients("slice axis \(axis)", [x]) { $0[0].sliced(axis: axis, range: 1..<3) }
    }

    @Test func concatenateValues() {
        let a = Tensor([1.0, 2, 3, 4], shape: [2, 2])
        let b = Tensor([5.0, 6], shape: [2, 1])
        #expect(Tensor.concatenate([a, b], axis: 1).doubles == [1, 2, 5, 3, 4, 6])
        let parts = Tensor.concatenate([a, b], axis: 1).split(sizes: [2, 1], axis: 1)
        #expect(parts[0].doubles == a.doubles && parts[1].doubles == b.doubles)
    }

    @Test func gather() {
        let table = testTensor([10], seed: 11)
        checkGradients("gather", [table]) { $0[0].gathering(indices: [0, 9, 3, 3], broadcastingTo: 4).broadcast(to: [4, 2, 1, 2]) }
        let t = Tensor([0.5, 1.5, 2.5], shape: [3])
        let g = t.gathering(indices: [2, 0], broadcastingTo: 4)
        #expect(g.shape == [2, 1, 1, 1] && g.doubles == [2.5, 0.5])
    }
}
