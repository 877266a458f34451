// `ddpm fid` end to end: the built binary with the closed-formula Inception weights (a safetensors copy written here).
import DDPMImaging
import DDPMMetrics
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTestSupport
import Foundation
import Testing

/// fid.json as the command writes it.
struct FIDJSON: Decodable {
    var fid: Double
    var kidMean: Double?
    var kidStandardDeviation: Double?
    var kidSubsetSize: Int?
    var sampleCount: Int?
    var referenceCount: Int?
    var featurisedImages: Int
}

/// uint8 images N×H×W×C with structure (gradients) and noise, as NPY.
private func images(_ n: Int, _ h: Int, _ w: Int, _ c: Int, seed: UInt64) -> NPYArray {
    var state = seed
    var bytes: [UInt8] = []
    for i in 0..<n {
        for y in 0..<h {
            for x in 0..<w {
                for k in 0..<c {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    let smooth = 128 + 100 * sin(Double(3 * x + 2 * y + 5 * i + k) / Double(w + h))
                    bytes.append(UInt8(max(0, min(255, smooth + Double(state >> 58)))))
                }
            }
        }
    }
    return NPYArray(shape: [n, h, w, c], elements: .uint8(bytes))
}

@Suite(.serialized) struct FIDCommandTests {
    /// The formula's weights as a safetensors state_dict (87 MB), written once per test run.
    static let weights: URL = {
        let url = try! temporaryFolder("fid-weights").appendingPathComponent("formula.safetensors")
        var tensors: [String: Tensor] = [:]
        for (name, shape) in FIDInceptionV3.stateDictShapes {
            tensors[name] = Tensor(fidFormulaWeights(name: name, shape: shape), shape: shape)
        }
        try! SafeTensorsFile.write(tensors, to: url)
        return url
    }()

    func decode(_ url: URL) throws -> FIDJSON { try JSONDecoder().decode(FIDJSON.self, from: Data(contentsOf: url)) }

    @Test func missingWeightsSayWhereToGetThem() throws {
        let folder = try temporaryFolder()
        let samples = folder.appendingPathComponent("s.npy")
        try NPYFile.write(images(3, 8, 8, 1, seed: 1), to: samples)
        let result = try runDDPM([
            "fid", samples.path, "--reference", samples.path, "--weights", folder.appendingPathComponent("none.pth").path,
        ])
        #expect(result.status == 1)
        for text in ["pt_inception-2015-12-05-6726825d.pth", FIDInceptionV3.weightsSHA256, FIDInceptionV3.weightsURL, "95628359"] {
            #expect(result.standardError.contains(text), "\(result.standardError)")
        }
    }

    @Test func samplesAgainstImagesAStatisticsFileAndThemselves() throws {
        let folder = try temporaryFolder()
        let samples = folder.appendingPathComponent("samples.npy"), reference = folder.appendingPathComponent("reference.npy")
        try NPYFile.write(images(6, 28, 28, 1, seed: 1), to: samples)  // gray, repeated to RGB
        try NPYFile.write(images(5, 32, 32, 3, seed: 2), to: reference)
        let stats = folder.appendingPathComponent("reference-stats.npz")
        let common = ["--weights", Self.weights.path, "--batch-size", "4", "--kid-subsets", "5", "--threads", "2"]

        // 1. Images against images: FID, KID (subsets reduced to the 5 reference images), statistics saved.
        let first = try runDDPM(
            [
                "fid", samples.path, "--reference", reference.path, "--save-stats", stats.path, "--output",
                folder.appendingPathComponent("a.json").path,
            ] + common)
        #expect(first.status == 0, "\(first.standardError)")
        let a = try decode(folder.appendingPathComponent("a.json"))
        #expect(a.fid > 0 && a.fid.isFinite)
        #expect(a.kidMean != nil && a.kidSubsetSize == 5 && a.sampleCount == 6 && a.referenceCount == 5 && a.featurisedImages == 11)
        #expect(first.standardOutput.contains("FID ") && first.standardOutput.contains("KID "))

        // 2. Against the saved statistics: the same FID, no KID, and only the samples featurised.
        let second = try runDDPM(
            ["fid", samples.path, "--reference", stats.path, "--output", folder.appendingPathComponent("b.json").path] + common)
        #expect(second.status == 0, "\(second.standardError)")
        let b = try decode(folder.appendingPathComponent("b.json"))
        #expect(abs(b.fid - a.fid) <= 1e-9 * a.fid, "FID from images \(a.fid), from saved statistics \(b.fid)")
        #expect(b.kidMean == nil && b.featurisedImages == 6)
        #expect(try FeatureStatistics.read(from: stats).dimension == 2048)

        // 3. A set against itself: 0 (to rounding), and the default output beside SAMPLES.
        let third = try runDDPM(["fid", samples.path, "--reference", samples.path] + common)
        #expect(third.status == 0, "\(third.standardError)")
        let c = try decode(folder.appendingPathComponent("fid.json"))
        #expect(abs(c.fid) <= 1e-6, "FID of a set against itself: \(c.fid)")
    }

