// diffusers' DDPMScheduler and DDIMScheduler reproduced step for step: every case of the fixture
// made by scripts/reference/make_diffusers_scheduler_fixture.py (diffusers 0.42.1, the tiny
// UNet2DModel of DDPMModelsTests), in Float64 and Float32.
import DDPMDiffusion
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTestSupport
import DDPMTraining
import Foundation
import Testing

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
private let folder = fixtures.appendingPathComponent("diffusers-schedulers")
private let unetFolder = fixtures.deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("DDPMModelsTests/Fixtures/tiny-diffusers-unet")

/// One case of manifest.json.
struct SchedulerCase: CustomStringConvertible, Sendable {
    var name: String
    var scheduler: String
    var config: [String: any Sendable]
    var timesteps: [Int]
    var eta: Double?
    var description: String { name }

    static let all: [SchedulerCase] = {
        let data = try! Data(contentsOf: folder.appendingPathComponent("manifest.json"))
        let manifest = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (manifest["cases"] as! [[String: Any]]).map { c in
            SchedulerCase(
                name: c["name"] as! String, scheduler: c["scheduler"] as! String,
                config: (c["effective_config"] as! [String: Any]).mapValues { $0 as! any Sendable },
                timesteps: (c["timesteps"] as! [NSNumber]).map(\.intValue), eta: (c["eta"] as? NSNumber)?.doubleValue)
        }
    }()
}

private func array(_ path: String, dtype: DType) throws -> Tensor {
    try NPYFile.read(folder.appendingPathComponent(path)).tensor().converted(to: dtype)
}

@Suite("diffusers schedulers, step for step")
struct DiffusersSchedulerTests {
    @Test(
        "every case: the timesteps, and x after every step within 1e-9 (Float64) and 2e-4 (Float32) of diffusers in Float64, relative to max |x|",
        arguments: SchedulerCase.all)
    func reproducesDiffusers(_ testCase: SchedulerCase) throws {
        let file = try SchedulerConfigFile(testCase.config, path: testCase.name)
        #expect(file.warnings.isEmpty, "\(file.warnings)")
        let scheduler = file.scheduler
        #expect(try scheduler.timesteps(count: testCase.timesteps.count) == testCase.timesteps)
        for (dtype, suffix, tolerance) in [(DType.float64, "", 1e-9), (.float32, "_f32", 2e-4)] {
            let unet = try DiffusersFolder.load(unetFolder, dtype: dtype)
            let model: DiffusionModel = { unet($0, timesteps: $1, mode: .evaluation) }
            let noise = try array("noise\(suffix).npy", dtype: dtype).split(sizes: [Int](repeating: 1, count: 10), axis: 0)
                .map { $0.reshaped([2, 3, 8, 8]) }
            var after: [Tensor] = []
            var generator = PhiloxGenerator(seed: 0)
            let initial = try array("x_T\(suffix).npy", dtype: dtype)
            let final =
                try testCase.scheduler == "DDIMScheduler"
                ? scheduler.sampleDDIM(
                    model: model, initialNoise: initial, steps: testCase.timesteps.count, eta: testCase.eta ?? 0,
                    generator: &generator
                ) { after.append($0.current) }
                : scheduler.sampleAncestral(
                    model: model, initialNoise: initial, steps: testCase.timesteps.count, noise: { noise[$0] },
                    generator: &generator
                ) { after.append($0.current) }
            after.removeFirst()  // x_T, the first step's input
            after.append(final)
            // Float64 against diffusers in Float64. Float32 against diffusers in Float64, which the
            // Float32 path approximates: the scheduler runs in Float64, the network's Float32 rounding
            // of ε̂ is multiplied by 1/√ᾱ_T ≈ 156 in x̂₀ at t = 999 (measured: 1.7e-4 of max |x|);
            // and against diffusers' own Float32 run, which also rounds ᾱ and every step in Float32
            // (7.9e-5 from its Float64 run), with 1.5 times that tolerance.
            for (file, allowance) in [("trajectory.npy", tolerance)] + (dtype == .float32 ? [("trajectory_f32.npy", 1.5 * tolerance)] : [])
            {
                let reference = try array("cases/\(testCase.name)/\(file)", dtype: .float64).split(
                    sizes: [Int](repeating: 1, count: 10), axis: 0)
                #expect(after.count == reference.count)
                var worst = 0.0
                defer { print("\(testCase) \(dtype) vs \(file): largest deviation \(worst) of max |x|") }
                for (k, (ours, theirs)) in zip(after, reference).enumerated() {
                    let expected = theirs.doubles
                    let scale = expected.map(abs).max()!
                    worst = max(worst, zip(ours.doubles, expected).map { abs($0 - $1) }.max()! / scale)
                    expectClose(
                        ours.doubles, expected, relative: 0, absolute: allowance * scale, "\(testCase) \(dtype) vs \(file), after step \(k)"
                    )
                }
            }
        }
    }
}
