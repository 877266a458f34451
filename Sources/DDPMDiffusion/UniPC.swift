// UniPC (Zhao, Bai, Rao, Zhou & Lu 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast
// Sampling of Diffusion Models"): the multistep predictor UniP-p and corrector UniC-p in
// data-prediction form with B(h) = h (bh1) or e^h − 1 (bh2), step for step as diffusers'
// UniPCMultistepScheduler (predict_x0, no solver_p) runs them.
import Foundation
import DDPMTensors

/// UniPC: a multistep predictor (UniP-p) plus a corrector (UniC-p) that reuses the next step's
/// network evaluation, so that it raises the order by one at no extra cost (Zhao et al. 2023).
///
/// ## The updates (data prediction, x̂₀ = m)
/// From step s to t with h = λₜ − λₛ (λ = log α/σ as in ``SolverSteps``), earlier outputs mᵢ at
/// λ_{sᵢ} with rᵢ = (λ_{sᵢ} − λₛ)/h and Dᵢ = (mᵢ − m₀)/rᵢ, and ĥ = −h:
///
///     xₜ = (σₜ/σₛ) xₛ − αₜ (e^{ĥ} − 1) m₀ − αₜ B(h) Σᵢ ρᵢ Dᵢ
///
/// with B(h) = ĥ (`bh1`) or e^{ĥ} − 1 (`bh2`, diffusers' default). The weights ρ solve the order
/// conditions R ρ = φ/B(h), R the Vandermonde rows rᵢ^{k−1} and φₖ = k!·hφ_{k+1}(ĥ)/ĥ^k the
/// φ-functions of the exponential integrator (UniPC §3.2, Theorem 3.1):
/// - the predictor UniP-p uses the p − 1 earlier outputs (ρ = ½ for p = 2, the linear system
///   without its last row and column for p = 3; p = 1 is DDIM);
/// - the corrector UniC-p, once the network has been evaluated at the predicted xₜ (giving m_t),
///   recomputes xₜ from xₛ with the extra point r = 1, D = m_t − m₀ (ρ = ½ for p = 1, the full
///   system otherwise). Its m_t — from the uncorrected xₜ — is the one kept for later steps.
///
/// ## Step semantics (diffusers' `UniPCMultistepScheduler.step`)
/// At step k: evaluate the network at xₖ; correct xₖ with UniC of the previous step's order (from
/// step 1 on, if `corrector`); predict xₖ₊₁ with UniP of order min(`order`, k + 1) — also at most
/// n − k with `lowerOrderFinal`, so the last step is first order. The last prediction is not
/// corrected. One network evaluation per step; all arithmetic is Float64.
public struct UniPC: Equatable, Sendable {
    /// The B(h) of the order conditions (diffusers' `solver_type`).
    public enum Variant: String, CaseIterable, Codable, Sendable {
        /// B(h) = h (with ĥ = −h for data prediction); diffusers recommends it for unconditional
        /// sampling below 10 steps.
        case bh1
        /// B(h) = e^{h} − 1; diffusers' default, recommended otherwise.
        case bh2
    }

    /// ᾱ at every timestep the network was trained on (index i is the paper's t = i + 1).
    public let alphaBar: [Double]
    /// The timestep the network is called with for each index of `alphaBar`.
    public let modelTimesteps: [Int]
    /// What the network predicts.
    public let prediction: MeanPrediction
    /// The predictor's highest order p, 1…3 (diffusers' default 2); with the corrector the
    /// accuracy order is p + 1.
    public let order: Int
    /// bh1 or bh2.
    public let variant: Variant
    /// Whether UniC corrects each predicted sample (diffusers: always, unless `disable_corrector`
    /// names the step).
    public let corrector: Bool
    /// Lower the predictor's order to the number of steps left (diffusers' `lower_order_final`).
    public let lowerOrderFinal: Bool
    /// Dynamic thresholding of x̂₀, or nil.
    public let thresholding: DynamicThresholding?
    /// Where the steps lie.
    public let grid: SolverGrid

