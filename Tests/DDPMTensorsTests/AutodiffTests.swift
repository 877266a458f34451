import Testing
import DDPMTensors

@Suite(.serialized) struct AutodiffTests {
    @Test func noGradientModeRecordsNothing() {
        let x = testTensor([3, 3], seed: 1).requiringGradient()
        let before = GradNode.liveCount
        let y = withoutGradients { (x * x).exp().sum() }
        #expect(!y.requiresGradient)
        #expect(GradNode.liveCount == before)
        let z = (x * x).sum()
        #expect(z.requiresGradient)
    }

    @Test func unreachedParameterGetsZeros() {
        let x = testTensor([2], seed: 2).requiringGradient()
        let unused = testTensor([3], seed: 3).requiringGradient()
        let g = gradients(of: (x * 2.0).sum(), withRespectTo: [x, unused])
        #expect(g[0].doubles == [2, 2])
        #expect(g[1].doubles == [0, 0, 0])
    }

    /// `whenReady` gets every gradient once, equal to the returned one; a leaf used only near the
    /// output is handed over before the leaf used first (the order data-parallel buckets rely on),
    /// and an unreached one (zeros) after the walk.
    @Test func gradientsAreHandedOverAsSoonAsFinal() {
        let first = testTensor([3], seed: 5).requiringGradient()
        let last = testTensor([3], seed: 6).requiringGradient()
        let unused = testTensor([2], seed: 7).requiringGradient()
        let hidden = (first * first).tanh()
        let loss = (hidden * last).sum() + (first * 3.0).sum()
        var order: [Int] = []
        var handed: [Int: [Double]] = [:]
        let g = gradients(of: loss, withRespectTo: [first, last, unused]) { index, gradient in
            order.append(index)
            handed[index] = gradient.doubles
        }
        #expect(order == [1, 0, 2])
        for i in 0..<3 { #expect(handed[i] == g[i].doubles, "gradient \(i)") }
        #expect(g[2].doubles == [0, 0])
    }

    @Test func backwardReleasesSavedValues() {
        let x = testTensor([64, 64], seed: 4).requiringGradient()
        let baseline = TensorStorage.liveBytes.current
        let loss = (x.exp() * x).tanh().sum()
        // The graph saves exp(x) (for exp and for the product) and tanh(·): two 64×64 Float64 buffers.
        #expect(TensorStorage.liveBytes.current - baseline >= 2 * 64 * 64 * 8)
        let g = gradients(of: loss, withRespectTo: [x])
        // With `loss` still alive, only the gradient and a few scalars remain.
        #expect(TensorStorage.liveBytes.current - baseline <= 64 * 64 * 8 + 1024)
        #expect(g[0].shape == [64, 64] && loss.requiresGradient)
    }

    /// A small network trained for 1,000 steps: neither graph nodes nor buffer bytes grow.
    /// (The counters are process-wide: the test command runs tests serially, `--no-parallel`.)
    @Test func memoryDoesNotGrowOverTraining() {
        var g = PhiloxGenerator(seed: 5)
        var w1 = (Tensor.randomNormal(shape: [2, 16], generator: &g) * 0.5)
        var w2 = (Tensor.randomNormal(shape: [16, 1], generator: &g) * 0.5)
        let x = Tensor.randomNormal(shape: [32, 2], generator: &g)
        let target = (x.sliced(axis: 1, range: 0..<1) * 2.0).tanh()
        var nodes: [Int] = []
        var bytes: [Int] = []
        var losses: [Double] = []
        for step in 0..<1000 {
            let p1 = w1.requiringGradient(), p2 = w2.requiringGradient()
            let h = matmul(x, p1).silu()
            let loss = meanSquaredError(matmul(h, p2), target)
            let grads = gradients(of: loss, withRespectTo: [p1, p2])
            withoutGradients {
                w1 = w1 - grads[0] * 0.05
                w2 = w2 - grads[1] * 0.05
            }
            losses.append(loss.item)
            if step == 10 || step == 999 {
                nodes.append(GradNode.liveCount)
                bytes.append(TensorStorage.liveBytes.current)
            }
        }
        #expect(nodes[0] == nodes[1], "graph nodes: \(nodes)")
        #expect(bytes[0] == bytes[1], "live bytes: \(bytes)")
        #expect(losses[999] < losses[0] * 0.5, "the network should learn: loss \(losses[0]) → \(losses[999])")
    }
}

@Suite struct RandomTests {
    /// Known-answer vectors of Random123's kat_vectors for philox4x32-10.
    @Test func philoxKnownAnswers() {
        let zero = philox4x32(counter: (0, 0, 0, 0), key: (0, 0))
        #expect([zero.0, zero.1, zero.2, zero.3] == [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = philox4x32(counter: (0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), key: (0xffff_ffff, 0xffff_ffff))
        #expect([ones.0, ones.1, ones.2, ones.3] == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = philox4x32(counter: (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), key: (0xa409_3822, 0x299f_31d0))
        #expect([pi.0, pi.1, pi.2, pi.3] == [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    @Test func stateRestoresTheStream() {
        var a = PhiloxGenerator(seed: 42)
        _ = a.next()
        _ = a.next()
        _ = a.next()
        var b = PhiloxGenerator(state: a.state)
        for _ in 0..<10 { #expect(a.next() == b.next()) }
    }

    @Test func normalMoments() {
        var g = PhiloxGenerator(seed: 7)
        let z = Tensor.randomNormal(shape: [200_000], dtype: .float64, generator: &g).doubles
        let mean = z.reduce(0, +) / Double(z.count)
        let variance = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(z.count)
        // Standard errors: mean 1/√n ≈ 0.0022, variance √(2/n) ≈ 0.0032; allow 4σ.
        #expect(Swift.abs(mean) < 0.009)
        #expect(Swift.abs(variance - 1) < 0.013)
    }

    @Test func uniformIntegersAreInRangeAndCoverIt() {
        var g = PhiloxGenerator(seed: 8)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<10_000 { counts[g.nextInt(below: 10)] += 1 }
        #expect(counts.allSatisfy { $0 > 900 && $0 < 1100 }, "\(counts)")
    }
}
