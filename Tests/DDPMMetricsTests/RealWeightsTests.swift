// With pytorch-fid's real weights (DDPM_FID_WEIGHTS names pt_inception-2015-12-05-6726825d.pth or a safetensors copy): they load, and the fixture images' features are pytorch-fid's.
import DDPMMetrics
import DDPMTensors
import DDPMTestSupport
import Foundation
import Testing

/// The weights file named by DDPM_FID_WEIGHTS, if any.
private let realWeights = ProcessInfo.processInfo.environment["DDPM_FID_WEIGHTS"].map { URL(fileURLWithPath: $0) }

@Suite(
    .serialized,
    .enabled(if: realWeights != nil, "skipped: set DDPM_FID_WEIGHTS to pytorch-fid's pt_inception-2015-12-05-6726825d.pth to run"))
struct RealWeightsTests {
    @Test func theRealWeightsLoadAndGivePytorchFIDsFeatures() throws {
        let url = try #require(realWeights)
        if url.lastPathComponent == FIDInceptionV3.weightsFileName {  // pytorch-fid's own file (not an export without fc)
            let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int
            #expect(
                size == FIDInceptionV3.weightsByteCount,
                "\(url.path) is \(size ?? -1) bytes, pytorch-fid's file \(FIDInceptionV3.weightsByteCount)")
        }
        let network = try FIDInceptionV3(contentsOf: url)
        let images = try (0..<4).map { FIDInceptionV3.prepare(try fixtureImage($0)) }
        let features = network.featuresOfPrepared(Tensor.concatenate(images, axis: 0), blocks: Set(FIDInceptionV3.Block.allCases))
        for block in FIDInceptionV3.Block.allCases {
            let values = try #require(features[block]).floats
            #expect(values.allSatisfy { $0.isFinite && $0 >= 0 }, "pool \(block.dimension): features after ReLU are finite and ≥ 0")
            // pytorch-fid's network with the real weights on the same images (scripts/reference/export_fid_weights.py --fixture).
            let reference = fidFixture("real/features\(block.dimension).npy")
            guard FileManager.default.fileExists(atPath: reference.path) else { continue }
            let expected = try fixtureArray("real/features\(block.dimension).npy").values
            let (error, scale) = deviation(values.map(Double.init), expected)
            #expect(
                error <= 1e-4 * scale,
                "pool \(block.dimension) with the real weights: max |ours − pytorch-fid| = \(error), 1e-4 · max = \(1e-4 * scale)")
            print(String(format: "real weights, %d-d: max |ours − pytorch-fid| / max = %.2e", block.dimension, error / scale))
        }
    }
}
