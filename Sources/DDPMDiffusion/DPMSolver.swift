// Multistep DPM-Solver++ (Lu et al. 2022b, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
// Probabilistic Models", Algorithm 2 and its third-order and SDE variants) and the original
// noise-prediction DPM-Solver (Lu et al. 2022a, NeurIPS), step for step as diffusers'
// DPMSolverMultistepScheduler (solver_type "midpoint") runs them.
import Foundation
import DDPMTensors

/// Multistep DPM-Solver++ of order 1–3 in data-prediction form, its SDE variant, and the original
/// noise-prediction DPM-Solver: 10–20 network evaluations where DDIM needs 50 or more.
///
/// ## The ODE and its exact solution
/// With αₜ = √ᾱₜ, σₜ = √(1 − ᾱₜ) and λₜ = log(αₜ/σₜ), the probability-flow ODE of the diffusion
/// has the exact solution from xₛ to xₜ (DPM-Solver eq. 3.4, and its data-prediction form in
/// DPM-Solver++ §3)
///
///     xₜ = (αₜ/αₛ) xₛ − αₜ ∫_{λₛ}^{λₜ} e^{−λ} ε̂(x_λ, λ) dλ                 (noise prediction)
///     xₜ = (σₜ/σₛ) xₛ + σₜ ∫_{λₛ}^{λₜ} e^{λ} x̂₀(x_λ, λ) dλ                  (data prediction)
///
/// The solvers approximate the model term by a polynomial in λ through the last k evaluations,
/// which makes a k-th order method; the exponential part is integrated exactly. With h = λₜ − λₛ
/// and the last outputs m₀ (now), m₁, m₂ (earlier) at step sizes h₀ = λₛ − λ_{s₁}, h₁:
///
/// - Order 1 (DPM-Solver++1, which is DDIM with η = 0): xₜ = (σₜ/σₛ) xₛ − αₜ(e^{−h} − 1) m₀.
/// - Order 2, multistep (DPM-Solver++(2M), Algorithm 2, "midpoint"): with r₀ = h₀/h and
///   D₁ = (m₀ − m₁)/r₀: xₜ = (σₜ/σₛ) xₛ − αₜ(e^{−h} − 1)(m₀ + ½ D₁).
/// - Order 3, multistep (the third-order multistep update of the authors' code and diffusers):
///   r₁ = h₁/h, D₁,₀ = (m₀ − m₁)/r₀, D₁,₁ = (m₁ − m₂)/r₁, D₁ = D₁,₀ + r₀/(r₀ + r₁)(D₁,₀ − D₁,₁),
///   D₂ = (D₁,₀ − D₁,₁)/(r₀ + r₁):
///   xₜ = (σₜ/σₛ) xₛ − αₜ(e^{−h} − 1) m₀ + αₜ((e^{−h} − 1)/h + 1) D₁ − αₜ((e^{−h} − 1 + h)/h² − ½) D₂.
/// - Noise prediction (DPM-Solver-1, and the multistep second and third order of Lu et al. 2022a's
///   code): the same with (αₜ/αₛ) xₛ, −σₜ(e^{h} − 1) and ε̂ for x̂₀:
///   order 2: −σₜ(e^{h} − 1)(ε̂₀ + ½ D₁); order 3: −σₜ((e^{h} − 1)/h − 1) D₁ − σₜ((e^{h} − 1 − h)/h² − ½) D₂.
/// - SDE variant (`sde-dpmsolver++`, order ≤ 2; SDE-DPM-Solver++(2M), the exponential integrator of
///   the reverse SDE in data-prediction form, as diffusers implements it):
///   xₜ = (σₜ/σₛ)e^{−h} xₛ + αₜ(1 − e^{−2h})(m₀ + ½ D₁) + σₜ√(1 − e^{−2h}) z.
///
/// ## Step semantics (diffusers' `DPMSolverMultistepScheduler.step`)
/// Timesteps and σ come from ``SolverGrid``; the network is called once per step. Step k uses
/// order 1 while fewer than one earlier output exists, 2 while fewer than two, else `order`;
/// with `lowerOrderFinal` and fewer than 15 steps the second-to-last step is at most second order
/// and the last first order, and with a final noise level of zero the last step is always first
/// order (it returns x̂₀). Learned-variance channels (a network with twice the input's channels)
/// are dropped, as diffusers does. All arithmetic is Float64 whatever the network's precision.
public struct DPMSolver: Equatable, Sendable {
    /// Which integral is discretised (diffusers' `algorithm_type`).
    public enum Algorithm: String, CaseIterable, Codable, Sendable {
        /// DPM-Solver++ (Lu et al. 2022b): the data-prediction form, x̂₀ integrated. Stable with
        /// guidance and thresholding; diffusers' default.
        case dataPrediction = "dpmsolver++"
        /// The SDE variant of DPM-Solver++: fresh noise every step, order 1 or 2.
        case stochasticDataPrediction = "sde-dpmsolver++"
        /// The original DPM-Solver (Lu et al. 2022a): the noise-prediction form, ε̂ integrated. For
        /// comparison; needs a final noise level above zero.
        case noisePrediction = "dpmsolver"
    }

