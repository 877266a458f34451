// Binarised image data (`,binarize`): the threshold at half intensity, {0, 1} batches, and the spec flag.
import DDPMDatasets
import Foundation
import Testing
import DDPMTensors

@Suite("binarize")
struct BinarizeTests {
    @Test func thresholdsAtHalfIntensity() throws {
        let bytes: [UInt8] = [0, 1, 127, 128, 129, 200, 254, 255]
        let data = Dataset(name: "ramp", images: bytes + bytes.reversed(), channels: 1, height: 2, width: 4, labels: [3, 4])
        let binary = data.binarized()
        #expect(!data.isBinary && binary.isBinary)
        #expect(binary.labels == [3, 4] && binary.exampleShape == [1, 2, 4] && binary.count == 2)
        // byte/255 > ½ ⇔ byte ≥ 128; batches hold exact 0s and 1s, flips still apply.
        #expect(try binary.batch(indices: [0]).doubles == [0, 0, 0, 1, 1, 1, 1, 1])
        #expect(try binary.batch(indices: [1], flips: [true]).doubles == [1, 1, 1, 1, 0, 0, 0, 1])  // rows 255…129, 128…0 mirrored
        #expect(try binary.image(at: 0).pixels == [0, 0, 0, 255, 255, 255, 255, 255])
        #expect(try binary.prefix(1).isBinary && binary.prefix(1).batch(indices: [0]).doubles == binary.batch(indices: [0]).doubles)
        // Unbinarised data keep the [−1, 1] scaling.
        #expect(try data.batch(indices: [0]).doubles.first == -1 && data.batch(indices: [0]).doubles.last == 1)
    }

    @Test func specFlagBinarisesImageData() throws {
        let spec = try DataSpec(parsing: "deadleaves,size=8,count=4,binarize")
        #expect(spec.binarize && spec.source == .deadLeaves(size: 8, count: 4))
        #expect(
            try DataSpec(parsing: "fashion-mnist,binarize").source
                == .fashionMNIST(directory: URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")))
        #expect(try DataSpec(parsing: "mnist:/data/m,binarize").binarize)
        #expect(try !DataSpec(parsing: "deadleaves,size=8").binarize)
        var g1 = PhiloxGenerator(seed: 1), g2 = PhiloxGenerator(seed: 1)
        let binary = try spec.load(split: .train, generator: &g1)
        let gray = try DataSpec(parsing: "deadleaves,size=8,count=4").load(split: .train, generator: &g2)
        #expect(binary.isBinary && !gray.isBinary)
        let b = try binary.batch(indices: [0, 1, 2, 3]).doubles, x = try gray.batch(indices: [0, 1, 2, 3]).doubles
        #expect(b == x.map { ($0 + 1) * 127.5 >= 127.75 ? 1 : 0 })
        #expect(b.contains(0) && b.contains(1))
    }
}
