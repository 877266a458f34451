// `ddpm bench`: times whole training steps (Algorithm 1) or ancestral sampling steps (Algorithm 2).
import ArgumentParser
import DDPMDiffusion
import DDPMDistributed
import Foundation
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTraining

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
              train   one step of the Training library's Algorithm 1 with DDPM's
                      defaults: t ~ Uniform, ε ~ N(0, I), q_sample, ε_θ(xₜ, t) with
                      dropout, L_simple, backward, global-norm clipping at 1, Adam
                      (lr 2e-4), EMA update (0.9999)   (what `ddpm train` runs)
              sample  ε_θ(xₜ, t) without gradients and xₜ₋₁ = μ_θ + σₜ z with σₜ² = β̃ₜ
                      (Algorithm 2); successive steps walk t down from T.
            x₀ is one fixed batch of uniform [−1, 1] noise (data loading is not timed).
            After --warmup untimed steps, prints min/median/max seconds per step, images/s
            (batch / median), peak resident memory of the process and GFLOPS from the
            model's counted forward FLOPs (a training step counts 3 forward passes;
            convolutions are counted as direct ones whatever --convolution says).
            Benchmarks/compare_pytorch.sh runs the same steps in PyTorch.

            Under `mpirun -np N` (or srun), train times data-parallel steps: each rank
            computes its share of --batch-size and the gradients are summed over the
            ranks as `ddpm train` does (--threads defaults to the rank's share of the
            cores); allreduce times the sum over the ranks of one Float32 buffer of the
            model's parameter count (MPI_Allreduce, in place) and prints the algorithm
            bandwidth (bytes / seconds) and the bus bandwidth (2(N−1)/N of it, what
            each rank sends and receives with a ring). Rank 0 prints.
            """)

    /// What a timed step is.
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case train, sample
        /// One all-reduce of a gradient-sized buffer over the ranks of an MPI job.
        case allreduce
    }

    @Option(help: "Model: fashion, cifar10 (the U-Net presets), tiny or toy (the 2-D MLP).")
    var model: ModelArchitecture

    @Option(help: "What to time: train, sample or allreduce (under mpirun).")
    var mode: Mode

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

    func validate() throws {
        if model == .custom { throw ValidationError("--model custom is not a preset; ddpm bench times fashion, cifar10, tiny or toy.") }
        guard (1...TrainingConfiguration.maximumBatchSize).contains(batchSize) else {
            throw ValidationError("--batch-size must be in 1…\(TrainingConfiguration.maximumBatchSize), got \(batchSize)")
        }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1, got \(iterations)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be non-negative, got \(warmup)") }
    }

    func run() throws {
        try MPIJob.run(threads: threads) { try bench(world: $0) }
    }

    func bench(world: Communicator) throws {
        if mode == .allreduce { return try benchAllReduce(world: world) }
        var generator = PhiloxGenerator(seed: seed)
        let shape = [batchSize] + model.benchExampleShape
        let process = ProcessConfiguration(
            kind: .gaussian, gaussian: GaussianChoices(variance: .fixedSmall, decoder: shape.count == 2 ? .continuous : .discretized))
        var configuration = try TrainingConfiguration(
            data: "", exampleShape: model.benchExampleShape, architecture: model, process: process, steps: warmup + iterations)
        configuration.batchSize = batchSize
        configuration.seed = seed
        // Sampling times the network alone: no optimiser moments or EMA copy in its memory.
        let trainer = mode == .train ? try Trainer(configuration: configuration) : nil
        let network = trainer?.network ?? configuration.model.makeModel(generator: &generator)
        let diffusion = try configuration.process.makeProcess() as! GaussianDiffusion
        let T = diffusion.stepCount

        let step: () throws -> Void
        if mode == .train, world.size > 1 {
            // Algorithm 1 on a fixed x₀, this rank's share of it, gradients summed over the ranks.
            let x0 = Tensor.randomUniform(shape: shape, generator: &generator) * 2.0 - 1.0
            let parallel = try DataParallelTrainer(trainer: trainer!, communicator: world)
            try parallel.synchronize()
            let share = x0.sliced(axis: 0, range: parallel.examples)
            step = { try parallel.step(on: share) }
        } else if mode == .train {
            // Algorithm 1 on a fixed x₀.
            let x0 = Tensor.randomUniform(shape: shape, generator: &generator) * 2.0 - 1.0
            step = { try trainer!.train(on: x0) }
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

        let (sorted, median) = try time(step, world: world)
        guard world.isRoot else { return }
        let flopsPerStep = network.forwardFLOPs(batch: batchSize) * (mode == .train ? 3 : 1)
        let result = BenchResult(
            model: model.rawValue, mode: mode.rawValue, batchSize: batchSize, threads: ComputeThreads.count, iterations: iterations,
            seconds: .init(min: sorted.first!, median: median, max: sorted.last!),
            imagesPerSecond: Double(batchSize) / median, peakRSSBytes: peakResidentBytes(),
            gflops: flopsPerStep / median / 1e9, convolution: "\(DNNLConvolution.defaultAlgorithm)",
            precision: threads.precision.rawValue)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            let ranks = world.size > 1 ? ", \(world.size) ranks" : ""
            print(
                "\(mode.rawValue) \(model.rawValue), batch \(batchSize)\(ranks), \(result.threads) threads\(ranks.isEmpty ? "" : " each"), "
                    + "\(iterations) timed steps after \(warmup) warm-up")
            print(String(format: "seconds per step: min %.4f, median %.4f, max %.4f", result.seconds.min, median, result.seconds.max))
            print(String(format: "images/s: %.1f", result.imagesPerSecond))
            print(String(format: "peak RSS: %.1f MiB", Double(result.peakRSSBytes) / 1_048_576))
            print(String(format: "GFLOPS: %.1f (%.3g FLOPs per step, counted as direct convolutions)", result.gflops, flopsPerStep))
            let bfloat16Winograd = "Float32 winograd where its 4×4 tiles cover the output exactly, BFloat16 direct elsewhere"
            print(
                "convolutions: \(DNNLConvolution.defaultPrecision == .bfloat16 && DNNLConvolution.defaultAlgorithm == .winograd ? bfloat16Winograd : "\(DNNLConvolution.defaultAlgorithm)")"
            )
            print("precision: \(threads.precision.rawValue)")
        }
    }
}

extension BenchCommand {
    /// Seconds of `iterations` calls of `step` after `warmup` untimed ones (sorted) and their
    /// median; under MPI the ranks start each timed call together (a barrier before it).
    func time(_ step: () throws -> Void, world: Communicator) throws -> (sorted: [Double], median: Double) {
        for _ in 0..<warmup { try step() }
        var seconds: [Double] = []
        for _ in 0..<iterations {
            try world.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            try step()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let sorted = seconds.sorted()
        let median =
            sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return (sorted, median)
    }

    /// `--mode allreduce`: MPI_Allreduce (sum, in place) of the model's parameter count of Float32.
    func benchAllReduce(world: Communicator) throws {
        var unused = PhiloxGenerator(seed: seed)
        let count = try TrainingConfiguration(
            data: "", exampleShape: model.benchExampleShape, architecture: model, process: ProcessConfiguration(kind: .gaussian), steps: 1
        ).model.makeModel(generator: &unused).parameterCount
        var buffer = [Float](repeating: 1e-3, count: count)
        let (sorted, median) = try time({ try buffer.withUnsafeMutableBufferPointer { try world.allReduceSum($0) } }, world: world)
        guard world.isRoot else { return }
        let bytes = Double(count * 4), ranks = Double(world.size)
        let algorithm = bytes / median / 1e9, bus = algorithm * 2 * (ranks - 1) / ranks
        if json {
            let object: [String: Any] = [
                "model": model.rawValue, "mode": "allreduce", "ranks": world.size, "bytes": count * 4, "iterations": iterations,
                "seconds": ["min": sorted.first!, "median": median, "max": sorted.last!],
                "algorithm_gb_per_s": algorithm, "bus_gb_per_s": bus,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(
                "allreduce of \(model.rawValue)'s gradients: \(count) Float32 (\(String(format: "%.1f", bytes / 1e6)) MB), \(world.size) ranks, "
                    + "\(iterations) timed after \(warmup) warm-up")
            print(String(format: "seconds: min %.5f, median %.5f, max %.5f", sorted.first!, median, sorted.last!))
            print(String(format: "bandwidth: %.2f GB/s algorithm (bytes / s), %.2f GB/s bus (2(N−1)/N × bytes / s)", algorithm, bus))
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
    /// The precision of the products: fp32 or bf16 (PyTorch's JSON: its mode's precision).
    var precision: String?

    enum CodingKeys: String, CodingKey {
        case model, mode, threads, iterations, seconds, gflops, convolution, precision
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

extension ModelArchitecture {
    /// The example shape `ddpm bench` times: the preset's images, 1×28×28 for tiny, 2-D points for toy.
    var benchExampleShape: [Int] {
        switch self {
        case .toy: [2]
        case .fashion, .tiny, .custom: [1, 28, 28]
        case .cifar10: [3, 32, 32]
        }
    }
}
