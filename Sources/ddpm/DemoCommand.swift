// `ddpm demo`: trains the toy model on the swiss roll, samples, and draws SD15 Fig. 1-style pictures;
// --paper picks DDPM's setup (here) or SD15's (DemoCommand+SD15.swift).
import ArgumentParser
import DDPMDatasets
import DDPMDiffusion
import DDPMFileSupport
import Foundation
import DDPMImaging
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTraining

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train a small diffusion model on the 2-D swiss roll and draw what it learned.",
        discussion: """
            --paper ddpm (the default): Trains the toy MLP ε_θ(xₜ, t) with L_simple (DDPM
            eq. 14) on Sohl-Dickstein's swiss roll (T = 1000, linear β from 1e-4 to 0.02),
            samples with ancestral sampling (Algorithm 2) using the EMA weights, and
            writes to the output folder:
              data-vs-samples.png   the data and the model's samples side by side
              processes.png         forward process q(xₜ) at t = 0, T/2, T (top) and the
                                    reverse process p(xₜ) at the same times (bottom), as
                                    SD15 Fig. 1
              loss.png              the training loss curve
              samples.csv, loss.csv the numbers behind the pictures
            and each picture again as SVG (data-vs-samples.svg, …), text as text.
            About a minute on two cores with the defaults.

            \(Self.sd15Discussion)
            """)

    /// Which paper's swiss-roll experiment to run.
    enum Paper: String, ExpressibleByArgument, CaseIterable {
        /// DDPM: ε-prediction, L_simple (eq. 14), T = 1000, fixed variance.
        case ddpm
        /// SD15: learned mean and variance trained on the bound (eq. 5), T = 40.
        case sd15
    }

    @Option(help: "ddpm (L_simple, T = 1000) or sd15 (the bound with learned mean and variance, T = 40).")
    var paper: Paper = .ddpm

    @Option(help: "Folder for the pictures and numbers.")
    var output: String = "out/demo"

    @Option(help: "Training steps (default 4000 for --paper ddpm, \(DemoCommand.sd15DefaultSteps) for sd15).")
    var steps: Int?

    @Option(name: .customLong("batch-size"), help: "Training batch size.")
    var batchSize: Int = 256

    @Option(help: "Adam learning rate.")
    var learningRate: Double = 1e-3

    @Option(help: "Number of samples to draw.")
    var count: Int = 2000

    @Option(help: "Seed for data, initialisation, training and sampling.")
    var seed: UInt64 = 0

    @OptionGroup var threads: ComputeOptions

    func validate() throws {
        if let steps { guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") } }
        guard (1...TrainingConfiguration.maximumBatchSize).contains(batchSize) else {
            throw ValidationError("--batch-size must be in 1…\(TrainingConfiguration.maximumBatchSize), got \(batchSize)")
        }
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be in 1…1000000, got \(count)") }
        guard learningRate > 0, learningRate.isFinite else {
            throw ValidationError("--learning-rate must be positive, got \(learningRate)")
        }
    }

    func run() throws {
        try threads.apply()
        try Pictures.requireFont()
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        switch paper {
        case .ddpm: try runDDPM(folder: folder, steps: steps ?? 4000)
        case .sd15: try runSD15(folder: folder, steps: steps ?? Self.sd15DefaultSteps)
        }
    }

    /// DDPM on the swiss roll: L_simple, ancestral sampling, the forward and reverse processes.
    func runDDPM(folder: URL, steps: Int) throws {
        let started = Date()

        // 1. Data; the settings of the run (the toy MLP, DDPM's linear schedule over T = 1000).
        var generator = PhiloxGenerator(seed: seed)
        var dataGenerator = generator.split()
        let data = ToyData.swissRoll(count: 10_000, generator: &dataGenerator)
        let process = ProcessConfiguration(kind: .gaussian, gaussian: GaussianChoices(decoder: .continuous))

        // 2. Training (Algorithm 1).
        let trainer = try makeTrainer(process: process, on: data, steps: steps)
        let losses = try train(trainer, on: data)
        let diffusion = trainer.process as! GaussianDiffusion
        let T = diffusion.stepCount
        let model = trainer.network

        // 3. Sampling with the EMA weights (Algorithm 2), keeping x at t = T and t = T/2.
        trainer.ema.copy(into: model)
        var snapshots: [Int: [Float]] = [:]
        let sampling = Progress("sample", total: T, unit: "steps")
        var done = 0
        let samples = try diffusion.sampleAncestral(
            model: { model($0, timesteps: $1, mode: .evaluation) }, shape: [count, 2], generator: &generator,
            onStep: { step in
                if step.timestep == T - 1 || step.timestep == T / 2 - 1 { snapshots[step.timestep + 1] = step.current.floats }
                done += 1
                sampling.update(done)
            })
        let sampleValues = samples.floats

        // 4. Forward process of the data at t = T/2 and T (eq. 4).
        var noiseGenerator = generator.split()
        let x0 = try data.batch(indices: Array(0..<count))
        func forward(_ t: Int) throws -> [Float] {
            let noise = Tensor.randomNormal(shape: x0.shape, generator: &noiseGenerator)
            return try diffusion.sampleForward(start: x0, timesteps: Array(repeating: t - 1, count: count), noise: noise).floats
        }
        let forwardHalf = try forward(T / 2), forwardEnd = try forward(T)

        // 5. Pictures and numbers.
        let (dataPicture, processPicture) = try Self.writeProcessPictures(
            in: folder, paper: "DDPM", data: x0.floats, samples: sampleValues, forward: (forwardHalf, forwardEnd), reverse: snapshots, T: T)
        let lossPicture = try Self.writeLossAndSamples(in: folder, title: FigureText.simpleLoss, losses: losses, samples: sampleValues)

        let distance = energyDistance(sampleValues, x0.floats)
        print(
            String(
                format: "trained %d steps in %.1f s; final loss %.4f (mean of last 100)",
                steps, Date().timeIntervalSince(started), losses.suffix(100).reduce(0, +) / Double(min(100, losses.count))))
        print(
            String(
                format: "energy distance samples↔data: %.4f (standard normal noise↔data: %.4f)", distance,
                energyDistance(Tensor.randomNormal(shape: [count, 2], generator: &noiseGenerator).floats, x0.floats)))
        for url in [dataPicture, processPicture, lossPicture] { print("wrote \(url.path)") }
    }
}

