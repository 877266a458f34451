// End-to-end tests of `ddpm train --diffusion binomial` and `ddpm sample` on binarised images.
import DDPMTestSupport
import Foundation
import Testing

@Suite("binomial train and sample")
struct BinomialTrainTests {
    static let tiny = [
        "--diffusion", "binomial", "--data", "deadleaves,size=8,count=256,binarize", "--model", "tiny",
        "--timesteps", "10", "--batch-size", "16", "--warmup", "0", "--learning-rate", "1e-3",
        "--ema-decay", "0.9", "--threads", "1",
    ]

    func losses(_ folder: URL) throws -> [Double] {
        let text = try String(contentsOf: folder.appendingPathComponent("log.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (object["loss"] as! NSNumber).doubleValue
        }
    }

    func runSettings(_ folder: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("run.json"))) as! [String: Any]
    }

    @Test func trainsOnBinaryDataAndSamplesBinaryImages() throws {
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        let result = try runDDPM(["train", "--output", run.path, "--steps", "60", "--sample-every", "60"] + Self.tiny)
        #expect(result.status == 0, "\(result.standardError)")
        let settings = try runSettings(run)
        let process = settings["process"] as? [String: Any]
        #expect(process?["kind"] as? String == "binomial" && (process?["schedule"] as? [String: Any])?["kind"] as? String == "reciprocal")
        #expect(process?["gaussian"] == nil)
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("samples-60.png").path))
        // The loss T · L_{t−1} starts near the untrained bound (1 bit/dim at x̂₀ = ½) and falls. One
        // step's loss is noisy (one t per example), so the second half of the run is averaged.
        let loss = try losses(run)
        #expect(loss.count == 60)
        let first = loss.prefix(10).reduce(0, +) / 10, last = loss.suffix(30).reduce(0, +) / 30
        #expect(first > 0.85 && last < first - 0.1, "loss \(first) → \(last)")

        let out = dir.appendingPathComponent("samples")
        let sample = try runDDPM([
            "sample", "--checkpoint", run.path, "--count", "6", "--batch-size", "4", "--output", out.path, "--threads", "1",
        ])
        #expect(sample.status == 0, "\(sample.standardError)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples.png").path))
        let npy = try Data(contentsOf: out.appendingPathComponent("samples.npy"))
        #expect(String(decoding: npy.prefix(80), as: UTF8.self).contains("(6, 8, 8, 1)"))
        let pixels = Set(npy.suffix(6 * 8 * 8))
        #expect(pixels == [0, 255], "binary samples hold only 0 and 255, got \(pixels.sorted())")

        for flags in [["--steps", "5"], ["--sampler", "ddim"]] {
            let refused = try runDDPM(
                ["sample", "--checkpoint", run.path, "--count", "2", "--output", dir.appendingPathComponent("x").path] + flags)
            #expect(refused.status != 0)
            #expect(refused.standardError.contains("all T = 10 steps"), "\(refused.standardError)")
        }
    }

    @Test func resumeIsBitForBit() throws {
        let dir = try temporaryFolder()
        let straight = dir.appendingPathComponent("straight"), split = dir.appendingPathComponent("split")
        #expect(try runDDPM(["train", "--output", straight.path, "--steps", "8"] + Self.tiny).status == 0)
        #expect(try runDDPM(["train", "--output", split.path, "--steps", "4"] + Self.tiny).status == 0)
        let resumed = try runDDPM(["train", "--output", split.path, "--resume", "--steps", "8", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try losses(straight) == losses(split))
        for name in ["model.safetensors", "ema.safetensors", "state.json"].map({ "checkpoint/" + $0 }) {
            #expect(
                try Data(contentsOf: straight.appendingPathComponent(name)) == Data(contentsOf: split.appendingPathComponent(name)),
                "\(name)")
        }
    }

    @Test(arguments: [
        (["--diffusion", "binomial", "--data", "deadleaves,size=8,count=4"], ",binarize"),
        (["--data", "deadleaves,size=8,count=4,binarize"], "--diffusion binomial"),
        (["--diffusion", "binomial", "--data", "swissroll,binarize"], "image data only"),
        (["--data", "swissroll", "--schedule", "reciprocal"], "--schedule"),
        (["--data", "swissroll", "--diffusion", "poisson"], "--diffusion"),
    ])
    func mismatchedDataAndFlagsWriteNothing(_ flags: [String], _ fragment: String) throws {
        let out = try temporaryFolder().appendingPathComponent("out")
        let result = try runDDPM(["train", "--output", out.path, "--model", "tiny", "--steps", "1"] + flags)
        #expect(result.status != 0)
        #expect(result.standardError.contains(fragment), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