    /// ᾱ at every timestep the network was trained on (index i is the paper's t = i + 1).
    public let alphaBar: [Double]
    /// The timestep the network is called with for each index of `alphaBar` (the identity unless
    /// the process was respaced).
    public let modelTimesteps: [Int]
    /// What the network predicts.
    public let prediction: MeanPrediction
    /// Data- or noise-prediction form, ODE or SDE.
    public let algorithm: Algorithm
    /// The highest order used, 1…3 (1…2 for the SDE variant). 2 is diffusers' default (advised for
    /// guided sampling), 3 is advised for unconditional sampling.
    public let order: Int
    /// Lower the order of the last steps below 15 steps (diffusers' `lower_order_final`, default
    /// true: it stabilises sampling at ≤ 10 steps).
    public let lowerOrderFinal: Bool
    /// Dynamic thresholding of x̂₀ (data-prediction forms only), or nil.
    public let thresholding: DynamicThresholding?
    /// Where the steps lie.
    public let grid: SolverGrid

    /// A solver for the process with ᾱ = `alphaBar` over the training timesteps.
    ///
    /// - Parameters:
    ///   - alphaBar: ᾱ at each timestep, index i the paper's t = i + 1.
    ///   - modelTimesteps: the timestep passed to the network for each index (default: the index).
    ///   - prediction: what the network predicts (ε, x₀ or v).
    ///   - algorithm: DPM-Solver++ (default), its SDE variant, or the noise-prediction DPM-Solver.
    ///   - order: 1, 2 (default) or 3; at most 2 for the SDE variant.
    ///   - lowerOrderFinal: lower the order of the last two steps below 15 steps (default true).
    ///   - thresholding: dynamic thresholding of x̂₀, for the data-prediction forms.
    ///   - grid: the step placement and final noise level (default: diffusers').
    /// - Throws: `DiffusionError.solverOrderUnsupported` for order 0, 4 or more, or 3 with the SDE
    ///   variant; `.unsupportedSolverSetting` for thresholding or a final noise level of zero with
    ///   the noise-prediction form, or an ᾱ outside (0, 1).
    public init(
        alphaBar: [Double], modelTimesteps: [Int]? = nil, prediction: MeanPrediction = .noise, algorithm: Algorithm = .dataPrediction,
        order: Int = 2, lowerOrderFinal: Bool = true, thresholding: DynamicThresholding? = nil, grid: SolverGrid = SolverGrid()
    ) throws {
        let maximum = algorithm == .stochasticDataPrediction ? 2 : 3
        guard (1...maximum).contains(order) else {
            throw DiffusionError.solverOrderUnsupported(solver: algorithm.rawValue, order: order, maximum: maximum)
        }
        if algorithm == .noisePrediction {
            if thresholding != nil {
                throw DiffusionError.unsupportedSolverSetting(
                    "dynamic thresholding limits x̂₀, which the noise-prediction dpmsolver does not integrate; use dpmsolver++.")
            }
            if grid.finalNoise == .zero {
                throw DiffusionError.unsupportedSolverSetting(
                    "the noise-prediction dpmsolver cannot end at noise level zero (as in diffusers); use final noise sigma-min or dpmsolver++."
                )
            }
        }
        try Self.check(alphaBar: alphaBar, modelTimesteps: modelTimesteps)
        self.alphaBar = alphaBar
        self.modelTimesteps = modelTimesteps ?? Array(alphaBar.indices)
        self.prediction = prediction
        self.algorithm = algorithm
        self.order = order
        self.lowerOrderFinal = lowerOrderFinal
        self.thresholding = thresholding
        self.grid = grid
    }

