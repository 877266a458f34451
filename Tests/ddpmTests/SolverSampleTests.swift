// `ddpm sample --sampler dpm-solver++|sde-dpm-solver++|unipc`: a diffusers pipeline samples as
// diffusers' DPMSolverMultistepScheduler and UniPCMultistepScheduler do (the bytes of diffusers'
// images, Fixtures/solvers/tiny-unet of DDPMDiffusionTests), sampler.json records the settings,
// a run folder samples with every placement, and bad flags are refused.
import DDPMNeuralNetworks
import DDPMTestSupport
import Foundation
import Testing

@Suite("multistep solvers in the tool")
struct SolverSampleTests {
    static let fixture = DiffusersSampleTests.tests.appendingPathComponent("DDPMDiffusionTests/Fixtures/solvers/tiny-unet")

    static func record(_ folder: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("sampler.json"))) as! [String: Any]
    }

    /// Checks that samples.npy in `out` holds the bytes of diffusers' final float32 samples (2 × 3 × 8 × 8,
    /// NCHW) in `file`, to one level for at most a few bytes; returns those bytes (NHWC).
    static func expectSamples(in out: URL, asDiffusers file: URL, _ name: String) throws -> [Double] {
        let final = try NPYFile.read(file).tensor().doubles
        var expected: [Double] = []
        for i in 0..<2 {
            for y in 0..<8 {
                for x in 0..<8 {
                    for c in 0..<3 {
                        expected.append(Swift.min(Swift.max(((final[((i * 3 + c) * 8 + y) * 8 + x] + 1) * 127.5).rounded(), 0), 255))
                    }
                }
            }
        }
        let ours = try DiffusersSampleTests.bytes(out.appendingPathComponent("samples.npy")).map(Double.init)
        expectClose(ours, expected, relative: 0, absolute: 1, "\(name): samples.npy vs diffusers")
        #expect(zip(ours, expected).filter { $0 != $1 }.count <= 4, "\(name): more than a few bytes off by one")
        return expected
    }

    @Test(
        "a pipeline folder samples as diffusers' solvers from a given x_T: the bytes of diffusers' images; sampler.json says how",
        arguments: ["dpm-solver++", "unipc"])
    func solverFromGivenNoiseMatchesDiffusers(_ sampler: String) throws {
        let folder = try DiffusersSampleTests.pipeline("thresholding", caller: "solver-\(sampler)")
        let out = folder.deletingLastPathComponent().appendingPathComponent("out")
        let result = try runDDPM([
            "sample", "--checkpoint", folder.path, "--sampler", sampler, "--steps", "10", "--output", out.path, "--threads", "1",
            "--initial-noise", DiffusersSampleTests.schedulers.appendingPathComponent("x_T_f32.npy").path,
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let expected = try Self.expectSamples(in: out, asDiffusers: Self.fixture.appendingPathComponent("\(sampler).npy"), sampler)
        #expect(Set(expected).count > 100, "the reference is not saturated")

        let record = try Self.record(out)
        #expect(record["sampler"] as? String == sampler)
        #expect((record["steps"] as? NSNumber)?.intValue == 10 && (record["order"] as? NSNumber)?.intValue == 2)
        #expect((record["timesteps"] as? [NSNumber])?.map(\.intValue) == [900, 810, 720, 630, 540, 450, 360, 270, 180, 90], "\(record)")
        #expect((record["orders"] as? [NSNumber])?.map(\.intValue) == [1, 2, 2, 2, 2, 2, 2, 2, 2, 1], "\(record)")
        #expect(
            record["spacing"] as? String == "leading" && record["final_noise"] as? String == "zero"
                && record["step_placement"] as? String == "uniform")
        #expect((record["x0_limit"] as? String)?.contains("dynamic thresholding (quantile 0.9, at most 1.5)") == true, "\(record)")
        #expect(record["initial_noise"] is String && record["weights"] == nil, "\(record)")
    }

    @Test("a run folder samples with each solver and placement; the SDE variant is reproducible by --seed")
    func runFolderSolvers() throws {
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        let trained = try runDDPM(["train", "--output", run.path, "--steps", "4"] + TrainSampleTests.toy)
        #expect(trained.status == 0, "\(trained.standardError)")
        func sample(_ name: String, _ flags: [String]) throws -> (csv: String, record: [String: Any]) {
            let out = dir.appendingPathComponent(name)
            let result = try runDDPM(
                ["sample", "--checkpoint", run.path, "--count", "5", "--output", out.path, "--threads", "1", "--seed", "3"] + flags)
            #expect(result.status == 0, "\(flags): \(result.standardError)")
            return (try String(contentsOf: out.appendingPathComponent("samples.csv"), encoding: .utf8), try Self.record(out))
        }
        for (placement, sampler) in [("uniform", "dpm-solver++"), ("log-snr", "unipc"), ("karras", "sde-dpm-solver++")] {
            let (csv, record) = try sample(
                "\(sampler)-\(placement)", ["--sampler", sampler, "--step-placement", placement, "--order", "2", "--steps", "8"])
            let values = csv.split(separator: "\n").dropFirst().flatMap { $0.split(separator: ",") }.compactMap { Double($0) }
            #expect(values.count == 10 && values.allSatisfy(\.isFinite), "\(sampler) \(placement): \(csv)")
            #expect(record["step_placement"] as? String == placement && (record["steps"] as? NSNumber)?.intValue == 8, "\(record)")
            #expect((record["sigmas"] as? [NSNumber])?.count == 9 && record["weights"] as? String == "ema", "\(record)")
        }
        let (defaults, record) = try sample("default", ["--sampler", "dpm-solver++"])
        #expect(
            (record["steps"] as? NSNumber)?.intValue == 20 && (record["order"] as? NSNumber)?.intValue == 2
                && record["spacing"] as? String == "linspace",
            "\(record)")
        #expect(record["x0_limit"] as? String == "none", "points are not clipped: \(record)")
        #expect(!defaults.isEmpty)
        // Without --sampler a run folder samples with the recommended SDE-DPM-Solver++ 2M in 10 steps.
        let recommended = try sample("recommended", []).record
        #expect(
            recommended["sampler"] as? String == "sde-dpm-solver++" && (recommended["steps"] as? NSNumber)?.intValue == 10
                && (recommended["order"] as? NSNumber)?.intValue == 2 && recommended["algorithm"] as? String == "sde-dpmsolver++"
                && (recommended["timesteps"] as? [Any])?.count == 10,
            "\(recommended)")
        let even = try runDDPM(["sample", "--checkpoint", run.path, "--count", "1", "--spacing", "even", "--output", dir.path + "/even"])
        #expect(
            even.status == 1 && even.standardError.contains("(this model's default)")
                && even.standardError.contains("add --sampler ancestral or ddim"), "\(even.standardError)")
        let order3 = try runDDPM(["sample", "--checkpoint", run.path, "--count", "1", "--order", "3", "--output", dir.path + "/o3"])
        #expect(order3.status == 1 && order3.standardError.contains("sde-dpm-solver++"), "\(order3.standardError)")
        let thresholded = try sample("thresholded", ["--sampler", "unipc", "--steps", "6", "--dynamic-thresholding", "0.9,1.5"]).record
        #expect(
            (thresholded["x0_limit"] as? String)?.contains("dynamic thresholding (quantile 0.9, at most 1.5)") == true, "\(thresholded)")
        let first = try sample("sde-1", ["--sampler", "sde-dpm-solver++", "--steps", "6"]).csv
        #expect(try sample("sde-2", ["--sampler", "sde-dpm-solver++", "--steps", "6"]).csv == first)
        let ddim = try sample("ddim", ["--sampler", "ddim", "--steps", "5"]).record
        #expect(ddim["sampler"] as? String == "ddim" && (ddim["eta"] as? NSNumber)?.doubleValue == 0 && ddim["order"] == nil, "\(ddim)")
    }

    /// Fixtures/solvers/configs of DDPMDiffusionTests (scripts/reference/make_solver_config_fixture.py).
    static let configs = DiffusersSampleTests.tests.appendingPathComponent("DDPMDiffusionTests/Fixtures/solvers/configs")

    struct ConfigCase: Decodable {
        var name: String
        var scheduler: String
        var timesteps: [Int]
        var sigmas: [Double]
        var file: String?
    }

    static let configCases: [ConfigCase] = {
        struct Manifest: Decodable { var cases: [ConfigCase] }
        let data = try! Data(contentsOf: configs.appendingPathComponent("manifest.json"))
        return try! JSONDecoder().decode(Manifest.self, from: data).cases
    }()

    @Test(
        "a pipeline whose scheduler_config.json diffusers wrote for DPMSolverMultistepScheduler or UniPCMultistepScheduler samples with that solver and its settings: diffusers' timesteps, σ and images",
        arguments: configCases.map(\.name))
    func solverConfigIsTheDefaultSampler(_ name: String) throws {
        let expected = try #require(Self.configCases.first { $0.name == name })
        let json = try String(contentsOf: Self.configs.appendingPathComponent("\(name)/scheduler_config.json"), encoding: .utf8)
        let folder = try DiffusersSampleTests.pipeline(json: json, caller: "config-\(name)")
        let out = folder.deletingLastPathComponent().appendingPathComponent("out")
        let result = try runDDPM([
            "sample", "--checkpoint", folder.path, "--steps", "10", "--output", out.path, "--threads", "1",
            "--initial-noise", DiffusersSampleTests.schedulers.appendingPathComponent("x_T_f32.npy").path,
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(!result.standardError.contains("not read by this toolkit"), "\(result.standardError)")
        let record = try Self.record(out)
        let sampler =
            expected.scheduler == "UniPCMultistepScheduler" ? "unipc" : name.hasPrefix("sde") ? "sde-dpm-solver++" : "dpm-solver++"
        #expect(record["sampler"] as? String == sampler, "\(record)")
        #expect((record["timesteps"] as? [NSNumber])?.map(\.intValue) == expected.timesteps, "\(record)")
        // diffusers computes σ = √((1 − ᾱ)/ᾱ) from float32 ᾱ, where 1 − ᾱ cancels near t = 0 (σ_min
        // 0.0100013 against our float64 0.0100005); the placements themselves differ by far more.
        expectClose((record["sigmas"] as? [NSNumber] ?? []).map(\.doubleValue), expected.sigmas, relative: 1e-3, absolute: 0, "\(name): σ")
        guard let file = expected.file else { return }
        _ = try Self.expectSamples(in: out, asDiffusers: Self.configs.appendingPathComponent(file), name)
    }

    @Test(
        "a solver config setting that is not implemented is refused naming the file and the key",
        arguments: [
            (#""solver_type": "heun""#, "solver_type \"heun\" is not supported"),
            (#""euler_at_final": true"#, "euler_at_final true is not supported"),
            (#""algorithm_type": "sde-dpmsolver""#, "algorithm_type \"sde-dpmsolver\" is not supported"),
            (#""use_exponential_sigmas": true"#, "use_exponential_sigmas true is not supported"),
            (#""solver_order": 4"#, "solver_order 4 is not an integer in 1…3"),
        ])
    func solverConfigRefusals(_ setting: String, _ message: String) throws {
        let json = #"{"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -Infinity, "# + setting + "}"
        let folder = try DiffusersSampleTests.pipeline(json: json, caller: "config-refusal-\(setting)")
        let result = try runDDPM(["sample", "--checkpoint", folder.path, "--count", "1", "--output", folder.path + "-out"])
        #expect(result.status == 1, "\(setting): \(result.standardError)")
        #expect(result.standardError.contains("scheduler_config.json") && result.standardError.contains(message), "\(result.standardError)")
    }

    @Test(
        "bad solver flags are refused by name: exit 64 for flags, 1 for what the model decides",
        arguments: [
            (["--sampler", "dpm-solver++", "--order", "4"], 64, "--order 4: --sampler dpm-solver++ has orders 1 to 3"),
            (["--sampler", "sde-dpm-solver++", "--order", "3"], 64, "the SDE variant is at most second order"),
            (["--sampler", "unipc", "--order", "0"], 64, "--order 0: --sampler unipc has orders 1 to 3"),
            (["--sampler", "ddim", "--order", "2"], 64, "--order, --step-placement and --dynamic-thresholding apply to"),
            (["--step-placement", "karras"], 1, "--order, --step-placement and --dynamic-thresholding apply to"),
            (
                ["--sampler", "unipc", "--dynamic-thresholding", "1.2,1"], 64,
                "--dynamic-thresholding 1.2,1: dynamic thresholding ratio 1.2 must be in (0, 1]"
            ),
            (["--sampler", "unipc", "--dynamic-thresholding", "0.9"], 64, "give the quantile and the largest threshold"),
            (["--sampler", "unipc", "--eta", "0.5"], 64, "--eta applies to --sampler ddim only"),
            (["--sampler", "dpm-solver++", "--steps", "1001"], 1, "--steps 1001 is more than the model's T = 1000"),
            (["--sampler", "dpm-solver++", "--spacing", "even"], 1, "--spacing even is the respacing of the ancestral and DDIM samplers"),
        ])
    func refusals(_ flags: [String], _ status: Int32, _ message: String) throws {
        let folder = try DiffusersSampleTests.pipeline("linear-epsilon-fixed-small", caller: "refusal-\(flags.joined())")
        let result = try runDDPM(["sample", "--checkpoint", folder.path, "--count", "1", "--output", folder.path + "-out"] + flags)
        #expect(result.status == status, "\(flags): \(result.standardError)")
        #expect(result.standardError.contains(message), "\(flags): \(result.standardError)")
    }
}
