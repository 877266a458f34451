// `ddpm bench`: times whole training steps (Algorithm 1) or ancestral sampling steps (Algorithm 2).
import ArgumentParser
import Diffusion
import Foundation
import Models
import NeuralNetworks
import Tensors

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time training or sampling steps of a DDPM model (seconds per step, images/s, memory, GFLOPS).",
        discussion: """
            One timed step is, with linear β from 1e-4 to 0.02 and T = 1000:
              train   t ~ Uniform, ε ~ N(0, I), q_sample, ε_θ(xₜ, t) with dropout,
                      L_simple, backward, Adam update (lr 2e-4)   (DDPM Algorithm 1)
              sample  ε_θ(xₜ, t) without gradients and xₜ₋₁ = μ_θ + σₜ z with σₜ² = β̃ₜ
                      (Algorithm 2); successive steps walk t down from T.
            x₀ is one fixed batch of uniform [−1, 1] noise (data loading is not timed).
            After --warmup untimed steps, prints min/median/max seconds per step, images/s
            (batch / median), peak resident memory of the process and GFLOPS from the
            model's counted forward FLOPs (a training step counts 3 forward passes;
            convolutions are counted as direct ones whatever --convolution says).
            Benchmarks/compare_pytorch.sh runs the same steps in PyTorch.
            """)

    @Option(help: "Model: fashion, cifar10 (the U-Net presets) or toy (the 2-D MLP).")
    var model: String

    @Option(help: "What to time: train or sample.")
    var mode: String

    @Option(name: .customLong("batch-size"), help: "Batch size.")
    var batchSize: Int

    @Option(help: "Timed steps.")
    var iterations: Int = 10

    @Option(help: "Untimed steps before timing.")
    var warmup: Int = 3

    @Option(help: "Seed for initialisation, data and noise.")
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var threads: ComputeOptions

    static let models = ["fashion", "cifar10", "toy"]

    func validate() throws {
        guard Self.models.contains(model) else {
            throw ValidationError("unknown --model '\(model)'; expected one of \(Self.models.joined(separator: ", "))")
        }
        guard mode == "train" || mode == "sample" else {
            throw ValidationError("unknown --mode '\(mode)'; expected train or sample")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1, got \(iterations)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be non-negative, got \(warmup)") }
    }

    func run() throws {
        try threads.apply()
        var generator = PhiloxGenerator(seed: seed)
        let network: any DenoisingModel
        let exampleShape: [Int]
        if model == "toy" {
            let c = ToyMLPConfiguration()
            network = ToyMLP(c, generator: &generator)
            exampleShape = [c.dataDimension]
        } else {
            guard let c = UNetConfiguration.presets[model] else { throw ValidationError("unknown --model '\(model)'") }
            network = UNet(c, generator: &generator)
            exampleShape = [c.inChannels, c.sampleSize, c.sampleSize]
        }
        let diffusion = try GaussianDiffusion(schedule: DiffusionSchedule(.ddpm, stepCount: 1000), varianceKind: .fixedSmall)
        let T = diffusion.stepCount
        let shape = [batchSize] + exampleShape

        let step: () throws -> Void
        if mode == "train" {
            // Algorithm 1 on a fixed x₀.
            let x0 = Tensor.randomUniform(shape: shape, generator: &generator) * 2.0 - 1.0
            let optimizer = Adam(learningRate: 2e-4)
            let dropout = RandomSource(generator.split())
            step = {
                let timesteps = (0..<batchSize).map { _ in generator.nextInt(below: T) }
                let noise = Tensor.randomNormal(shape: shape, generator: &generator)
                let leaves = network.prepareForGradients()
                let loss = try diffusion.trainingLosses(
                    model: { network($0, timesteps: $1, mode: .training(dropout)) },
                    start: x0, timesteps: timesteps, noise: noise).loss.mean()
                let grads = gradients(of: loss, withRespectTo: leaves)
                network.detachParameters()
                optimizer.update(network.namedParameters, gradients: grads)
                guard loss.item.isFinite else { throw ValidationError("the training loss is not finite") }
            }
        } else {
            // Algorithm 2, one step at a time from t = T down (wrapping around after t = 1).
            var x = Tensor.randomNormal(shape: shape, generator: &generator)
            var t = T - 1
            step = {
                try withoutGradients {
                    let timesteps = Array(repeating: t, count: batchSize)
                    let reverse = try diffusion.reverseStep(
                        model: { network($0, timesteps: $1, mode: .evaluation) }, current: x, timesteps: timesteps)
                    if t > 0 {
                        let z = Tensor.randomNormal(shape: x.shape, dtype: x.dtype, generator: &generator)
                        x = reverse.mean + (0.5 * reverse.logVariance).exp() * z
                    } else {
                        x = reverse.mean
                    }
                    t = t > 0 ? t - 1 : T - 1
                }
            }
        }

        for _ in 0..<warmup { try step() }
        var seconds: [Double] = []
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            try step()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }

        let sorted = seconds.sorted()
        let median = sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let flopsPerStep = network.forwardFLOPs(batch: batchSize) * (mode == "train" ? 3 : 1)
        let result = BenchResult(
            model: model, mode: mode, batchSize: batchSize, threads: ComputeThreads.count, iterations: iterations,
            seconds: .init(min: sorted.first!, median: median, max: sorted.last!),
            imagesPerSecond: Double(batchSize) / median, peakRSSBytes: peakResidentBytes(),
            gflops: flopsPerStep / median / 1e9, convolution: "\(DNNLConvolution.defaultAlgorithm)")
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            print("\(mode) \(model), batch \(batchSize), \(result.threads) threads, \(iterations) timed steps after \(warmup) warm-up")
            print(String(format: "seconds per step: min %.4f, median %.4f, max %.4f", result.seconds.min, median, result.seconds.max))
            print(String(format: "images/s: %.1f", result.imagesPerSecond))
            print(String(format: "peak RSS: %.1f MiB", Double(result.peakRSSBytes) / 1_048_576))
            print(String(format: "GFLOPS: %.1f (%.3g FLOPs per step, counted as direct convolutions)", result.gflops, flopsPerStep))
            print("convolutions: \(DNNLConvolution.defaultAlgorithm)")
        }
    }
}

/// The JSON of `ddpm bench --json` (shared with Benchmarks/pytorch/bench_torch.py).
struct BenchResult: Codable {
    struct Seconds: Codable {
        var min: Double
        var median: Double
        var max: Double
    }

    var model: String
    var mode: String
    var batchSize: Int
    var threads: Int
    var iterations: Int
    var seconds: Seconds
    var imagesPerSecond: Double
    var peakRSSBytes: Int
    var gflops: Double
    /// The convolution algorithm asked for (winograd or direct; absent from PyTorch's JSON).
    var convolution: String?

    enum CodingKeys: String, CodingKey {
        case model, mode, threads, iterations, seconds, gflops, convolution
        case batchSize = "batch_size"
        case imagesPerSecond = "images_per_second"
        case peakRSSBytes = "peak_rss_bytes"
    }
}

/// Peak resident set size of this process in bytes (getrusage's ru_maxrss, KiB on Linux, bytes on Darwin).
func peakResidentBytes() -> Int {
    var usage = rusage()
    #if canImport(Glibc)
    let who = RUSAGE_SELF.rawValue
    #else
    let who = RUSAGE_SELF
    #endif
    guard getrusage(who, &usage) == 0 else { return 0 }
    #if canImport(Darwin)
    return Int(usage.ru_maxrss)
    #else
    return Int(usage.ru_maxrss) * 1024
    #endif
}