    /// A solver for `process` (its ᾱ, prediction and, if it was respaced, its original timesteps).
    /// - Throws: as `init(alphaBar:…)`.
    public init(
        process: GaussianDiffusion, algorithm: Algorithm = .dataPrediction, order: Int = 2, lowerOrderFinal: Bool = true,
        thresholding: DynamicThresholding? = nil, grid: SolverGrid = SolverGrid()
    ) throws {
        try self.init(
            alphaBar: process.schedule.alphaBar, modelTimesteps: process.schedule.originalTimesteps, prediction: process.meanPrediction,
            algorithm: algorithm, order: order, lowerOrderFinal: lowerOrderFinal, thresholding: thresholding, grid: grid)
    }

    static func check(alphaBar: [Double], modelTimesteps: [Int]?) throws {
        guard !alphaBar.isEmpty else { throw DiffusionError.invalidStepCount(0) }
        if let bad = alphaBar.firstIndex(where: { !($0 > 0 && $0 < 1) }) {
            throw DiffusionError.unsupportedSolverSetting(
                "ᾱ at index \(bad) is \(alphaBar[bad]); the solvers need 0 < ᾱ < 1 at every timestep (a zero-SNR schedule's last ᾱ = 0 "
                    + "has infinite σ: clamp it, as diffusers does with 2⁻²⁴).")
        }
        if let modelTimesteps, modelTimesteps.count != alphaBar.count {
            throw DiffusionError.unsupportedSolverSetting(
                "\(modelTimesteps.count) model timesteps for \(alphaBar.count) values of ᾱ; give one per timestep.")
        }
    }

    /// The `count` steps this solver takes (timesteps, σ, α, λ).
    /// - Throws: `DiffusionError.solverStepCount` for a count outside 1…T, or a grid error.
    public func steps(_ count: Int) throws -> SolverSteps {
        try grid.steps(count: count, alphaBar: alphaBar, solver: algorithm.rawValue, finalFollowsKarras: false)
    }

    /// The order of each of `count` steps (see the step semantics above).
    public func orders(count: Int) -> [Int] {
        var warm = 0
        return (0..<count).map { k in
            let lowestFinal = k == count - 1 && ((lowerOrderFinal && count < 15) || grid.finalNoise == .zero)
            let lowerSecond = k == count - 2 && lowerOrderFinal && count < 15
            let o = order == 1 || warm < 1 || lowestFinal ? 1 : (order == 2 || warm < 2 || lowerSecond ? 2 : 3)
            warm = Swift.min(warm + 1, order)
            return o
        }
    }

