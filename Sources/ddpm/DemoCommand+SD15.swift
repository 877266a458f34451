// `ddpm demo --paper sd15`: SD15's swiss-roll experiment (Fig. 1) — a learned reverse mean and
// covariance trained on the variational bound (eq. 5) with the continuous Gaussian decoder.
import ArgumentParser
import DDPMDatasets
import DDPMDiffusion
import Foundation
import DDPMImaging
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTraining

extension DemoCommand {
    /// Training steps by default: half a minute to a minute on one core (`--threads 1`); by then
    /// the samples lie on the roll and the held-out bound is near 0 bits/dim.
    static let sd15DefaultSteps = 15000

    /// T = 40, as SD15 used for the swiss roll.
    static let sd15StepCount = 40

    /// β linear from 1e-3 to 0.5 over T = 40 steps, so ᾱ_T = ∏(1 − βₜ) ≈ 4.4e-6 ≈ 0: x_T is
    /// N(0, I) up to L_T ≈ 1e-5 bits/dim, and the prior p(x_T) = N(0, I) is right. SD15 trained
    /// β₂…β_T by gradient on the bound with β₁ held fixed and small; a fixed schedule keeps the
    /// bound's terms comparable across runs. β₁ = 1e-3 (noise of standard deviation 0.03 on a roll
    /// of unit scale) makes x₁ close to x₀, so the decoder N(x₀; μ_θ(x₁, 1), σ₁²) can be sharp;
    /// DDPM's 1e-4…0.02 would need T ≈ 1000 to reach ᾱ_T ≈ 0.
    static let sd15Betas = BetaSchedule.linear(start: 1e-3, end: 0.5)

    static let sd15Discussion = """
        --paper sd15:
        SD15's swiss roll (Sohl-Dickstein et al. 2015, Fig. 1). The toy MLP outputs
        both the mean (as ε, eq. 11) and log σₜ² of p_θ(xₜ₋₁|xₜ) (learned variance)
        and is trained on the full variational bound (DDPM eq. 5; loss vlb).
        T = \(sd15StepCount) as in SD15; β linear from 1e-3 to 0.5, so ᾱ_T ≈ 4e-6 ≈ 0
        (SD15 trained its β's; a fixed schedule is used here). The data are
        real-valued, so L₀ = −log N(x₀; μ_θ(x₁, 1), σ₁²) is a density: the bound
        is an upper bound on the cross-entropy (and so on the
        differential entropy) of the data, and can be negative. Writes:
          data-vs-samples.png   the data and the model's samples
          processes.png         forward q(xₜ) at t = 0, T/2, T (top) and
                                reverse p(xₜ) at the same times (bottom)
          drift.png             the learned drift μ_θ(xₜ, t) − xₜ on a grid
                                at t = T/2 and T (SD15 Fig. 1, bottom row)
          loss.png              the training loss T·L_{t−1} (bits/dim)
          samples.csv, loss.csv the numbers behind the pictures
        with an SVG copy of each picture, and prints the bound on 2000
        held-out points before and after training, in bits per dimension and
        per example, split into L_T, Σ L_{t−1} and L₀. Half a minute to a
        minute with --threads 1 (the network is small: one thread is usually
        fastest, by far on a busy machine).
        """