    /// A UniPC sampler for the process with ᾱ = `alphaBar` over the training timesteps.
    ///
    /// - Parameters:
    ///   - alphaBar: ᾱ at each timestep, index i the paper's t = i + 1.
    ///   - modelTimesteps: the timestep passed to the network for each index (default: the index).
    ///   - prediction: what the network predicts (ε, x₀ or v).
    ///   - order: the predictor's order p, 1…3 (default 2).
    ///   - variant: B(h), `bh2` (default) or `bh1`.
    ///   - corrector: apply UniC after every prediction but the last (default true).
    ///   - lowerOrderFinal: cap the order by the steps left (default true).
    ///   - thresholding: dynamic thresholding of x̂₀.
    ///   - grid: the step placement and final noise level (default: diffusers').
    /// - Throws: `DiffusionError.solverOrderUnsupported` for an order outside 1…3;
    ///   `.unsupportedSolverSetting` for final noise zero with an order above 1 and no lower-order
    ///   final steps (the last step's order conditions are singular there; diffusers fails), or an
    ///   ᾱ outside (0, 1).
    public init(
        alphaBar: [Double], modelTimesteps: [Int]? = nil, prediction: MeanPrediction = .noise, order: Int = 2, variant: Variant = .bh2,
        corrector: Bool = true, lowerOrderFinal: Bool = true, thresholding: DynamicThresholding? = nil, grid: SolverGrid = SolverGrid()
    ) throws {
        guard (1...3).contains(order) else { throw DiffusionError.solverOrderUnsupported(solver: "unipc", order: order, maximum: 3) }
        if grid.finalNoise == .zero, order > 1, !lowerOrderFinal {
            throw DiffusionError.unsupportedSolverSetting(
                "unipc of order \(order) cannot take its last step to noise level zero at full order (λ = ∞ makes the order conditions "
                    + "singular; diffusers fails there too); keep lower-order final steps or use final noise sigma-min.")
        }
        try DPMSolver.check(alphaBar: alphaBar, modelTimesteps: modelTimesteps)
        self.alphaBar = alphaBar
        self.modelTimesteps = modelTimesteps ?? Array(alphaBar.indices)
        self.prediction = prediction
        self.order = order
        self.variant = variant
        self.corrector = corrector
        self.lowerOrderFinal = lowerOrderFinal
        self.thresholding = thresholding
        self.grid = grid
    }

    /// A UniPC sampler for `process` (its ᾱ, prediction and, if respaced, original timesteps).
    /// - Throws: as `init(alphaBar:…)`.
    public init(
        process: GaussianDiffusion, order: Int = 2, variant: Variant = .bh2, corrector: Bool = true, lowerOrderFinal: Bool = true,
        thresholding: DynamicThresholding? = nil, grid: SolverGrid = SolverGrid()
    ) throws {
        try self.init(
            alphaBar: process.schedule.alphaBar, modelTimesteps: process.schedule.originalTimesteps, prediction: process.meanPrediction,
            order: order, variant: variant, corrector: corrector, lowerOrderFinal: lowerOrderFinal, thresholding: thresholding, grid: grid)
    }

    /// The `count` steps this sampler takes. With Karras placement and final noise `sigma-min` the
    /// final σ is the last placed one (diffusers' UniPC rule).
    /// - Throws: `DiffusionError.solverStepCount` for a count outside 1…T, or a grid error.
    public func steps(_ count: Int) throws -> SolverSteps {
        try grid.steps(count: count, alphaBar: alphaBar, solver: "unipc", finalFollowsKarras: true)
    }

    /// The predictor's order at each of `count` steps: min(`order`, k + 1, and n − k with
    /// `lowerOrderFinal`). The corrector at step k + 1 has the order of step k.
    public func orders(count: Int) -> [Int] {
        (0..<count).map { k in Swift.min(lowerOrderFinal ? Swift.min(order, count - k) : order, k + 1) }
    }

