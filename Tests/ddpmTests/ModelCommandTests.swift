import DDPMTestSupport
import Foundation
import DDPMNeuralNetworks
import DDPMTensors
import Testing

/// The golden diffusers fixture of ModelsTests (scripts/reference/make_diffusers_unet_fixture.py).
private let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("DDPMModelsTests/Fixtures/tiny-diffusers-unet")

/// Element `index` of an [N, C, H, W] float32 NPY array, as a [1, C, H, W] array.
private func example(_ url: URL, _ index: Int) throws -> NPYArray {
    let array = try NPYFile.read(url)
    let size = array.shape.dropFirst().reduce(1, *)
    guard case .float32(let values) = array.elements else { throw CocoaError(.fileReadCorruptFile) }
    return NPYArray(shape: [1] + array.shape.dropFirst(), elements: .float32(Array(values[index * size..<(index + 1) * size])))
}

@Suite struct ModelCommandTests {
    @Test func sampleReadsADiffusersFolder() throws {
        let directory = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        func sample(_ name: String, seed: String) throws -> [UInt8] {
            let out = directory.appendingPathComponent(name)
            let result = try runDDPM([
                "sample", "--checkpoint", fixture.path, "--count", "2", "--sampler", "ddim", "--steps", "4",
                "--seed", seed, "--output", out.path, "--threads", "1",
            ])
            #expect(result.status == 0, "\(result.standardError)")
            let array = try NPYFile.read(out.appendingPathComponent("samples.npy"))
            let config =
                try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.appendingPathComponent("config.json"))) as! [String: Any]
            let size = (config["sample_size"] as! NSNumber).intValue
            #expect(array.shape == [2, size, size, 3], "samples.npy shape \(array.shape)")
            guard case .uint8(let bytes) = array.elements else { Issue.record("samples.npy is not uint8"); return [] }
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples.png").path))
            return bytes
        }
        let a = try sample("a", seed: "1"), b = try sample("b", seed: "1"), c = try sample("c", seed: "2")
        #expect(a == b, "DDIM (η = 0) from the same seed is deterministic")
        #expect(a != c, "another seed gives other samples")
        #expect(Set(a).count > 16, "samples use many intensity levels, not a constant image")
    }

    @Test func infoPrintsConfigAndParameterCount() throws {
        let result = try runDDPM(["info", fixture.path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("parameters: 45,259"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("\"block_out_channels\""))
        #expect(result.standardOutput.contains("\"attention_head_dim\" : null"))
    }

    @Test func infoOnMissingFolderFails() throws {
        let directory = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try runDDPM(["info", directory.path])
        #expect(result.status != 0)
        #expect(result.standardError.contains("config.json"), "\(result.standardError)")
    }

    /// Both batch elements, each run alone: element 0 at timestep 0 and element 1 at 999 (the
    /// fixture's timesteps), against the matching rows of output.npy.
    @Test(arguments: [(0, 0), (1, 999)])
    func denoiseReproducesFixture(_ index: Int, _ timestep: Int) throws {
        let directory = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("x.npy"), output = directory.appendingPathComponent("out.npy")
        try NPYFile.write(example(fixture.appendingPathComponent("input.npy"), index), to: input)
        let result = try runDDPM([
            "denoise", "--checkpoint", fixture.path, "--input", input.path,
            "--timestep", String(timestep), "--output", output.path, "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let got = try NPYFile.read(output)
        let expected = try example(fixture.appendingPathComponent("output.npy"), index)
        #expect(got.shape == [1, 3, 8, 8])
        guard case .float32(let y) = got.elements, case .float32(let reference) = expected.elements else {
            Issue.record("output is not float32")
            return
        }
        let scale = reference.map { abs(Double($0)) }.max()!
        let error = zip(y, reference).map { abs(Double($0) - Double($1)) }.max()!
        #expect(error <= 1e-4 * scale, "max |Δ| \(error) vs max |ref| \(scale)")
    }

    @Test func denoiseWholeBatchAtOneTimestep() throws {
        let directory = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.npy")
        let result = try runDDPM([
            "denoise", "--checkpoint", fixture.path, "--input", fixture.appendingPathComponent("input.npy").path,
            "--timestep", "0", "--output", output.path,
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let got = try NPYFile.read(output)
        #expect(got.shape == [2, 3, 8, 8])
        // Row 0 is at timestep 0 in the fixture too.
        guard case .float32(let y) = got.elements,
            case .float32(let reference) = try example(fixture.appendingPathComponent("output.npy"), 0).elements
        else {
            Issue.record("output is not float32")
            return
        }
        let error = zip(y.prefix(192), reference).map { abs(Double($0) - Double($1)) }.max()!
        #expect(error <= 1e-4 * reference.map { abs(Double($0)) }.max()!)
    }

    @Test func denoiseMissingInputFailsAndWritesNothing() throws {
        let directory = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.npy")
        let missing = directory.appendingPathComponent("no-such-input.npy")
        let result = try runDDPM([
            "denoise", "--checkpoint", fixture.path, "--input", missing.path,
            "--timestep", "0", "--output", output.path,
        ])
        #expect(result.status != 0)
        #expect(result.standardError.contains("--input") && result.standardError.contains("no-such-input.npy"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func denoiseWrongShapeFailsAndWritesNothing() throws {
        let directory = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("x.npy"), output = directory.appendingPathComponent("out.npy")
        try NPYFile.write(NPYArray(shape: [1, 3, 16, 16], elements: .float32(Array(repeating: 0, count: 768))), to: input)
        let result = try runDDPM([
            "denoise", "--checkpoint", fixture.path, "--input", input.path,
            "--timestep", "0", "--output", output.path,
        ])
        #expect(result.status != 0)
        #expect(
            result.standardError.contains("[1, 3, 16, 16]") && result.standardError.contains("[N, 3, 8, 8]"),
            "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["x.npy"])
    }

    @Test func denoiseBadCheckpointAndTimestepFail() throws {
        let directory = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.npy")
        let input = fixture.appendingPathComponent("input.npy").path
        let noModel = try runDDPM(["denoise", "--checkpoint", directory.path, "--input", input, "--timestep", "0", "--output", output.path])
        #expect(noModel.status != 0)
        #expect(noModel.standardError.contains("config.json"), "\(noModel.standardError)")
        for t in ["-1", "1000"] {
            let bad = try runDDPM(["denoise", "--checkpoint", fixture.path, "--input", input, "--timestep", t, "--output", output.path])
            #expect(bad.status != 0)
            #expect(bad.standardError.contains("--timestep"), "\(bad.standardError)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }
}
