// `ddpm rate-distortion`: progressive lossy compression (DDPM §4.3, Algorithms 3–4, Fig. 5).
import ArgumentParser
import DDPMDatasets
import DDPMDiffusion
import DDPMFileSupport
import Foundation
import DDPMImaging
import DDPMTensors
import DDPMTraining

struct RateDistortionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rate-distortion",
        abstract: "Rate and distortion of progressive lossy compression along the reverse chain.",
        discussion: """
            DDPM §4.3: sending x₀ by the chain costs L_T bits for x_T and L_{t−1} for each
            further step (Algorithms 3–4, with bits-back/relative-entropy coding). A
            receiver holding xₜ has paid rate(t) = L_T + Σ_{s>t} L_{s−1} and decodes x̂₀
            from xₜ (eq. 15); distortion(t) = RMSE ‖x₀ − x̂₀‖/√D on the 0–255 scale. Means
            over the first --count images of --data (default: the model's training data)
            in --split; one xₜ ~ q(xₜ|x₀) per step. Writes to --output (default
            CHECKPOINT/rate-distortion):
              rate-distortion.csv   per t from T to 1: the term L_{t−1} (L₀ at t = 1) and
                                    rate(t) in bits/dim, distortion(t) as RMSE on 0–255
                                    (means over the images)
              rate-distortion.json  L_T and the whole bound (= L_T + the sum of the term
                                    column)
              rate-distortion.png   distortion vs t, rate vs t, distortion vs rate (DDPM
                                    Fig. 5), and the same figure as rate-distortion.svg
            """)

    @OptionGroup var options: ModelCommandOptions

    @OptionGroup var input: DataOptions

    @Option(help: "Number of images.")
    var count: Int = 32

    @Option(name: .customLong("batch-size"), help: "Images at once.")
    var batchSize: Int = 64

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count).") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize).") }
    }

    func run() throws {
        try Pictures.requireFont()
        let trained = try options.loadImageModel(for: "rate-distortion")
        let dataset = try trained.data(input.data, split: input.dataSplit, seed: options.seed)
        let n = min(count, dataset.count)
        if n < count { note("rate-distortion: --data has \(dataset.count) examples in \(input.split.rawValue); using all of them") }
        let outFolder = try options.outputFolder(default: "rate-distortion")

        // 1. Sums over images of term, rate and distortion per t.
        let diffusion = try trained.gaussian("rate-distortion")
        let T = diffusion.stepCount
        var terms = [Double](repeating: 0, count: T), rates = terms, distortions = terms
        var prior = 0.0
        var generator = PhiloxGenerator(seed: options.seed)
        let progress = Progress("rate-distortion", total: n * T, unit: "example-steps")
        var done = 0
        for first in stride(from: 0, to: n, by: batchSize) {
            let indices = Array(first..<min(n, first + batchSize))
            let result = try CommandFailure.wrap {
                try diffusion.rateDistortion(model: trained.model, start: dataset.batch(indices: indices), generator: &generator) { index in
                    progress.update(done + (T - index) * indices.count)
                }
            }
            done += indices.count * T
            func add(_ tensor: Tensor, to sums: inout [Double]) {
                let values = tensor.converted(to: .float64).doubles
                for b in 0..<indices.count { for i in 0..<T { sums[i] += values[b * T + i] } }
            }
            add(result.bound.terms, to: &terms)
            add(result.rate, to: &rates)
            add(result.distortion, to: &distortions)
            prior += result.bound.prior.converted(to: .float64).doubles.reduce(0, +)
        }
        // Means (the rates are Float64, so the files add up exactly).
        let scale = 1 / Double(n)
        (terms, rates, distortions, prior) = (
            terms.map { $0 * scale }, rates.map { $0 * scale }, distortions.map { $0 * scale }, prior * scale
        )
        let total = rates[0] + terms[0]

        // 2. Numbers.
        var csv = "t,term_bits_per_dim,rate_bits_per_dim,distortion_rmse\n"
        for i in stride(from: T - 1, through: 0, by: -1) { csv += "\(i + 1),\(terms[i]),\(rates[i]),\(distortions[i])\n" }
        try AtomicFile.write(Data(csv.utf8), to: outFolder.appendingPathComponent("rate-distortion.csv"))
        let summary: [String: Double] = ["prior_bits_per_dim": prior, "total_bits_per_dim": total, "images": Double(n)]
        try AtomicFile.write(Pictures.jsonEncoder.encode(summary), to: outFolder.appendingPathComponent("rate-distortion.json"))

        // 3. DDPM Fig. 5.
        let t = (1...T).map(Double.init)
        var distortionPlot = Plot(title: FigureText.distortionPanel, xLabel: FigureText.timestep, yLabel: FigureText.distortion)
        distortionPlot.line(x: t, y: distortions, color: .blue, thickness: 2)
        var ratePlot = Plot(title: FigureText.ratePanel, xLabel: FigureText.timestep, yLabel: FigureText.bitsPerDimension)
        ratePlot.line(x: t, y: rates, color: .orange, thickness: 2)
        var tradeOff = Plot(title: FigureText.tradeOffPanel, xLabel: FigureText.rate, yLabel: FigureText.distortion)
        tradeOff.line(x: rates, y: distortions, color: .green, thickness: 2)
        let path = try Pictures.write(
            Figure([distortionPlot, ratePlot, tradeOff], title: FigureText.rateDistortionTitle),
            "rate-distortion.png", in: outFolder)
        print(
            String(
                format: "bound %.4f bits/dim (L_T %.5f); distortion at t = T %.1f, at t = 1 %.2f (RMSE, 0–255)",
                total, prior, distortions[T - 1], distortions[0]))
        print("wrote \(path), rate-distortion.svg, rate-distortion.csv, rate-distortion.json")
    }
}
