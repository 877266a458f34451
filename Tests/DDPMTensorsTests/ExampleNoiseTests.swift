// One generator per example: row b of every draw comes from example b's stream alone, so a sample's
// noise does not depend on its batch.
import DDPMTensors
import Testing

@Suite struct ExampleNoiseTests {
    @Test func rowBIsDrawnFromGeneratorBAlone() {
        let generators = (0..<3).map { PhiloxGenerator(seed: 100 + UInt64($0)) }
        var noise = ExampleNoise(generators: generators)
        // Two draws in a row (normal then uniform), each row continuing its own stream.
        let normal = noise.normal(shape: [3, 2, 5], dtype: .float32)
        let uniform = noise.uniform(shape: [3, 7], dtype: .float64)
        for b in 0..<3 {
            var alone = generators[b]
            let wantNormal = Tensor.randomNormal(shape: [1, 2, 5], dtype: .float32, generator: &alone)
            let wantUniform = Tensor.randomUniform(shape: [1, 7], dtype: .float64, generator: &alone)
            #expect(normal.sliced(axis: 0, range: b..<b + 1).floats == wantNormal.floats, "row \(b), normal")
            #expect(uniform.sliced(axis: 0, range: b..<b + 1).doubles == wantUniform.doubles, "row \(b), uniform")
            #expect(noise.generators[b].state == alone.state, "row \(b): the stream stands where one generator's would")
        }
    }

    @Test func anExampleDrawsTheSameInAnyBatch() {
        var whole = ExampleNoise(seed: 7, examples: 0..<6)
        var part = ExampleNoise(seed: 7, examples: 2..<4)
        var single = ExampleNoise(seed: 7, examples: 3..<4)
        let a = whole.normal(shape: [6, 9], dtype: .float32).floats
        let b = part.normal(shape: [2, 9], dtype: .float32).floats
        let c = single.normal(shape: [1, 9], dtype: .float32).floats
        #expect(Array(a[18..<36]) == b)
        #expect(Array(a[27..<36]) == c)
        // Different examples and different seeds draw different numbers.
        #expect(Array(a[0..<9]) != Array(a[9..<18]))
        var other = ExampleNoise(seed: 8, examples: 3..<4)
        #expect(other.normal(shape: [1, 9], dtype: .float32).floats != c)
        // Example i's generator is keyed (ExampleNoise.stream, i) under the seed.
        var keyed = PhiloxGenerator(seed: 7, key: (ExampleNoise.stream, 3))
        #expect(Tensor.randomNormal(shape: [1, 9], dtype: .float32, generator: &keyed).floats == c)
    }
}