    /// Samples from `initialNoise` = x_T in `steps` network evaluations.
    ///
    /// For each step k (noisiest first):
    /// 1. m = x̂₀ from the network at xₖ (thresholded if asked); `onStep` sees this xₖ — the
    ///    network's input, the last prediction before its correction — and m.
    /// 2. From k = 1 on: xₖ ← UniC(xₖ₋₁, earlier outputs, m) of the previous step's order.
    /// 3. xₖ₊₁ = UniP(xₖ, m, earlier outputs) of this step's order (``orders(count:)``).
    ///
    /// - Returns: the last prediction, in `initialNoise`'s dtype.
    /// - Throws: `DiffusionError` for a bad step count, a model output of the wrong shape, or an
    ///   order-3 step of zero length (see ``DPMSolver/sample(model:initialNoise:steps:noise:generator:onStep:)``).
    public func sample(
        model: DiffusionModel, initialNoise: Tensor, steps count: Int, onStep: SamplingCallback? = nil
    ) throws -> Tensor {
        let steps = try self.steps(count)
        let n = steps.count
        let orders = self.orders(count: n)
        let (alpha, sigma, lambda) = (steps.alphas, steps.noiseScales, steps.logSNR)
        try DPMSolver.checkStepLengths(lambda: lambda, orders: orders, solver: "unipc")
        return try withoutGradients {
            var x = initialNoise.converted(to: .float64)
            var outputs: [Tensor] = []  // x̂₀ of the last steps, most recent last
            var previous: Tensor?  // xₖ₋₁, the last step's (corrected) input
            for k in 0..<n {
                // 1. x̂₀ at the predicted xₖ.
                let output = try solverModelOutput(model, x, timestep: modelTimesteps[steps.timesteps[k]], dtype: initialNoise.dtype)
                let m = predictedStart(
                    output, current: x, alpha: alpha[k], sigma: sigma[k], prediction: prediction, thresholding: thresholding)
                onStep?(
                    SamplingStep(
                        index: n - 1 - k, timestep: modelTimesteps[steps.timesteps[k]], current: x.converted(to: initialNoise.dtype),
                        predictedStart: m.converted(to: initialNoise.dtype)))
                // 2. UniC-p: correct xₖ with the new evaluation (p = the previous step's order).
                if corrector, k > 0, let previous {
                    let p = orders[k - 1]
                    let h = lambda[k] - lambda[k - 1]
                    let m0 = outputs[outputs.count - 1]
                    let (ratios, differences) = Self.differences(
                        outputs: outputs, newest: m0, lambda: lambda, from: k - 1, h: h, count: p - 1)
                    let (r, b, hPhi1, bh) = Self.conditions(h: h, ratios: ratios + [1], order: p, variant: variant)
                    let rho = p == 1 ? [0.5] : Self.solve(r, b)
                    var correction = (m - m0) * rho[p - 1]
                    for (d, weight) in zip(differences, rho) { correction = correction + d * weight }
                    x = previous * (sigma[k] / sigma[k - 1]) - m0 * (alpha[k] * hPhi1) - correction * (alpha[k] * bh)
                }
                outputs.append(m)
                if outputs.count > order { outputs.removeFirst() }
                previous = x
                // 3. UniP-p: predict xₖ₊₁.
                let p = orders[k]
                let h = lambda[k + 1] - lambda[k]
                let (ratios, differences) = Self.differences(outputs: outputs, newest: m, lambda: lambda, from: k, h: h, count: p - 1)
                let (r, b, hPhi1, bh) = Self.conditions(h: h, ratios: ratios + [1], order: p, variant: variant)
                var next = x * (sigma[k + 1] / sigma[k]) - m * (alpha[k + 1] * hPhi1)
                if !differences.isEmpty {
                    let rho = p == 2 ? [0.5] : Self.solve(Array(r.prefix(p - 1).map { Array($0.prefix(p - 1)) }), Array(b.prefix(p - 1)))
                    for (d, weight) in zip(differences, rho) { next = next - d * (alpha[k + 1] * bh * weight) }
                }
                x = next
            }
            return x.converted(to: initialNoise.dtype)
        }
    }

    /// The ratios rᵢ = (λ_{s−i} − λₛ)/h and differences Dᵢ = (mᵢ − m₀)/rᵢ, i = 1…`count`, of the
    /// outputs before `newest` (the last of `outputs`), where s = `from` indexes `lambda`.
    static func differences(outputs: [Tensor], newest: Tensor, lambda: [Double], from s: Int, h: Double, count: Int)
        -> (ratios: [Double], differences: [Tensor])
    {
        guard count > 0 else { return ([], []) }
        let ratios = (1...count).map { (lambda[s - $0] - lambda[s]) / h }
        let differences = (1...count).map { (outputs[outputs.count - 1 - $0] - newest) * (1 / ratios[$0 - 1]) }
        return (ratios, differences)
    }

    /// UniPC's order conditions for `order` points at `ratios` (the last is 1): R (row k: rᵢ^{k}),
    /// b (φ terms over B(h)), hφ₁ = e^{ĥ} − 1 and B(h), with ĥ = −h (data prediction).
    static func conditions(h: Double, ratios: [Double], order: Int, variant: Variant)
        -> (r: [[Double]], b: [Double], hPhi1: Double, bh: Double)
    {
        let hh = -h
        let hPhi1 = Foundation.expm1(hh)
        var hPhiK = hPhi1 / hh - 1
        var factorial = 1.0
        let bh = variant == .bh1 ? hh : Foundation.expm1(hh)
        var r: [[Double]] = []
        var b: [Double] = []
        for i in 1...order {
            r.append(ratios.map { pow($0, Double(i - 1)) })
            b.append(hPhiK * factorial / bh)
            factorial *= Double(i + 1)
            hPhiK = hPhiK / hh - 1 / factorial
        }
        return (r, b, hPhi1, bh)
    }

    /// The solution of the small system `a` x = `b` (Gaussian elimination with partial pivoting,
    /// as LAPACK's gesv that torch.linalg.solve calls).
    static func solve(_ a: [[Double]], _ b: [Double]) -> [Double] {
        var m = a, y = b
        let n = y.count
        for column in 0..<n {
            let pivot = (column..<n).max { Swift.abs(m[$0][column]) < Swift.abs(m[$1][column]) }!
            m.swapAt(column, pivot)
            y.swapAt(column, pivot)
            for row in column + 1..<n {
                let factor = m[row][column] / m[column][column]
                for j in column..<n { m[row][j] -= factor * m[column][j] }
                y[row] -= factor * y[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in (0..<n).reversed() {
            let rest = (row + 1..<n).reduce(0.0) { $0 + m[row][$1] * x[$1] }
            x[row] = (y[row] - rest) / m[row][row]
        }
        return x
    }
}
