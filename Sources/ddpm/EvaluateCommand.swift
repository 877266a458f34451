// `ddpm evaluate`: the variational bound on held-out data in bits/dim, with its breakdown.
import ArgumentParser
import DDPMDatasets
import DDPMDiffusion
import DDPMDistributed
import DDPMFileSupport
import Foundation
import DDPMImaging
import DDPMTensors
import DDPMTraining

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure −log p(x₀) ≤ L (the variational bound) on data, in bits/dim.",
        discussion: """
            L = L_T + Σ_{t>1} L_{t−1} + L₀ (DDPM eq. 5), every term computed in closed
            form with one xₜ ~ q(xₜ|x₀) per step, for each of the first --count examples
            of --data (default: the model's training data) in --split. Each example costs
            T network evaluations. Images: 8-bit data scaled to [−1, 1], L₀ with the
            discretised decoder (eq. 13), so the figure is comparable with DDPM Table 1
            (CIFAR-10: ≤ 3.70 bits/dim trained on L, ≤ 3.75 on L_simple); 8 bits/dim is
            what storing the raw bytes costs. Binomial runs (SD15 §2.4): binary data,
            Bernoulli terms; 1 bit/dim is what storing the bits costs. 2-D points: L₀ with
            a continuous Gaussian decoder, so the figure bounds differential entropy and
            can be negative; nats per example are given too. Writes to --output (default
            CHECKPOINT/evaluation):
              bound.json              mean and standard error of the total and of L_T, Σ
                                      L_{t−1}, L₀
              bound-per-t.csv         t, mean term L_{t−1} (L₀ at t = 1) and its standard
                                      error
              bound-per-example.csv   index, L_T, Σ_{t>1} L_{t−1}, L₀, total

            Example i draws its xₜ from its own generator, keyed by (--seed, i), so the
            noise it sees does not depend on the other examples of its batch. Under `mpirun -np N`
            every rank runs the same command, batch k is evaluated by rank k mod N and
            rank 0 gathers the terms and writes the files.
            """)

    @OptionGroup var options: ModelCommandOptions

    @OptionGroup var input: DataOptions

    @Option(help: "Number of examples (the first N of the split).")
    var count: Int = 128

    @Option(name: .customLong("batch-size"), help: "Examples evaluated at once.")
    var batchSize: Int = 64

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count).") }
        guard (1...TrainingConfiguration.maximumBatchSize).contains(batchSize) else {
            throw ValidationError("--batch-size must be in 1…\(TrainingConfiguration.maximumBatchSize), got \(batchSize).")
        }
    }

    func run() throws {
        try MPIJob.run(threads: options.threads) { try evaluate(world: $0) }
    }

    /// Evaluates this rank's batches (all of them without MPI); rank 0 gathers the terms and writes.
    func evaluate(world: Communicator) throws {
        let (trained, dataset, outFolder) = try world.agree {
            let trained = try options.source.load(quiet: !world.isRoot)
            let dataset = try trained.data(input.data, split: input.dataSplit, seed: options.seed)
            return (trained, dataset, world.isRoot ? try options.outputFolder(default: "evaluation") : nil)
        }
        let n = min(count, dataset.count)
        if n < count, world.isRoot { note("evaluate: --data has \(dataset.count) examples in \(input.split.rawValue); using all of them") }

        // 1. The bound per batch. Batch k goes to rank k mod N; example i draws every xₜ from its own
        // generator keyed by (--seed, i), so the figures do not depend on N or on --batch-size.
        let T = trained.process.stepCount
        let batches = MPIJob.batches(count: n, batchSize: batchSize, rank: world.rank, size: world.size)
        let mine = batches.reduce(0) { $0 + $1.count }
        if world.size > 1, world.isRoot { note("evaluate: \(n) examples over \(world.size) ranks; rank 0 evaluates \(mine)") }
        var myPrior: [Float] = [], myTerms: [Float] = []
        let progress = world.isRoot ? Progress("evaluate", total: mine * T, unit: "example-steps") : nil
        var done = 0
        for batch in batches {
            let x = try dataset.batch(indices: Array(batch))
            var noise = ExampleNoise(seed: options.seed, examples: batch)
            let bound = try CommandFailure.wrap("") {
                try trained.process.variationalBound(model: trained.model, start: x, clipStart: trained.isImages, generator: &noise) {
                    progress?.update(done + $0 * batch.count)
                }
            }
            done += batch.count * T
            progress?.update(done)
            myPrior += bound.prior.converted(to: .float32).floats
            myTerms += bound.terms.converted(to: .float32).floats
        }
        let gatheredPrior = try MPIJob.gatherRows(myPrior, rowLength: 1, count: n, batchSize: batchSize, world: world)
        let gatheredTerms = try MPIJob.gatherRows(myTerms, rowLength: T, count: n, batchSize: batchSize, world: world)
        guard let gatheredPrior, let gatheredTerms, let outFolder else { return }
        let prior = gatheredPrior.map(Double.init), terms = gatheredTerms.map(Double.init)
        // Totals in Float64 from the terms, so the files add up exactly.
        let totals = (0..<n).map { i in prior[i] + (0..<T).reduce(0) { $0 + terms[i * T + $1] } }

        // 2. Breakdown per example: L_T, Σ_{t>1} L_{t−1}, L₀, total.
        let decoder = (0..<n).map { terms[$0 * T] }
        let middle = (0..<n).map { i in (1..<T).reduce(0) { $0 + terms[i * T + $1] } }
        let summary = BoundSummary(
            examples: n, data: input.data ?? trained.configuration?.data ?? "", split: input.split.rawValue, timesteps: T,
            dimensions: trained.exampleShape.reduce(1, *),
            total: Statistic(totals), prior: Statistic(prior), transitions: Statistic(middle), decoder: Statistic(decoder))
        try AtomicFile.write(Pictures.jsonEncoder.encode(summary), to: outFolder.appendingPathComponent("bound.json"))
        var perExample = "index,prior_bits_per_dim,transitions_bits_per_dim,decoder_bits_per_dim,total_bits_per_dim\n"
        for i in 0..<n { perExample += "\(i),\(prior[i]),\(middle[i]),\(decoder[i]),\(totals[i])\n" }
        try AtomicFile.write(Data(perExample.utf8), to: outFolder.appendingPathComponent("bound-per-example.csv"))
        var perStep = "t,mean_bits_per_dim,standard_error\n"
        for i in 0..<T {
            let column = Statistic((0..<n).map { terms[$0 * T + i] })
            perStep += "\(i + 1),\(column.mean),\(column.standardError)\n"
        }
        try AtomicFile.write(Data(perStep.utf8), to: outFolder.appendingPathComponent("bound-per-t.csv"))

        // 3. Report.
        let d = Double(summary.dimensions)
        print(
            String(
                format: "bound on %d examples of %@ (%@): %.4f ± %.4f bits/dim", n, summary.data, input.split.rawValue, summary.total.mean,
                summary.total.standardError))
        print(
            String(
                format: "  L_T %.5f · Σ L_{t−1} (t > 1) %.4f · L₀ %.4f bits/dim", summary.prior.mean, summary.transitions.mean,
                summary.decoder.mean))
        if trained.process.diffusesBinaryData {
            print(String(format: "  (binary data: 1 bit/dim is the cost of the raw bits; %.1f bits per image)", summary.total.mean * d))
        } else if trained.isImages {
            print(String(format: "  (8 bits/dim is the cost of the raw bytes; %.1f bits per image)", summary.total.mean * d))
        } else {
            print(
                String(
                    format: "  continuous data: a bound on differential entropy, %.4f nats per example", summary.total.mean * d * log(2.0)))
        }
        print("wrote \(outFolder.path)/bound.json, bound-per-t.csv, bound-per-example.csv")
    }
}

/// Mean and standard error of the mean.
struct Statistic: Codable {
    var mean: Double
    var standardError: Double

    init(_ values: [Double]) {
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let variance = values.count > 1 ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
        self.mean = mean
        standardError = (variance / n).squareRoot()
    }
}

/// bound.json.
struct BoundSummary: Codable {
    var examples: Int
    var data: String
    var split: String
    var timesteps: Int
    var dimensions: Int
    /// Bits/dim.
    var total: Statistic
    var prior: Statistic
    var transitions: Statistic
    var decoder: Statistic
}
