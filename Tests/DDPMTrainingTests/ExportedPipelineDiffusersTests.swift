// The committed `ddpm export` of a tiny run (Fixtures/exported-pipeline/) as diffusers 0.42.1 saw
// it (Fixtures/exported-pipeline-diffusers/, both written by
// scripts/reference/make_exported_pipeline_fixture.sh): DDPMPipeline.from_pretrained loaded it
// without a warning, and DDIM-10 (η = 0) from its x_T gives diffusers' steps.
import DDPMDiffusion
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTestSupport
import DDPMTraining
import Foundation
import Testing

/// The committed export sampled with DDIM-10 (η = 0) as diffusers 0.42.1 sampled it.
@Suite("diffusers export, checked by diffusers")
struct ExportedPipelineDiffusersTests {
    static let check = fixture("exported-pipeline-diffusers")

    func array(_ name: String, _ dtype: DType) throws -> Tensor {
        try NPYFile.read(Self.check.appendingPathComponent(name)).tensor().converted(to: dtype)
    }

    @Test("diffusers loaded the folder with DDPMPipeline.from_pretrained as a DDPMScheduler with the written config, printing no warning")
    func diffusersLoadedIt() throws {
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: Self.check.appendingPathComponent("ddim10.json"))) as? [String: Any])
        #expect(report["loaded"] as? Bool == true && report["pipeline"] as? String == "DDPMPipeline")
        #expect(report["scheduler_class"] as? String == "DDPMScheduler" && report["unet_class"] as? String == "UNet2DModel")
        let messages = try #require(report["messages_while_loading"] as? [String: [String]])
        #expect(messages["log_records"] == [] && messages["python_warnings"] == [] && messages["stdout"] == [], "\(messages)")
        // diffusers' config (its keys, with the defaults of what the file does not set) agrees with every key written.
        let loaded = try #require(report["scheduler_config"] as? [String: Any])
        let written = try schedulerConfig(fixture("exported-pipeline"))
        for (key, value) in written where !key.hasPrefix("_") {
            #expect("\(loaded[key] ?? "missing")" == "\(value)", "\(key)")
        }
    }

    @Test("DDIM-10 (η = 0) from x_T after every step: within 1e-9 (Float64) and 2e-4 (Float32) of diffusers, relative to max |x|")
    func samplesAsDiffusers() throws {
        let trained = try TrainedModel.load(fixture("exported-pipeline"))
        #expect(trained.warnings.isEmpty, "\(trained.warnings)")
        let scheduler = try #require(trained.scheduler)
        #expect(try scheduler.timesteps(count: 10) == [900, 800, 700, 600, 500, 400, 300, 200, 100, 0])
        // Float64: the network's Float32 weights widened, as diffusers' float64 path (unet.double(),
        // the time embedding and the DDIM tables in float64). Float32: against diffusers in float64
        // and as is in float32; the network's rounding of ε̂ is multiplied by 1/√ᾱₜ in x̂₀ (the
        // tolerances are the scheduler fixture's). Measured: 2.6e-15 (Float64); 2.0e-6 against
        // diffusers in float64 and 2.1e-6 against diffusers in float32 (Float32).
        let cases: [(DType, String, [(String, Double)])] = [
            (.float64, "x_T.npy", [("ddim10_trajectory.npy", 1e-9)]),
            (.float32, "x_T.npy", [("ddim10_trajectory.npy", 2e-4), ("ddim10_f32_trajectory.npy", 2e-4)]),
        ]
        for (dtype, start, references) in cases {
            let network = try #require(TrainedModel.load(fixture("exported-pipeline")).network as? UNet)
            if dtype != .float32 { network.convertParameters(to: dtype) }
            let model: DiffusionModel = { network($0, timesteps: $1, mode: .evaluation) }
            var after: [Tensor] = []
            var generator = PhiloxGenerator(seed: 0)
            let final = try scheduler.sampleDDIM(model: model, initialNoise: array(start, dtype), steps: 10, eta: 0, generator: &generator)
            {
                after.append($0.current)
            }
            after.removeFirst()  // x_T
            after.append(final)
            #expect(final.shape == [2, 1, 8, 8] && final.dtype == dtype)
            for (file, tolerance) in references {
                let reference =
                    try array(file, .float64).split(sizes: [Int](repeating: 1, count: 10), axis: 0)
                    + [array(file.replacingOccurrences(of: "_trajectory", with: ""), .float64)]  // the final sample, ddim10{,_f32}.npy
                #expect(after.count + 1 == reference.count)
                for (k, (ours, theirs)) in zip(after + [final], reference).enumerated() {
                    let expected = theirs.doubles
                    let scale = expected.map(abs).max()!
                    let step = k < 10 ? "after step \(k)" : "final sample"
                    expectClose(ours.doubles, expected, relative: 0, absolute: tolerance * scale, "\(dtype) vs \(file), \(step)")
                }
            }
        }
    }
}