    /// Samples from `initialNoise` = x_T in `steps` network evaluations.
    ///
    /// For each step k (noisiest first), at σₖ with αₖ, σₜ,ₖ, λₖ from ``steps(_:)``:
    /// 1. m = x̂₀ (data forms; thresholded if asked) or ε̂ (noise form) from the network's output at
    ///    timestep tₖ; `onStep` sees xₖ and x̂₀.
    /// 2. The order of this step (``orders(count:)``).
    /// 3. xₖ₊₁ from the update of that order (see the type's documentation), with the noise z of
    ///    step k for the SDE variant: `noise(k)` when given, else drawn from `generator` in
    ///    `initialNoise`'s dtype.
    ///
    /// - Returns: x at the final noise level, in `initialNoise`'s dtype.
    /// - Throws: `DiffusionError` for a bad step count, a model output of the wrong shape, noise of
    ///   the wrong shape, or a third-order step of zero length (a Karras or log-SNR placement with
    ///   final noise `sigma-min` repeats the last σ: use lower-order final steps there).
    public func sample(
        model: DiffusionModel, initialNoise: Tensor, steps count: Int, noise: ((Int) -> Tensor)? = nil,
        generator: inout some NoiseSource, onStep: SamplingCallback? = nil
    ) throws -> Tensor {
        let steps = try self.steps(count)
        let n = steps.count
        let orders = self.orders(count: n)
        let (alpha, sigma, lambda) = (steps.alphas, steps.noiseScales, steps.logSNR)
        try Self.checkStepLengths(lambda: lambda, orders: orders, solver: algorithm.rawValue)
        let dataForm = algorithm != .noisePrediction
        return try withoutGradients {
            var x = initialNoise.converted(to: .float64)
            var outputs: [Tensor] = []  // m of the last steps, most recent last
            for k in 0..<n {
                // 1. The network's output as x̂₀ or ε̂ at σₖ.
                let output = try solverModelOutput(model, x, timestep: modelTimesteps[steps.timesteps[k]], dtype: initialNoise.dtype)
                let m: Tensor
                let start: Tensor
                if dataForm {
                    start = predictedStart(
                        output, current: x, alpha: alpha[k], sigma: sigma[k], prediction: prediction, thresholding: thresholding)
                    m = start
                } else {
                    m = predictedNoise(output, current: x, alpha: alpha[k], sigma: sigma[k], prediction: prediction)
                    start = (x - m * sigma[k]) * (1 / alpha[k])
                }
                onStep?(
                    SamplingStep(
                        index: n - 1 - k, timestep: modelTimesteps[steps.timesteps[k]], current: x.converted(to: initialNoise.dtype),
                        predictedStart: start.converted(to: initialNoise.dtype)))
                outputs.append(m)
                if outputs.count > order { outputs.removeFirst() }
                // 2–3. The update of this step's order from σₖ to σₖ₊₁.
                let h = lambda[k + 1] - lambda[k]
                let m0 = outputs[outputs.count - 1]
                var d1: Tensor?
                var d2: Tensor?
                if orders[k] == 2 {
                    let r0 = (lambda[k] - lambda[k - 1]) / h
                    d1 = (m0 - outputs[outputs.count - 2]) * (1 / r0)
                } else if orders[k] == 3 {
                    let r0 = (lambda[k] - lambda[k - 1]) / h, r1 = (lambda[k - 1] - lambda[k - 2]) / h
                    let m1 = outputs[outputs.count - 2], m2 = outputs[outputs.count - 3]
                    let d10 = (m0 - m1) * (1 / r0), d11 = (m1 - m2) * (1 / r1)
                    d1 = d10 + (d10 - d11) * (r0 / (r0 + r1))
                    d2 = (d10 - d11) * (1 / (r0 + r1))
                }
                let (at, st, ss, asPrevious) = (alpha[k + 1], sigma[k + 1], sigma[k], alpha[k])
                switch algorithm {
                case .dataPrediction:
                    let phi = h.isFinite ? Foundation.exp(-h) - 1 : -1  // e^{−h} − 1
                    x = x * (st / ss) - m0 * (at * phi)
                    if let d1, orders[k] == 2 { x = x - d1 * (0.5 * at * phi) }
                    if let d1, let d2 { x = x + d1 * (at * (phi / h + 1)) - d2 * (at * ((phi + h) / (h * h) - 0.5)) }
                case .noisePrediction:
                    let phi = Foundation.exp(h) - 1  // e^{h} − 1
                    x = x * (at / asPrevious) - m0 * (st * phi)
                    if let d1, orders[k] == 2 { x = x - d1 * (0.5 * st * phi) }
                    if let d1, let d2 { x = x - d1 * (st * (phi / h - 1)) - d2 * (st * ((phi - h) / (h * h) - 0.5)) }
                case .stochasticDataPrediction:
                    let decay = h.isFinite ? Foundation.exp(-2 * h) : 0  // e^{−2h}
                    let drawn = noise?(k) ?? generator.normal(shape: x.shape, dtype: initialNoise.dtype)
                    guard drawn.shape == x.shape else { throw DiffusionError.noiseShape(expected: x.shape, got: drawn.shape) }
                    let shrink = h.isFinite ? st / ss * Foundation.exp(-h) : 0
                    x = x * shrink + m0 * (at * (1 - decay)) + drawn.converted(to: .float64) * (st * (1 - decay).squareRoot())
                    if let d1 { x = x + d1 * (0.5 * at * (1 - decay)) }
                }
            }
            return x.converted(to: initialNoise.dtype)
        }
    }

