// pytorch-fid's InceptionV3 reproduced: resized inputs and 64/192/768/2048-d features of the fixture images (closed-formula weights).
import DDPMMetrics
import DDPMTensors
import DDPMTestSupport
import Foundation
import Testing

@Suite(.serialized) struct FIDInceptionTests {
    @Test func stateDictNamesAndShapesAreTorchvisions() {
        let shapes = FIDInceptionV3.stateDictShapes
        #expect(FIDInceptionV3.convolutions.count == 94)
        #expect(shapes.count == 94 * 5)
        #expect(shapes.reduce(0) { $0 + $1.shape.reduce(1, *) } == 21_820_000)
        #expect(shapes.first!.name == "Conv2d_1a_3x3.conv.weight" && shapes.first!.shape == [32, 3, 3, 3])
        #expect(shapes.contains { $0.name == "Mixed_7c.branch3x3dbl_3b.conv.weight" && $0.shape == [384, 384, 3, 1] })
        #expect(shapes.contains { $0.name == "Mixed_6e.branch7x7dbl_5.bn.running_var" && $0.shape == [192] })
    }

    /// resized.npy: channel 0 of each image after F.interpolate(x/255, 299, bilinear), rows resized_rows.npy.
    @Test func resizingMatchesFInterpolate() throws {
        let reference = try fixtureArray("resized.npy")
        let rows = try fixtureArray("resized_rows.npy").values.map { Int($0) }
        for k in 0..<4 {
            let resized = resizeBilinear(try fixtureImage(k), height: 299, width: 299).floats
            let ours = rows.flatMap { r in (0..<299).map { Double(resized[r * 299 + $0]) } }
            let theirs = Array(reference.values[(k * rows.count * 299)..<((k + 1) * rows.count * 299)])
            // PyTorch's float32 kernel and ours compute the same coordinates and weights in Float32.
            expectClose(ours, theirs, relative: 0, absolute: 1e-6, "image \(k) resized")
        }
    }

    /// features{D}.npy: pytorch-fid's float32 network; within 1e-4 of the largest feature (elementwise).
    @Test func featuresMatchPytorchFID() throws {
        let images = try (0..<4).map { FIDInceptionV3.prepare(try fixtureImage($0)) }
        let start = Date()
        let features = FormulaWeights.network.featuresOfPrepared(
            Tensor.concatenate(images, axis: 0), blocks: Set(FIDInceptionV3.Block.allCases))
        let seconds = Date().timeIntervalSince(start)
        var report: [String] = []
        for block in FIDInceptionV3.Block.allCases {
            let ours = try #require(features[block])
            #expect(ours.shape == [4, block.dimension])
            let reference = try fixtureArray("features\(block.dimension).npy")
            let exact = try fixtureArray("features\(block.dimension)_f64.npy")
            let (error, scale) = deviation(ours.doubles, reference.values)
            let (exactError, _) = deviation(ours.doubles, exact.values)
            let (torchError, _) = deviation(reference.values, exact.values)
            #expect(error <= 1e-4 * scale, "pool \(block.dimension): max |ours − pytorch-fid| = \(error), 1e-4 · max = \(1e-4 * scale)")
            report.append(
                String(
                    format: "%d-d: |ours − torch f32| %.2e, |ours − torch f64| %.2e, |torch f32 − f64| %.2e (of max %.3g)",
                    block.dimension, error / scale, exactError / scale, torchError / scale, scale))
        }
        print(
            "FID Inception parity (relative to the largest feature), 4 images in \(String(format: "%.2f", seconds)) s:\n  "
                + report.joined(separator: "\n  "))
    }

    /// Asking for pool3 alone runs the whole network and gives the same numbers; asking for 64 stops early.
    @Test func blocksAreIndependentOfWhatElseIsAsked() throws {
        let x = FIDInceptionV3.prepare(try fixtureImage(1))
        let all = FormulaWeights.network.featuresOfPrepared(x, blocks: Set(FIDInceptionV3.Block.allCases))
        let pool3 = FormulaWeights.network.features(try fixtureImage(1))
        #expect(pool3.keys.sorted() == [.pool2048])
        #expect(pool3[.pool2048]!.floats == all[.pool2048]!.floats)
        #expect(FormulaWeights.network.featuresOfPrepared(x, blocks: [.pool64])[.pool64]!.floats == all[.pool64]!.floats)
    }
}
