// End-to-end tests of SD15's learned reverse process: `ddpm train --loss vlb --variance learned` on
// the swiss roll, and `ddpm demo --paper sd15`.
import DDPMTestSupport
import DDPMDatasets
import DDPMDiffusion
import Foundation
import DDPMImaging
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors
import Testing

@Suite("SD15: the bound with learned mean and variance")
struct SD15Tests {
    /// The held-out bound (bits/dim) of a toy model for the swiss roll: T = 40, cosine β (ᾱ_T ≈ 0),
    /// ε-prediction, learned log σ², continuous decoder — what `ddpm train` builds for these flags.
    static func heldOutBound(_ model: ToyMLP) throws -> Double {
        let diffusion = try GaussianDiffusion(
            schedule: DiffusionSchedule(.cosine(), stepCount: 40), meanPrediction: .noise, varianceKind: .learned,
            lossKind: .vlb, decoderKind: .continuous)
        var generator = PhiloxGenerator(seed: 424242)
        let points = try ToyData.swissRoll(count: 1000, generator: &generator).batch(indices: Array(0..<1000))
        return try diffusion.variationalBound(model: { model($0, timesteps: $1) }, start: points, generator: &generator)
            .total.mean().item
    }

    /// 300 steps of the bound bring the held-out bound below 6 bits/dim (3.6 when written). The
    /// untrained model (its output layer starts at zero: ε̂ = 0 and σₜ² = 1 at every t, whatever the
    /// seed) scores about 785 bits/dim: with ε̂ = 0, μ = xₜ/√αₜ is far off where the cosine
    /// schedule's αₜ nears 0.001.
    @Test func trainingOnTheBoundWithLearnedVarianceLowersTheHeldOutBound() throws {
        let run = try temporaryFolder().appendingPathComponent("run")
        let result = try runDDPM([
            "train", "--data", "swissroll,count=2000", "--output", run.path, "--loss", "vlb", "--variance", "learned",
            "--timesteps", "40", "--schedule", "cosine", "--steps", "300", "--batch-size", "64", "--learning-rate", "1e-3",
            "--warmup", "10", "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        var generator = PhiloxGenerator(seed: 1)
        let configuration = ToyMLPConfiguration(outputDimension: 4)
        let untrained = try Self.heldOutBound(ToyMLP(configuration, generator: &generator))
        let trained = ToyMLP(configuration, generator: &generator)
        try trained.loadParameters(from: run.appendingPathComponent("checkpoint/model.safetensors"))
        let bound = try Self.heldOutBound(trained)
        #expect(untrained > 100, "untrained held-out bound \(untrained) bits/dim")
        #expect(bound.isFinite && bound < 6, "held-out bound \(bound) bits/dim after training vs \(untrained) untrained")
    }

    /// The sd15 demo writes its pictures, and its printed held-out bound after a short run is finite
    /// and more than 5 bits/dim below the untrained model's (about 35 bits/dim).
    @Test func demoSD15WritesPicturesAndLowersTheBound() throws {
        let folder = try temporaryFolder()
        let result = try runDDPM([
            "demo", "--paper", "sd15", "--steps", "300", "--batch-size", "64", "--count", "300",
            "--output", folder.path, "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        for name in [
            "data-vs-samples.png", "processes.png", "drift.png", "loss.png", "data-vs-samples.svg", "processes.svg", "drift.svg",
            "loss.svg",
            "samples.csv", "loss.csv",
        ] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), "\(name) missing")
            #expect(
                result.standardOutput.contains("wrote \(folder.path)/\(name)") || name.hasSuffix(".csv") || name.hasSuffix(".svg"),
                "\(name) not reported")
        }
        let drift = try PNGCodec.read(from: folder.appendingPathComponent("drift.png"))
        #expect(drift.width > 600 && drift.height > 300)
        func total(_ name: String) -> Double? {
            let line = result.standardOutput.split(separator: "\n").first { $0.hasPrefix("  \(name): total ") }
            return line.flatMap { Double($0.split(separator: " ")[2]) }
        }
        let untrained = try #require(total("untrained"), "no untrained bound in: \(result.standardOutput)")
        let trained = try #require(total("trained"), "no trained bound in: \(result.standardOutput)")
        #expect(trained.isFinite && trained < untrained - 5, "bound \(trained) bits/dim after training vs \(untrained) untrained")
        #expect(result.standardOutput.contains("differential entropy"))
    }

    @Test func helpDescribesTheSD15Demo() throws {
        let result = try runDDPM(["demo", "--help"])
        #expect(result.status == 0)
        for phrase in ["--paper", "sd15", "T = 40", "drift.png", "differential entropy"] {
            #expect(result.standardOutput.contains(phrase), "help lacks \"\(phrase)\"")
        }
        let train = try runDDPM(["train", "--help"])
        #expect(train.standardOutput.contains("learned"))
    }
}
