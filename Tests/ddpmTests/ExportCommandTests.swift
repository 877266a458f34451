// End-to-end tests of `ddpm export`: a run becomes a diffusers pipeline folder that the tool reads
// back; what diffusers cannot express and an existing --output fail with exit status 1 and a reason.
import DDPMTestSupport
import Foundation
import Testing

@Suite("ddpm export")
struct ExportCommandTests {
    static let tiny = [
        "--data", "deadleaves,size=8,count=16", "--model", "tiny", "--timesteps", "20", "--steps", "2",
        "--batch-size", "8", "--warmup", "0", "--threads", "1",
    ]

    @Test func writesAPipelineFolderThatLoadsBack() throws {
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        let trained = try runDDPM(["train", "--output", run.path, "--schedule", "cosine", "--prediction", "velocity"] + Self.tiny)
        #expect(trained.status == 0, "\(trained.standardError)")

        var weights: [Data] = []
        for (name, flags) in [("pipeline", [String]()), ("raw", ["--raw-weights"])] {
            let out = dir.appendingPathComponent(name)
            let result = try runDDPM(["export", "--checkpoint", run.path, "--output", out.path] + flags)
            #expect(result.status == 0, "\(result.standardError)")
            #expect(
                result.standardOutput.contains(
                    "DDPMScheduler: T = 20, beta_schedule squaredcos_cap_v2, v_prediction, fixed_large, clip_sample"),
                "\(result.standardOutput)")
            #expect(result.standardOutput.contains(flags.isEmpty ? "EMA weights" : "raw weights"), "\(result.standardOutput)")
            for file in [
                "model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "scheduler/scheduler_config.json",
            ] {
                #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(name)/\(file)")
            }
            weights.append(try Data(contentsOf: out.appendingPathComponent("unet/diffusion_pytorch_model.safetensors")))
        }
        #expect(weights[0] != weights[1], "the EMA and the raw weights are written")
        #expect(try folderContents(dir) == ["pipeline", "raw", "run"])

        // The tool reads the folder back as a diffusers pipeline.
        let info = try runDDPM(["info", dir.appendingPathComponent("pipeline").path])
        #expect(info.status == 0, "\(info.standardError)")
        #expect(
            info.standardOutput.contains("Gaussian diffusion, T = 20") && info.standardOutput.contains("v_prediction"),
            "\(info.standardOutput)")
        #expect(info.standardError.isEmpty, "no warnings: \(info.standardError)")

        // An existing --output: exit 1, nothing changed.
        let before = try Data(contentsOf: dir.appendingPathComponent("pipeline/unet/diffusion_pytorch_model.safetensors"))
        let again = try runDDPM([
            "export", "--checkpoint", run.path, "--output", dir.appendingPathComponent("pipeline").path, "--raw-weights",
        ])
        #expect(again.status == 1)
        #expect(again.standardError.contains("already exists; choose another folder or delete it"), "\(again.standardError)")
        #expect(try Data(contentsOf: dir.appendingPathComponent("pipeline/unet/diffusion_pytorch_model.safetensors")) == before)
        #expect(try folderContents(dir) == ["pipeline", "raw", "run"])
    }

    /// The exported folder means the same model: sampled with the same flags (diffusers' DDIM and
    /// DDPM steps, leading spacing), it gives the run folder's samples byte for byte.
    @Test(arguments: [["--sampler", "ddim", "--steps", "5"], ["--sampler", "ancestral", "--steps", "20"]])
    func exportSamplesLikeTheRun(_ sampler: [String]) throws {
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        #expect(try runDDPM(["train", "--output", run.path] + Self.tiny).status == 0)
        let export = dir.appendingPathComponent("export")
        #expect(try runDDPM(["export", "--checkpoint", run.path, "--output", export.path]).status == 0)
        var outputs: [Data] = []
        for folder in [run, export] {
            let out = dir.appendingPathComponent("samples-\(folder.lastPathComponent)")
            let result = try runDDPM(
                [
                    "sample", "--checkpoint", folder.path, "--count", "3", "--spacing", "leading", "--seed", "9",
                    "--output", out.path, "--threads", "1",
                ] + sampler)
            #expect(result.status == 0, "\(result.standardError)")
            outputs.append(try Data(contentsOf: out.appendingPathComponent("samples.npy")))
        }
        #expect(outputs[0] == outputs[1], "samples of the run and of its export differ")
    }

    @Test func refusesABinomialRun() throws {
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        let trained = try runDDPM([
            "train", "--output", run.path, "--diffusion", "binomial", "--data", "deadleaves,size=8,count=16,binarize",
            "--model", "tiny", "--timesteps", "10", "--steps", "1", "--batch-size", "8", "--threads", "1",
        ])
        #expect(trained.status == 0, "\(trained.standardError)")
        let result = try runDDPM(["export", "--checkpoint", run.path, "--output", dir.appendingPathComponent("pipeline").path])
        #expect(result.status == 1)
        #expect(result.standardError.contains("cannot export: process.kind: binomial diffusion"), "\(result.standardError)")
        #expect(result.standardError.contains("no diffusers scheduler"), "\(result.standardError)")
        #expect(try folderContents(dir) == ["run"])
    }

    @Test(arguments: [
        ([String](), 64, "--checkpoint"),  // flags missing: a usage error
        (["--checkpoint", "/nonexistent/run"], 64, "--output"),
        (["--checkpoint", "/nonexistent/run", "--output", "OUT"], 1, "no such folder"),
    ])
    func badArguments(_ arguments: [String], _ status: Int32, _ fragment: String) throws {
        let dir = try temporaryFolder()
        let result = try runDDPM(["export"] + arguments.map { $0 == "OUT" ? dir.appendingPathComponent("out").path : $0 })
        #expect(result.status == status, "\(result.standardError)")
        #expect(result.standardError.contains(fragment), "\(result.standardError)")
        #expect(try folderContents(dir).isEmpty)
    }
}
