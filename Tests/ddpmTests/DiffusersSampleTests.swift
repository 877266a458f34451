// `ddpm sample` and `ddpm info` on diffusers folders: the scheduler config is followed (pipeline and
// model folders), x_T can be given and saved, and what cannot be followed is refused by key.
import DDPMNeuralNetworks
import DDPMTestSupport
import Foundation
import Testing

@Suite("diffusers folders in the tool")
struct DiffusersSampleTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let unet = tests.appendingPathComponent("DDPMModelsTests/Fixtures/tiny-diffusers-unet")
    static let schedulers = tests.appendingPathComponent("DDPMTrainingTests/Fixtures/diffusers-schedulers")

    /// A DDPMPipeline folder (as `save_pretrained` writes it) of the tiny U-Net with the fixture's
    /// scheduler config `config`, or with `json` as scheduler_config.json.
    static func pipeline(_ config: String = "cosine-v", json: String? = nil, caller: String = #function) throws -> URL {
        let folder = try temporaryFolder(caller).appendingPathComponent("pipeline")
        let manager = FileManager.default
        for part in ["unet", "scheduler"] {
            try manager.createDirectory(at: folder.appendingPathComponent(part), withIntermediateDirectories: true)
        }
        for file in ["config.json", "diffusion_pytorch_model.safetensors"] {
            try manager.copyItem(at: unet.appendingPathComponent(file), to: folder.appendingPathComponent("unet/\(file)"))
        }
        let scheduler = folder.appendingPathComponent("scheduler/scheduler_config.json")
        if let json {
            try Data(json.utf8).write(to: scheduler)
        } else {
            try manager.copyItem(at: schedulers.appendingPathComponent("configs/\(config).json"), to: scheduler)
        }
        try Data(
            #"{"_class_name": "DDPMPipeline", "_diffusers_version": "0.42.1", "scheduler": ["diffusers", "DDPMScheduler"], "unet": ["diffusers", "UNet2DModel"]}"#
                .utf8
        )
        .write(to: folder.appendingPathComponent("model_index.json"))
        return folder
    }

    static func bytes(_ url: URL) throws -> [UInt8] {
        guard case .uint8(let bytes) = try NPYFile.read(url).elements else { throw CocoaError(.fileReadCorruptFile) }
        return bytes
    }

    @Test("a pipeline folder samples as diffusers' DDIMScheduler from a given x_T: the bytes of diffusers' images")
    func ddimFromGivenNoiseMatchesDiffusers() throws {
        let folder = try Self.pipeline("linear-epsilon-fixed-small")
        let out = folder.deletingLastPathComponent().appendingPathComponent("out")
        let result = try runDDPM([
            "sample", "--checkpoint", folder.path, "--sampler", "ddim", "--steps", "10", "--spacing", "linspace",
            "--initial-noise", Self.schedulers.appendingPathComponent("x_T_f32.npy").path, "--output", out.path, "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(!result.standardError.contains("warning"), "\(result.standardError)")
        // diffusers' final x₀ (Float64 run) as bytes, NHWC: each of ours within 1 (rounding at a bin edge).
        let reference = try NPYFile.read(
            Self.schedulers.appendingPathComponent("cases/ddim-linear-epsilon-fixed-small-linspace-alpha-one-true-offset-0/trajectory.npy")
        ).tensor().doubles
        let final = Array(reference.suffix(2 * 3 * 8 * 8))
        var expected: [Double] = []
        for i in 0..<2 {
            for y in 0..<8 {
                for x in 0..<8 {
                    for c in 0..<3 {
                        expected.append(((final[((i * 3 + c) * 8 + y) * 8 + x] + 1) * 127.5).rounded().clamped(0, 255))
                    }
                }
            }
        }
        let ours = try Self.bytes(out.appendingPathComponent("samples.npy")).map(Double.init)
        expectClose(ours, expected, relative: 0, absolute: 1, "samples.npy vs diffusers")
        #expect(zip(ours, expected).filter { $0 != $1 }.count <= 4, "more than a few bytes off by one")
    }

    @Test("--save-initial-noise writes the x_T drawn; sampling from it gives the same bytes; the flag changes nothing")
    func initialNoiseRoundTrip() throws {
        let folder = try Self.pipeline("linear-epsilon-fixed-small")
        let base = folder.deletingLastPathComponent()
        func sample(_ name: String, _ extra: [String]) throws -> [UInt8] {
            let out = base.appendingPathComponent(name)
            let result = try runDDPM(
                [
                    "sample", "--checkpoint", folder.path, "--count", "3", "--batch-size", "2", "--steps", "5",
                    "--seed", "7", "--output", out.path, "--threads", "1",
                ] + extra)
            #expect(result.status == 0, "\(result.standardError)")
            return try Self.bytes(out.appendingPathComponent("samples.npy"))
        }
        let saved = try sample("saved", ["--save-initial-noise"])
        let noise = try NPYFile.read(base.appendingPathComponent("saved/x_T.npy"))
        #expect(noise.shape == [3, 3, 8, 8])
        #expect(try sample("plain", []) == saved)
        // Ancestral sampling draws its per-step noise after x_T, so the same seed gives the same chain.
        #expect(try sample("given", ["--initial-noise", base.appendingPathComponent("saved/x_T.npy").path]) == saved)
    }

    @Test("a scheduler config that cannot be followed is refused by file and key; unknown keys are warnings")
    func refusalsAndWarnings() throws {
        let bad = try Self.pipeline(json: #"{"beta_schedule": "foo"}"#)
        let refused = try runDDPM(["sample", "--checkpoint", bad.path, "--count", "1", "--steps", "2", "--output", bad.path + "-out"])
        #expect(refused.status == 1)
        #expect(
            refused.standardError.contains(
                #"scheduler/scheduler_config.json: beta_schedule "foo" is not supported; supported: linear, scaled_linear, squaredcos_cap_v2, sigmoid."#
            ),
            "\(refused.standardError)")
        let odd = try Self.pipeline(json: #"{"prediction_type": "epsilon", "karras_sigmas": true}"#)
        let warned = try runDDPM(["sample", "--checkpoint", odd.path, "--count", "1", "--steps", "2", "--output", odd.path + "-out"])
        #expect(warned.status == 0, "\(warned.standardError)")
        #expect(
            warned.standardError.contains(#"warning: "#) && warned.standardError.contains(#"key "karras_sigmas" is not read"#),
            "\(warned.standardError)")
    }

    @Test("--initial-noise of the wrong shape, or with a different --count, fails naming the file")
    func badInitialNoise() throws {
        let folder = try Self.pipeline()
        let noise = Self.schedulers.appendingPathComponent("noise_f32.npy")  // [10, 2, 3, 8, 8]
        let result = try runDDPM(["sample", "--checkpoint", folder.path, "--initial-noise", noise.path, "--output", folder.path + "-out"])
        #expect(result.status == 1)
        #expect(
            result.standardError.contains("shape [10, 2, 3, 8, 8] does not fit the model; expected [N, 3, 8, 8]"), "\(result.standardError)"
        )
        let counted = try runDDPM([
            "sample", "--checkpoint", folder.path, "--count", "5", "--output", folder.path + "-out",
            "--initial-noise", Self.schedulers.appendingPathComponent("x_T_f32.npy").path,
        ])
        #expect(counted.status == 1 && counted.standardError.contains("holds 2 samples but --count is 5"), "\(counted.standardError)")
    }

    @Test("ddpm info of a pipeline folder prints the process the scheduler config describes")
    func infoPrintsTheProcess() throws {
        let result = try runDDPM(["info", try Self.pipeline("scaled-linear-sample-clip").path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(
            result.standardOutput.contains("prediction: sample (x₀); ancestral variance: fixed_small; x̂₀: clipped to ±0.5"),
            "\(result.standardOutput)")
        #expect(result.standardOutput.contains("Gaussian diffusion, T = 1000: β₁ = 0.00085"), "\(result.standardOutput)")
    }
}

private extension Double {
    func clamped(_ low: Double, _ high: Double) -> Double { Swift.min(Swift.max(self, low), high) }
}