    /// SD15 on the swiss roll: the bound with learned mean and variance, then the pictures.
    ///
    /// 1. Data (10,000 training points, 2,000 held out), the diffusion and the model.
    /// 2. The held-out bound of the untrained model.
    /// 3. Training on T · L_{t−1} for uniform t (eq. 5).
    /// 4. The held-out bound of the trained (EMA) model, with the same noise as in 2.
    /// 5. Sampling (Algorithm 2 with the learned σₜ²), keeping x at t = T and T/2.
    /// 6. The forward process (eq. 4) and the drift field μ_θ(xₜ, t) − xₜ.
    /// 7. Pictures, numbers and the report.
    func runSD15(folder: URL, steps: Int) throws {
        let started = Date()
        // 1. Data, diffusion, model.
        var generator = PhiloxGenerator(seed: seed)
        var dataGenerator = generator.split()
        let data = ToyData.swissRoll(count: 10_000, generator: &dataGenerator)
        let heldOut = ToyData.swissRoll(count: 2000, generator: &dataGenerator)
        let heldOutPoints = try heldOut.batch(indices: Array(0..<heldOut.count))
        let process = ProcessConfiguration(
            kind: .gaussian, schedule: Self.sd15Betas, timesteps: Self.sd15StepCount,
            gaussian: GaussianChoices(prediction: .noise, variance: .learned, loss: .vlb, decoder: .continuous))
        let diffusion = try process.makeProcess() as! GaussianDiffusion
        let T = diffusion.stepCount
        let evaluationGenerator = generator.split()
        let trainer = try makeTrainer(process: process, on: data, steps: steps)
        let model = trainer.network

        // 2. Bound before training.
        func bound() throws -> VariationalBound {
            var g = evaluationGenerator
            return try diffusion.variationalBound(
                model: { model($0, timesteps: $1, mode: .evaluation) }, start: heldOutPoints, generator: &g)
        }
        let untrained = try bound()

        // 3. Training on the bound.
        let losses = try train(trainer, on: data)
        let trainingSeconds = Date().timeIntervalSince(started)

        // 4. Bound after training, EMA weights.
        trainer.ema.copy(into: model)
        let trained = try bound()

        // 5. Sampling.
        var snapshots: [Int: [Float]] = [:]
        let samples = try diffusion.sampleAncestral(
            model: { model($0, timesteps: $1, mode: .evaluation) }, shape: [count, 2], generator: &generator,
            onStep: { step in
                if step.timestep == T - 1 || step.timestep == T / 2 - 1 { snapshots[step.timestep + 1] = step.current.floats }
            })
        let sampleValues = samples.floats

        // 6. Forward process at t = T/2 and T (eq. 4); the drift on a grid.
        var noiseGenerator = generator.split()
        let x0 = try data.batch(indices: Array(0..<min(count, data.count)))
        func forward(_ t: Int) throws -> [Float] {
            let noise = Tensor.randomNormal(shape: x0.shape, generator: &noiseGenerator)
            return try diffusion.sampleForward(start: x0, timesteps: Array(repeating: t - 1, count: x0.shape[0]), noise: noise).floats
        }
        let forwardHalf = try forward(T / 2), forwardEnd = try forward(T)
        let range = -2.5...2.5
        let grid = driftGrid(range: range, side: 13)
        func drift(_ t: Int) throws -> [Float] {
            try withoutGradients {
                let step = try diffusion.reverseStep(
                    model: { model($0, timesteps: $1, mode: .evaluation) }, current: grid,
                    timesteps: Array(repeating: t - 1, count: grid.shape[0]))
                return (step.mean - grid).floats
            }
        }

        // 7. Pictures and numbers.
        func field(_ t: Int) throws -> Plot {
            var plot = Self.scatter(FigureText.drift(t: t), x0.floats, .lightGray)
            let g = grid.floats.map(Double.init), d = try drift(t).map(Double.init)
            let evens = stride(from: 0, to: g.count, by: 2)
            plot.arrows(
                x: evens.map { g[$0] }, y: evens.map { g[$0 + 1] }, dx: evens.map { d[$0] }, dy: evens.map { d[$0 + 1] }, color: .red)
            return plot
        }
        let (dataPicture, processPicture) = try Self.writeProcessPictures(
            in: folder, paper: "SD15", data: x0.floats, samples: sampleValues, forward: (forwardHalf, forwardEnd), reverse: snapshots, T: T)
        let driftPicture = folder.appendingPathComponent("drift.png")
        try Figure([try field(T / 2), try field(T)], title: FigureText.driftTitle).write(to: driftPicture)
        let lossPicture = try Self.writeLossAndSamples(in: folder, title: FigureText.boundLoss, losses: losses, samples: sampleValues)

        print(
            String(
                format: "trained %d steps in %.1f s (total %.1f s); final loss %.4f (mean of last 100)",
                steps, trainingSeconds, Date().timeIntervalSince(started), losses.suffix(100).reduce(0, +) / Double(min(100, losses.count)))
        )
        print(
            "bound on \(heldOut.count) held-out points (an upper bound on the cross-entropy, and so on the differential entropy, of the data; negative values are possible):"
        )
        print(BoundBreakdown(untrained).line("untrained"))
        print(BoundBreakdown(trained).line("trained"))
        print(
            String(
                format: "energy distance samples↔data: %.4f (standard normal noise↔data: %.4f)",
                energyDistance(sampleValues, x0.floats),
                energyDistance(Tensor.randomNormal(shape: [count, 2], generator: &noiseGenerator).floats, x0.floats)))
        for url in [dataPicture, processPicture, driftPicture, lossPicture] { print("wrote \(url.path)") }
    }
}

/// The held-out averages of a variational bound's terms, in bits per dimension (D = 2).
struct BoundBreakdown {
    /// L_T = KL(q(x_T|x₀) ‖ N(0, I)).
    var prior: Double
    /// Σ_{t>1} L_{t−1}, the KL terms.
    var transitions: Double
    /// L₀ = −log p_θ(x₀|x₁).
    var decoder: Double
    var total: Double { prior + transitions + decoder }

    init(_ bound: VariationalBound) {
        let terms = bound.terms.mean(axes: [0]).doubles
        prior = bound.prior.mean().item
        decoder = terms[0]
        transitions = terms.dropFirst().reduce(0, +)
    }

    /// "name: total X bits/dim = Y bits per example (L_T …, ΣL_{t−1} …, L₀ …)", per example = 2 × per dim.
    func line(_ name: String) -> String {
        "  \(name): "
            + String(
                format: "total %.4f bits/dim = %.4f bits per example (L_T %.6f, ΣL_{t-1} %.4f, L_0 %.4f bits/dim)",
                total, 2 * total, prior, transitions, decoder)
    }
}

/// A side × side grid of points covering `range` in both coordinates, shape [side², 2].
func driftGrid(range: ClosedRange<Double>, side: Int) -> Tensor {
    let ticks = (0..<side).map { range.lowerBound + (range.upperBound - range.lowerBound) * Double($0) / Double(side - 1) }
    let values = ticks.flatMap { y in ticks.flatMap { x in [Float(x), Float(y)] } }
    return Tensor(values, shape: [side * side, 2])
}