    /// A `ddpm sample` folder is read through its array (samples.npz when there is no samples.npy) or
    /// its png-dir images, never through its grid samples.png.
    @Test func aSampleFolderIsReadThroughItsArrayOrItsImages() throws {
        let folder = try temporaryFolder()
        let samples = images(4, 12, 12, 3, seed: 5), reference = folder.appendingPathComponent("reference.npy")
        try NPYFile.write(samples, to: reference)
        guard case let .uint8(bytes) = samples.elements else { return }
        let npzFolder = folder.appendingPathComponent("npz"), pngFolder = folder.appendingPathComponent("png")
        for sampled in [npzFolder, pngFolder] {
            try FileManager.default.createDirectory(at: sampled.appendingPathComponent("images"), withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: sampled.appendingPathComponent("sampler.json"))
            try RasterImage(width: 30, height: 30, format: .rgb, pixels: [UInt8](repeating: 9, count: 2700)).writePNG(
                to: sampled.appendingPathComponent("samples.png"))
        }
        try NPZFile.write([("arr_0", samples)], to: npzFolder.appendingPathComponent("samples.npz"))
        for i in 0..<4 {
            try RasterImage(width: 12, height: 12, format: .rgb, pixels: Array(bytes[(i * 432)..<((i + 1) * 432)])).writePNG(
                to: pngFolder.appendingPathComponent("images/00000\(i).png"))
        }
        for sampled in [npzFolder, pngFolder] {
            let result = try runDDPM(
                [
                    "fid", sampled.path, "--reference", reference.path, "--weights", Self.weights.path, "--kid-subsets", "2", "--threads",
                    "2",
                ])
            #expect(result.status == 0, "\(result.standardError)")
            let fid = try decode(sampled.appendingPathComponent("fid.json"))
            #expect(
                fid.sampleCount == 4 && abs(fid.fid) <= 1e-6, "\(sampled.lastPathComponent): \(fid.sampleCount) samples, FID \(fid.fid)")
        }
    }

    /// `ddpm train --fid-every`: a line per evaluation in log.jsonl, the reference statistics cached and reused on --resume.
    @Test func trainingLogsFIDAndCachesTheReference() throws {
        let folder = try temporaryFolder().appendingPathComponent("run")
        let flags = [
            "--fid-every", "2", "--fid-samples", "3", "--fid-steps", "2", "--fid-reference-count", "4",
            "--fid-weights", Self.weights.path, "--threads", "2",
        ]
        let first = try runDDPM(
            [
                "train", "--data", "deadleaves,size=8,count=20", "--model", "tiny", "--steps", "2", "--batch-size", "4",
                "--output", folder.path,
            ] + flags)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardError.contains("step 2: FID "), "\(first.standardError)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("fid.svg").path), "no FID curve")
        let cache = folder.appendingPathComponent("fid-reference.npz")
        #expect(try FeatureStatistics.read(from: cache).dimension == 2048)
        // The FID settings are in run.json: a resume without the flags goes on evaluating.
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("run.json"))) as! [String: Any]
        let fid = try #require(saved["fid"] as? [String: Any])
        #expect(fid["every"] as? Int == 2 && fid["samples"] as? Int == 3 && fid["steps"] as? Int == 2 && fid["referenceCount"] as? Int == 4)
        let second = try runDDPM(["train", "--resume", "--steps", "4", "--output", folder.path, "--threads", "2"])
        #expect(second.status == 0, "\(second.standardError)")
        #expect(second.standardError.contains("from \(cache.path)"), "\(second.standardError)")
        struct Line: Decodable { var step: Int; var fid: Double?; var kidMean: Double?; var loss: Double? }
        let lines = try String(contentsOf: folder.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        #expect(lines.filter { $0.fid != nil }.map(\.step) == [2, 4])
        #expect(lines.filter { $0.loss != nil }.map(\.step) == [1, 2, 3, 4])
        #expect(lines.allSatisfy { $0.fid.map { $0.isFinite && $0 > 0 } ?? true })
        // --fid-every 0 turns it off for the rest of the run.
        #expect(
            try runDDPM(["train", "--resume", "--steps", "5", "--output", folder.path, "--fid-every", "0", "--threads", "2"]).status == 0)
        let after = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("run.json"))) as! [String: Any]
        #expect(after["fid"] == nil)
        // Missing weights: refused before anything is written.
        let none = try runDDPM([
            "train", "--data", "deadleaves,size=8,count=20", "--model", "tiny", "--steps", "2", "--output",
            folder.deletingLastPathComponent().appendingPathComponent("other").path, "--fid-every", "1", "--fid-weights",
            "/nonexistent.pth",
        ])
        #expect(none.status == 1 && none.standardError.contains(FIDInceptionV3.weightsSHA256))
        #expect(!FileManager.default.fileExists(atPath: folder.deletingLastPathComponent().appendingPathComponent("other").path))
    }

    @Test func pngFoldersAndDataSpecs() throws {
        let folder = try temporaryFolder()
        let pngs = folder.appendingPathComponent("pngs")
        try FileManager.default.createDirectory(at: pngs, withIntermediateDirectories: true)
        let array = images(4, 20, 24, 3, seed: 3)
        guard case let .uint8(bytes) = array.elements else { return }
        for i in 0..<4 {
            let image = RasterImage(width: 24, height: 20, format: .rgb, pixels: Array(bytes[(i * 1440)..<((i + 1) * 1440)]))
            try image.writePNG(to: pngs.appendingPathComponent("\(i).png"))
        }
        let npy = folder.appendingPathComponent("same.npy")
        try NPYFile.write(array, to: npy)
        let common = ["--weights", Self.weights.path, "--kid-subsets", "2", "--threads", "2"]
        // The PNG folder holds the same images as the NPY file: the same FID against one reference.
        let reference = "deadleaves,size=16,count=5"
        let fromPNG = try runDDPM(
            ["fid", pngs.path, "--reference", reference, "--output", folder.appendingPathComponent("png.json").path] + common)
        #expect(fromPNG.status == 0, "\(fromPNG.standardError)")
        let fromNPY = try runDDPM(
            ["fid", npy.path, "--reference", reference, "--output", folder.appendingPathComponent("npy.json").path] + common)
        #expect(fromNPY.status == 0, "\(fromNPY.standardError)")
        let (p, n) = (try decode(folder.appendingPathComponent("png.json")), try decode(folder.appendingPathComponent("npy.json")))
        #expect(p.fid == n.fid && p.referenceCount == 5 && p.sampleCount == 4)
        // Refusals: a float array, an unknown reference, --dims outside the four layers.
        try NPYFile.write(NPYArray(shape: [2, 2], elements: .float32([0, 0, 0, 0])), to: folder.appendingPathComponent("f.npy"))
        #expect(try runDDPM(["fid", folder.appendingPathComponent("f.npy").path, "--reference", reference] + common).status == 1)
        #expect(try runDDPM(["fid", npy.path, "--reference", "no-such-data"] + common).status == 1)
        #expect(try runDDPM(["fid", npy.path, "--reference", reference, "--dims", "100"] + common).status == 64)
    }
}