/// Interleaved (x, y) pairs as CSV.
func csv(header: String, pairs: [Float]) -> String {
    header + "\n" + stride(from: 0, to: pairs.count, by: 2).map { "\(pairs[$0]),\(pairs[$0 + 1])" }.joined(separator: "\n") + "\n"
}

extension DemoCommand {
    /// The library's trainer (Algorithm 1) for the toy MLP on `data` with `process`: the demo's
    /// batch size, learning rate and seed, 100 warm-up steps, clipping at norm 1, EMA 0.995.
    func makeTrainer(process: ProcessConfiguration, on data: Dataset, steps: Int) throws -> Trainer {
        var configuration = try TrainingConfiguration(
            data: "swissroll,count=\(data.count)", exampleShape: data.exampleShape, architecture: .toy, process: process, steps: steps)
        configuration.batchSize = batchSize
        configuration.optimizer = OptimizerConfiguration(learningRate: learningRate, warmupSteps: 100)
        configuration.ema = EMAConfiguration(decay: 0.995)
        configuration.seed = seed
        return try Trainer(configuration: configuration)
    }

    /// Trains `trainer` on `data` for all its steps; returns the losses.
    func train(_ trainer: Trainer, on data: Dataset) throws -> [Double] {
        var sampler = trainer.batchSampler(for: data)
        var losses: [Double] = []
        let steps = trainer.configuration.steps
        let progress = Progress("train", total: steps, unit: "steps")
        while trainer.step < steps {
            let report = try trainer.train(from: &sampler)
            losses.append(report.loss)
            progress.update(report.step, [String(format: "loss %.4f", report.loss)])
        }
        return losses
    }
}

extension DemoCommand {
    /// A scatter plot of 2-D points on the swiss roll's square.
    static func scatter(_ title: String, _ values: [Float], _ color: Color) -> Plot {
        var plot = Plot(title: title, xRange: -2.5...2.5, yRange: -2.5...2.5)
        plot.scatter(pairs: values, color: color, radius: 1.2)
        return plot
    }

    /// data-vs-samples.png and processes.png (SD15 Fig. 1: q(xₜ) on top, p(xₜ) below, at t = 0,
    /// T/2, T), each with its SVG; returns the PNGs' URLs.
    static func writeProcessPictures(
        in folder: URL, paper: String, data: [Float], samples: [Float], forward: (half: [Float], end: [Float]),
        reverse snapshots: [Int: [Float]], T: Int
    ) throws -> (URL, URL) {
        let dataPicture = folder.appendingPathComponent("data-vs-samples.png")
        try Figure(
            [scatter(FigureText.data, data, .blue), scatter(FigureText.samples, samples, .orange)],
            title: FigureText.dataAndSamples(paper: paper)
        ).write(to: dataPicture)
        let processPicture = folder.appendingPathComponent("processes.png")
        try Figure(
            [
                scatter(FigureText.forwardProcess(t: 0, of: T), data, .blue),
                scatter(FigureText.forwardProcess(t: T / 2, of: T), forward.half, .blue),
                scatter(FigureText.forwardProcess(t: T, of: T), forward.end, .blue),
                scatter(FigureText.reverseProcess(t: 0, of: T), samples, .orange),
                scatter(FigureText.reverseProcess(t: T / 2, of: T), snapshots[T / 2] ?? [], .orange),
                scatter(FigureText.reverseProcess(t: T, of: T), snapshots[T] ?? [], .orange),
            ],
            columns: 3, title: FigureText.processesTitle
        ).write(to: processPicture)
        return (dataPicture, processPicture)
    }

    /// loss.png and loss.svg (`Plot.lossCurve` of the losses under `title`), samples.csv and
    /// loss.csv; returns loss.png's URL.
    static func writeLossAndSamples(in folder: URL, title: String, losses: [Double], samples: [Float]) throws -> URL {
        let lossPicture = folder.appendingPathComponent("loss.png")
        try Plot.lossCurve(losses: losses, title: title).write(to: lossPicture, width: 640, height: 400)
        try AtomicFile.write(Data(csv(header: "x,y", pairs: samples).utf8), to: folder.appendingPathComponent("samples.csv"))
        try AtomicFile.write(
            Data(("step,loss\n" + losses.enumerated().map { "\($0.offset + 1),\($0.element)" }.joined(separator: "\n") + "\n").utf8),
            to: folder.appendingPathComponent("loss.csv"))
        return lossPicture
    }
}