    /// Refuses a step of order ≥ 3 whose λ-length (or a previous one it divides by) is zero or
    /// below 1e-9: its coefficients would be ∞/∞, or cancel catastrophically.
    static func checkStepLengths(lambda: [Double], orders: [Int], solver: String) throws {
        for (k, o) in orders.enumerated() where o >= 3 {
            let lengths = (0..<o).map { lambda[k + 1 - $0] - lambda[k - $0] }
            if lengths.contains(where: { !($0 > 1e-9) }) {
                throw DiffusionError.unsupportedSolverSetting(
                    "step \(k + 1) of \(orders.count) of \(solver) has zero length in log-SNR (two equal noise levels: a Karras or log-SNR "
                        + "placement with final noise sigma-min repeats the smallest σ), where an order-\(o) step is undefined; "
                        + "use lower-order final steps, order 2, or final noise zero.")
            }
        }
    }
}

// MARK: - The network's output as the solvers need it (shared with UniPC)

/// Calls `model` on `x` (given to it in `dtype`) at `timestep`, checks the output's shape, drops
/// learned-variance channels and returns the mean part in Float64.
func solverModelOutput(_ model: DiffusionModel, _ x: Tensor, timestep: Int, dtype: DType) throws -> Tensor {
    let output = model(x.converted(to: dtype), [Int](repeating: timestep, count: x.shape[0])).converted(to: .float64)
    let channels = x.shape[1]
    guard output.shape[0] == x.shape[0], Array(output.shape.dropFirst(2)) == Array(x.shape.dropFirst(2)),
        output.shape[1] == channels || output.shape[1] == 2 * channels
    else { throw DiffusionError.modelOutputShape(expected: x.shape, got: output.shape) }
    return output.shape[1] == channels ? output : output.split(sizes: [channels, channels], axis: 1)[0]
}

/// x̂₀ from the network's output at a noise level with αₜ = `alpha`, σₜ = `sigma`
/// (ε: (x − σₜ ε̂)/αₜ; x₀: itself; v: αₜ x − σₜ v̂), thresholded if asked.
func predictedStart(
    _ output: Tensor, current x: Tensor, alpha: Double, sigma: Double, prediction: MeanPrediction, thresholding: DynamicThresholding?
) -> Tensor {
    let start: Tensor
    switch prediction {
    case .noise: start = (x - output * sigma) * (1 / alpha)
    case .start: start = output
    case .velocity: start = x * alpha - output * sigma
    }
    return thresholding?.apply(start) ?? start
}

/// ε̂ from the network's output (ε: itself; x₀: (x − αₜ x̂₀)/σₜ; v: αₜ v̂ + σₜ x).
func predictedNoise(_ output: Tensor, current x: Tensor, alpha: Double, sigma: Double, prediction: MeanPrediction) -> Tensor {
    switch prediction {
    case .noise: output
    case .start: (x - output * alpha) * (1 / sigma)
    case .velocity: output * alpha + x * sigma
    }
}
