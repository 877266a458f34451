// `ddpm progressive`: what the reverse chain knows at each t (DDPM §4.3, Figs. 6 and 7).
import ArgumentParser
import DDPMDiffusion
import Foundation
import DDPMImaging
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTraining

struct ProgressiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "progressive",
        abstract: "Progressive generation: x̂₀ along the reverse chain, and completions sharing xₜ.",
        discussion: """
            Runs ancestral sampling (Algorithm 2) for --count samples and writes to
            --output (default CHECKPOINT/progressive):
              progressive.png   DDPM Fig. 6: one row per sample, x̂₀ = (xₜ − √(1−ᾱₜ)
                                ε_θ)/√ᾱₜ (eq. 15) at each t of --times, then the final x₀;
                                coarse features appear first
              completions.png   DDPM Fig. 7: for each t of --completion-times, xₜ of the
                                first sample and --completions draws of x₀ ~ p_θ(x₀|xₜ)
                                that share it: what is already decided at t
              progressive.npy, completions.npy   the same images, float32 in [−1, 1]:
                                [count, times + 1, C, H, W] and [completion times,
                                  completions, C, H, W]
            For 2-D points each cell is a scatter plot of all samples instead (ask for
            many completions, e.g. --completions 500, to see p_θ(x₀|xₜ) as a cloud), and
            both figures are written as SVG too (progressive.svg, completions.svg). Times
            are the paper's t (1…T), comma-separated.

            --sampler ddim, dpm-solver++, sde-dpm-solver++ or unipc (with --steps, as in
            `ddpm sample`) shows x̂₀ along that sampler's chain instead, each --times t
            taken at the sampler's nearest step (the labels give the t used). The
            completions are draws of the ancestral chain from a shared xₜ, so they are made
            with --sampler ancestral only.
            """)

    @OptionGroup var options: ModelCommandOptions

    @Option(help: "Samples (rows of progressive.png).")
    var count: Int = 8

    @Option(help: "Timesteps t at which to show x̂₀ (default T, 0.8T, 0.6T, 0.5T, 0.4T, 0.3T, 0.2T, 0.1T, 0.05T, 1).")
    var times: String?

    @Option(help: "Stochastic completions per shared xₜ.")
    var completions: Int = 6

    @Option(name: .customLong("completion-times"), help: "Timesteps t whose xₜ the completions share (default T, 0.75T, 0.5T, 0.25T).")
    var completionTimes: String?

    @Option(help: "ancestral (DDPM), ddim, dpm-solver++, sde-dpm-solver++ or unipc.")
    var sampler: SampleCommand.Sampler = .ancestral

    @Option(help: "Sampling steps (default: all T for ancestral and ddim; 20 for the solvers).")
    var steps: Int?

    @Option(help: "DDIM η (0 deterministic, 1 like DDPM).")
    var eta: Double = 0

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count).") }
        guard completions >= 1 else { throw ValidationError("--completions must be at least 1, got \(completions).") }
        if let steps { guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps).") } }
        guard eta.isFinite, eta >= 0, eta <= 1 else { throw ValidationError("--eta must be in [0, 1], got \(eta).") }
        if sampler != .ddim, eta != 0 { throw ValidationError("--eta applies to --sampler ddim only.") }
        if sampler != .ancestral, completionTimes != nil {
            throw ValidationError("--completion-times: the completions are ancestral draws; they need --sampler ancestral.")
        }
    }

    func run() throws {
        try Pictures.requireFont()
        let trained = try options.load()
        let diffusion = try trained.gaussian("progressive")
        let requested = try trained.times(times, flag: "times", defaults: [1, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0])
        let sharedTimes = try trained.times(completionTimes, flag: "completion-times", defaults: [1, 0.75, 0.5, 0.25])
        let outFolder = try options.outputFolder(default: "progressive")

        // 1. One chain, recording x̂₀ at the shown t (the chain's nearest step) and xₜ of the first
        // sample at the shared t.
        let chain = try Chain(
            trained: trained,
            choice: Chain.Choice(sampler: sampler, steps: steps, spacing: nil, eta: eta, order: nil, placement: nil, thresholding: nil))
        let chainTimes = (chain.record.timesteps ?? []).map { $0 + 1 }
        func nearest(_ times: [Int]) -> [Int] {
            var seen = Set<Int>()
            return times.map { t in chainTimes.min { abs($0 - t) < abs($1 - t) } ?? t }.filter { seen.insert($0).inserted }
        }
        let shown = nearest(requested)
        let shared = sampler == .ancestral ? nearest(sharedTimes) : []
        if sampler != .ancestral { note("progressive: no completions with --sampler \(sampler.rawValue) (they are ancestral draws)") }
        var generator = PhiloxGenerator(seed: options.seed)
        var predictions: [Int: Tensor] = [:], latents: [Int: Tensor] = [:]
        let work = chain.stepCount + shared.reduce(0, +)  // network evaluations, counted per batch
        let progress = Progress("progressive", total: work, unit: "steps")
        let samples = try CommandFailure.wrap("") {
            try chain.sample(
                from: nil, shape: [count] + trained.exampleShape, generator: &generator,
                observe: { step in
                    let t = step.timestep + 1
                    if shown.contains(t) { predictions[t] = step.predictedStart }
                    if shared.contains(t) { latents[t] = step.current.sliced(axis: 0, range: 0..<1) }
                }, report: { progress.update($0) })
        }
        // 2. Completions x₀ ~ p_θ(x₀|xₜ) from each shared xₜ.
        var done = chain.stepCount
        var completed: [Int: Tensor] = [:]
        for t in shared {
            let latent = latents[t]!
            let start = latent.broadcast(to: [completions] + trained.exampleShape)
            completed[t] = try CommandFailure.wrap {
                try diffusion.reverseChain(
                    model: trained.model, from: start, index: t - 1, clipStart: trained.isImages,
                    generator: &generator
                ) { step in progress.update(done + t - step.index) }
            }
            done += t
        }

        // 3. Pictures.
        let labels = shown.map { FigureText.step($0) } + [FigureText.start]
        let first: String
        var second: String?
        if trained.isImages {
            let shape = trained.exampleShape
            let along = Tensor.concatenate(
                shown.map { predictions[$0]!.reshaped([count, 1] + shape) } + [samples.reshaped([count, 1] + shape)], axis: 1)
            try CommandFailure.wrap {
                try NPYFile.write(along.converted(to: .float32), to: outFolder.appendingPathComponent("progressive.npy"))
            }
            let columns = shown.map { Pictures.images(predictions[$0]!, scale: 2) } + [Pictures.images(samples, scale: 2)]
            let rows = (0..<count).map { i in columns.map { $0[i] } }
            first = try Pictures.write(
                try Pictures.labeledGrid(rows, columnLabels: labels, title: FigureText.progressiveTitle),
                "progressive.png", in: outFolder)
            if !shared.isEmpty {
                let draws = Tensor.concatenate(shared.map { completed[$0]!.reshaped([1, completions] + shape) }, axis: 0)
                try CommandFailure.wrap {
                    try NPYFile.write(draws.converted(to: .float32), to: outFolder.appendingPathComponent("completions.npy"))
                }
                let completionRows = shared.map { t in Pictures.images(latents[t]!, scale: 2) + Pictures.images(completed[t]!, scale: 2) }
                second = try Pictures.write(
                    try Pictures.labeledGrid(
                        completionRows, columnLabels: [FigureText.noisy] + (1...completions).map { FigureText.numbered($0) },
                        rowLabels: shared.map { FigureText.step($0) }, title: FigureText.sharedCompletionsTitle),
                    "completions.png", in: outFolder)
            }
        } else {
            let panels =
                shown.map { Pictures.scatter(predictions[$0]!, title: FigureText.predictedStart(t: $0)) }
                + [Pictures.scatter(samples, title: FigureText.start)]
            first = try Pictures.write(
                Figure(panels, columns: min(6, panels.count), panelWidth: 240, panelHeight: 240, title: FigureText.progressiveTitle),
                "progressive.png", in: outFolder)
            if !shared.isEmpty {
                let completionPanels = shared.map { Pictures.scatter(completed[$0]!, title: FigureText.completion(t: $0)) }
                second = try Pictures.write(
                    Figure(completionPanels, panelWidth: 240, panelHeight: 240, title: FigureText.completionsTitle),
                    "completions.png", in: outFolder)
            }
        }
        print("wrote \(first)" + (second.map { "\nwrote \($0)" } ?? ""))
    }
}
