// Batching: same seed → same batches, every example once per epoch, any grouping of positions, flips.
import DDPMDatasets
import Foundation
import DDPMTensors
import Testing

@Suite("Batch sampler")
struct BatchSamplerTests {
    /// 10 images of 1×2×3 whose pixels encode the example index and position.
    static let images = Dataset(
        name: "tiny", images: (0..<10).flatMap { n in (0..<6).map { UInt8(n * 20 + $0) } },
        channels: 1, height: 2, width: 3, labels: Array(0..<10))

    @Test("the same seed gives the same batch sequence; another seed another", arguments: [false, true])
    func determinism(flips: Bool) throws {
        var a = BatchSampler(dataset: Self.images, seed: 7, randomFlips: flips)
        var b = BatchSampler(dataset: Self.images, seed: 7, randomFlips: flips)
        var c = BatchSampler(dataset: Self.images, seed: 8, randomFlips: flips)
        var differs = false
        for step in 0..<7 {
            let x = try a.batch(step: step, size: 4), y = try b.batch(step: step, size: 4), z = try c.batch(step: step, size: 4)
            #expect(x.indices == y.indices && x.flipped == y.flipped && x.data.floats == y.data.floats)
            differs = differs || x.indices != z.indices
        }
        #expect(differs)
    }

    @Test("every example appears exactly once per epoch, batches spanning epochs included", arguments: [1, 3, 4, 10, 7])
    func epochs(batchSize: Int) throws {
        var sampler = BatchSampler(dataset: Self.images, seed: 1)
        var stream: [Int] = []
        var step = 0
        while stream.count < 50 {
            stream += try sampler.batch(step: step, size: batchSize).indices
            step += 1
        }
        for epoch in 0..<5 {
            #expect(stream[(epoch * 10)..<(epoch * 10 + 10)].sorted() == Array(0..<10), "epoch \(epoch), batch \(batchSize)")
        }
        #expect(stream[0..<10] != stream[10..<20], "epochs should be reshuffled")
    }

    @Test("positions give the same examples however they are grouped: a fresh sampler, halves, out of order", arguments: [1, 2, 5, 9])
    func grouping(step: Int) throws {
        var whole = BatchSampler(dataset: Self.images, seed: 3, randomFlips: true)
        let batch = try whole.batch(step: step, size: 8)
        // A fresh sampler (as after a resume) that first visits a later epoch, then the two halves.
        var fresh = BatchSampler(dataset: Self.images, seed: 3, randomFlips: true)
        _ = try fresh.batch(step: step + 7, size: 8)
        let second = try fresh.batch(at: (step * 8 + 4)..<(step * 8 + 8)), first = try fresh.batch(at: (step * 8)..<(step * 8 + 4))
        #expect(first.indices + second.indices == batch.indices)
        #expect(first.flipped + second.flipped == batch.flipped)
        #expect(first.data.floats + second.data.floats == batch.data.floats)
        #expect(first.labels! + second.labels! == batch.labels!)
    }

    @Test("batches are NCHW in [−1, 1] with labels, and flips mirror each row")
    func flips() throws {
        var sampler = BatchSampler(dataset: Self.images, seed: 11, randomFlips: true)
        var sawFlip = false, sawPlain = false
        for step in 0..<5 {
            let batch = try sampler.batch(step: step, size: 4)
            #expect(batch.data.shape == [4, 1, 2, 3])
            #expect(batch.labels == batch.indices)
            let values = batch.data.floats
            for (b, index) in batch.indices.enumerated() {
                for row in 0..<2 {
                    for x in 0..<3 {
                        let sourceX = batch.flipped[b] ? 2 - x : x
                        let expected = Float(index * 20 + row * 3 + sourceX) / 127.5 - 1
                        #expect(values[b * 6 + row * 3 + x] == expected)
                    }
                }
                if batch.flipped[b] { sawFlip = true } else { sawPlain = true }
            }
        }
        #expect(sawFlip && sawPlain)
    }

    @Test("points batch as [B, D] and are never flipped")
    func points() throws {
        let data = Dataset(name: "pts", points: [1, 2, 3, 4, 5, 6], dimension: 2)
        var sampler = BatchSampler(dataset: data, seed: 0, randomFlips: true)
        let batch = try sampler.batch(step: 0, size: 3)
        #expect(batch.data.shape == [3, 2] && !batch.flipped.contains(true) && batch.labels == nil)
        #expect(batch.indices.sorted() == [0, 1, 2])
        var expected: [Float] = []
        for index in batch.indices { expected += [Float(2 * index + 1), Float(2 * index + 2)] }
        #expect(batch.data.floats == expected)
    }

    @Test("pixel 0 maps to −1 and 255 to +1")
    func scaling() throws {
        let data = Dataset(name: "ends", images: [0, 255], channels: 1, height: 1, width: 2)
        #expect(try data.batch(indices: [0]).floats == [-1, 1])
    }
}
