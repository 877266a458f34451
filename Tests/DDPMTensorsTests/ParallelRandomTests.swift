// Parallel Philox draws against one-by-one draws: the same numbers and the same generator state after.
import Testing
import DDPMTensors

@Suite struct ParallelRandomTests {
    /// Starting positions 0, 1 and 2 draws into a stream; counts even and odd, small and beyond one thread's chunk.
    @Test(arguments: [0, 1, 2], [0, 1, 2, 7, 100_001])
    func parallelDrawsMatchSequentialDraws(_ skip: Int, _ count: Int) {
        var sequential = PhiloxGenerator(seed: 42)
        for _ in 0..<skip { _ = sequential.next() }
        var parallel = sequential
        let expected = (0..<count).map { _ in sequential.next() }
        var got = [UInt64](repeating: 0, count: count)
        got.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress
            parallel.forEachDraw(count: count) { i, draw in p![i] = draw }
        }
        #expect(got == expected, "skip \(skip), count \(count)")
        #expect(parallel.state == sequential.state, "skip \(skip), count \(count): state \(parallel.state) vs \(sequential.state)")
        #expect(parallel.next() == sequential.next(), "skip \(skip), count \(count): next draw differs")
        // A generator restored from the state continues the same way.
        var restored = PhiloxGenerator(state: parallel.state)
        #expect(restored.next() == sequential.next())
    }

    /// Across the carry of the counter's low 32 bits (the vectorised blocks add to the whole 64-bit counter).
    @Test func parallelDrawsMatchAcrossTheCounterCarry() {
        var sequential = PhiloxGenerator(state: .init(seed: 0x0123_4567_89ab_cdef, counter: 0xffff_fff0, position: 2))
        var parallel = sequential
        let count = 40_001
        let expected = (0..<count).map { _ in sequential.next() }
        var got = [UInt64](repeating: 0, count: count)
        got.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress
            parallel.forEachDraw(count: count) { i, draw in p![i] = draw }
        }
        #expect(got == expected)
        #expect(parallel.state == sequential.state)
    }

    @Test(arguments: [DType.float32, .float64])
    func uniformTensorIsTheSequenceOfUniformDraws(_ dtype: DType) {
        var a = PhiloxGenerator(seed: 7)
        var b = a
        _ = a.next(); _ = b.next()
        let t = Tensor.randomUniform(shape: [3, 50_001], dtype: dtype, generator: &a)
        let expected = (0..<150_003).map { _ in b.nextUniform() }
        #expect(t.doubles == Tensor(expected, shape: [3, 50_001], dtype: dtype).doubles)
        #expect(a.state == b.state)
    }

    @Test func dropoutMaskIsTheThresholdedUniforms() {
        var a = PhiloxGenerator(seed: 9)
        var b = a
        let y = dropout(Tensor(repeating: 2, shape: [70_000], dtype: .float32), probability: 0.25, generator: &a)
        let expected = (0..<70_000).map { _ in Double(Float(b.nextUniform())) < 0.75 ? 2 * Double(Float(1 / 0.75)) : 0 }
        #expect(y.doubles == expected.map { Double(Float($0)) })
    }
}
