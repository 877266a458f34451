// Where the multistep solvers (DPM-Solver, DPM-Solver++, UniPC) step: timesteps and noise levels
// σ = √((1 − ᾱ)/ᾱ) as diffusers' DPMSolverMultistepScheduler.set_timesteps chooses them — uniform in t
// (its spacings), uniform in log-SNR λ (Lu et al. 2022a, §3.3), or Karras et al. 2022's σ (eq. 5).
import Foundation

/// How a multistep solver places its steps between the noisiest timestep and the final noise level.
public enum StepPlacement: String, CaseIterable, Codable, Sendable {
    /// Uniform in t: the timesteps of the grid's `spacing` (diffusers' `timestep_spacing`), each
    /// step at that timestep's own σ. diffusers' default.
    case uniform
    /// Uniform in log-SNR: λ = log(α/σ) evenly spaced from λ at timestep T − 1 to λ at timestep 0
    /// (Lu et al. 2022a, "DPM-Solver", §3.3 and Appendix D; diffusers' `use_lu_lambdas`). The
    /// network sees the nearest timestep (linear interpolation in log σ, then rounded); the solver
    /// uses the placed σ itself.
    case logSNR = "log-snr"
    /// Karras et al. 2022 ("Elucidating the Design Space", eq. 5): σᵢ = (σ_max^{1/ρ} + i/(n−1)·
    /// (σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ with ρ = 7, σ_max and σ_min those of timesteps T − 1 and 0
    /// (diffusers' `use_karras_sigmas`). Timesteps as for `logSNR`.
    case karras
}

/// The noise level a multistep solver ends at (diffusers' `final_sigmas_type`).
public enum FinalNoiseLevel: String, CaseIterable, Codable, Sendable {
    /// σ = 0: the last step returns the data prediction x̂₀ and is always first order. diffusers'
    /// default (`"zero"`); the noise-prediction DPM-Solver cannot end there (it would divide by σ).
    case zero
    /// σ of timestep 0, √((1 − ᾱ₀)/ᾱ₀) (`"sigma_min"`): the chain ends at x₁'s noise level, as
    /// DDPM's does before its last, noiseless step. diffusers' scheduler tests use it.
    case minimum = "sigma-min"
}

/// The steps a multistep solver takes: n timesteps and n + 1 noise levels (the last the final one).
///
/// In the variance-preserving notation of the solver papers, with σ = √((1 − ᾱ)/ᾱ) the
/// noise-to-signal ratio at a step: αₜ = 1/√(σ² + 1) = √ᾱₜ, σₜ = σ·αₜ = √(1 − ᾱₜ), and
/// λₜ = log αₜ − log σₜ, the half log-SNR the solvers integrate over (Lu et al. 2022a, §3.1).
public struct SolverSteps: Equatable, Sendable {
    /// The 0-based timestep the network is called with at each step (n values, noisiest first).
    public let timesteps: [Int]
    /// σ = √((1 − ᾱ)/ᾱ) at each step and, last, the final noise level (n + 1 values).
    public let sigmas: [Double]
    /// αₜ = 1/√(σ² + 1) for each entry of `sigmas`.
    public let alphas: [Double]
    /// σₜ = σ·αₜ for each entry of `sigmas` (0 at a final noise level of zero).
    public let noiseScales: [Double]
    /// λₜ = log αₜ − log σₜ for each entry of `sigmas` (+∞ at a final noise level of zero).
    public let logSNR: [Double]

    /// The steps at the given timesteps and noise levels (`sigmas` has one more entry).
    public init(timesteps: [Int], sigmas: [Double]) {
        precondition(
            sigmas.count == timesteps.count + 1,
            "\(timesteps.count) timesteps need \(timesteps.count + 1) noise levels, got \(sigmas.count)")
        self.timesteps = timesteps
        self.sigmas = sigmas
        alphas = sigmas.map { 1 / ($0 * $0 + 1).squareRoot() }
        noiseScales = zip(sigmas, alphas).map { $0 * $1 }
        logSNR = zip(alphas, noiseScales).map { Foundation.log($0) - Foundation.log($1) }
    }

    /// n, the number of steps (and network evaluations).
    public var count: Int { timesteps.count }
}

/// Where a multistep solver steps: the placement, diffusers' spacing and offset for uniform steps,
/// the final noise level and an optional lower limit on λ. The defaults are diffusers'
/// `DPMSolverMultistepScheduler` defaults.
public struct SolverGrid: Equatable, Codable, Sendable {
    /// Uniform in t, uniform in λ, or Karras σ.
    public var placement: StepPlacement
    /// The timesteps of a uniform placement (diffusers' `timestep_spacing`): `linspace`
    /// round(linspace(0, T' − 1, n + 1)) without its 0, `leading` k·⌊T'/(n + 1)⌋ + offset for
    /// k = n…1, `trailing` round(T' − k·T/n) − 1 for k = 0…n − 1, where T' = T unless
    /// `minimumLogSNR` cuts the noisiest timesteps off. (The solvers' `leading` and `linspace`
    /// differ from DDIM's: they split the range into n + 1 parts.)
    public var spacing: DiffusersScheduler.Spacing
    /// Added to every timestep of the `leading` spacing (diffusers' `steps_offset`).
    public var stepsOffset: Int
    /// The noise level of the last step's result.
    public var finalNoise: FinalNoiseLevel
    /// Timesteps whose λ is below this are not used by the uniform placement (diffusers'
    /// `lambda_min_clipped`; −∞, the default, keeps them all). Cosine schedules need it: their
    /// last timesteps have α ≈ 0 and λ → −∞.
    public var minimumLogSNR: Double

    /// A grid with the given settings; the defaults are diffusers'.
    public init(
        placement: StepPlacement = .uniform, spacing: DiffusersScheduler.Spacing = .linspace, stepsOffset: Int = 0,
        finalNoise: FinalNoiseLevel = .zero, minimumLogSNR: Double = -.infinity
    ) {
        self.placement = placement
        self.spacing = spacing
        self.stepsOffset = stepsOffset
        self.finalNoise = finalNoise
        self.minimumLogSNR = minimumLogSNR
    }

    /// The `count` steps for the process with ᾱ = `alphaBar` (one entry per training timestep), as
    /// diffusers' `DPMSolverMultistepScheduler.set_timesteps(count)` makes them:
    ///
    /// 1. σ = √((1 − ᾱ)/ᾱ) at every training timestep; T' = T less the timesteps with λ below
    ///    `minimumLogSNR`.
    /// 2. `uniform`: timesteps from `spacing`, σ at each. `logSNR` / `karras`: n noise levels
    ///    between σ(T − 1) and σ(0), and for each the timestep whose log σ it falls at, linearly
    ///    interpolated between neighbours and rounded (half to even).
    /// 3. The final noise level: 0, or σ(0).
    ///
    /// (diffusers truncates instead of rounding the placed timesteps of a `squaredcos_cap_v2`
    /// schedule; this rounds for every schedule.)
    ///
    /// - Throws: `DiffusionError.solverStepCount` for a count outside 1…T;
    ///   `.unsupportedSolverSetting` for a negative offset, a timestep the spacing puts outside
    ///   0..<T, or a non-uniform placement with T = 1.
    public func steps(count: Int, alphaBar: [Double]) throws -> SolverSteps {
        try steps(count: count, alphaBar: alphaBar, solver: "the solver", finalFollowsKarras: false)
    }

    /// As `steps(count:alphaBar:)`; `finalFollowsKarras` makes the final σ of `sigma-min` with Karras
    /// placement the last placed σ (UniPC's rule) rather than σ(0) (DPM-Solver's): the two agree to
    /// rounding. `solver` names the solver in errors.
    func steps(count: Int, alphaBar: [Double], solver: String, finalFollowsKarras: Bool) throws -> SolverSteps {
        let T = alphaBar.count
        guard count >= 1, count <= T else { throw DiffusionError.solverStepCount(solver: solver, requested: count, available: T) }
        guard stepsOffset >= 0 else { throw DiffusionError.unsupportedSolverSetting("steps offset \(stepsOffset) must be 0 or more.") }
        // 1. σ and λ at every training timestep; the timesteps left after the λ limit.
        let sigmaTable = alphaBar.map { ((1 - $0) / $0).squareRoot() }
        let clipped = alphaBar.filter { Foundation.log($0.squareRoot()) - Foundation.log((1 - $0).squareRoot()) < minimumLogSNR }.count
        let last = T - clipped
        guard last >= 1 else {
            throw DiffusionError.unsupportedSolverSetting(
                "the minimum log-SNR \(minimumLogSNR) leaves no timestep: every λ of this schedule is below it.")
        }
        // 2. Timesteps and their σ.
        var timesteps: [Int]
        var sigmas: [Double]
        switch placement {
        case .uniform:
            switch spacing {
            case .linspace:
                let step = Double(last - 1) / Double(count)
                timesteps = (1...count).reversed().map { $0 == count ? last - 1 : Int((Double($0) * step).rounded(.toNearestOrEven)) }
            case .leading:
                let ratio = last / (count + 1)
                timesteps = (1...count).reversed().map { $0 * ratio + stepsOffset }
            case .trailing:
                let ratio = Double(T) / Double(count)
                let length = Int((Double(last) / ratio).rounded(.up))
                timesteps = (0..<length).map { Int((Double(last) - Double($0) * ratio).rounded(.toNearestOrEven)) - 1 }
            }
            if let bad = timesteps.first(where: { !(0..<T).contains($0) }) {
                throw DiffusionError.unsupportedSolverSetting(
                    "timestep \(bad) of the \(spacing.rawValue) spacing (steps offset \(stepsOffset), \(count) steps) is outside 0…\(T - 1); "
                        + "use fewer steps or steps offset 0.")
            }
            sigmas = timesteps.map { sigmaTable[$0] }
        case .logSNR, .karras:
            guard T >= 2 else {
                throw DiffusionError.unsupportedSolverSetting(
                    "the \(placement.rawValue) step placement needs T ≥ 2 timesteps to interpolate between.")
            }
            let ramp = (0..<count).map { count == 1 ? 0 : ($0 == count - 1 ? 1 : Double($0) * (1 / Double(count - 1))) }
            let logSigmas = sigmaTable.map { Foundation.log($0) }
            if placement == .karras {
                let rho = 7.0
                let minimum = pow(sigmaTable[0], 1 / rho), maximum = pow(sigmaTable[T - 1], 1 / rho)
                sigmas = ramp.map { pow(maximum + $0 * (minimum - maximum), rho) }
            } else {
                let minimum = logSigmas[0], maximum = logSigmas[T - 1]
                sigmas = ramp.map { Foundation.exp(maximum + $0 * (minimum - maximum)) }
            }
            timesteps = sigmas.map { Int(Self.timestep(ofSigma: $0, logSigmas: logSigmas).rounded(.toNearestOrEven)) }
        }
        // 3. The final noise level.
        switch finalNoise {
        case .zero: sigmas.append(0)
        case .minimum: sigmas.append(finalFollowsKarras && placement == .karras ? sigmas[sigmas.count - 1] : sigmaTable[0])
        }
        return SolverSteps(timesteps: timesteps, sigmas: sigmas)
    }

    /// The fractional training timestep at which log σ equals log `sigma`: linear interpolation in
    /// the increasing table `logSigmas`, clamped to its ends (diffusers' `_sigma_to_t`).
    static func timestep(ofSigma sigma: Double, logSigmas: [Double]) -> Double {
        let logSigma = Foundation.log(Swift.max(sigma, 1e-10))
        var low = logSigmas.lastIndex(where: { $0 <= logSigma }) ?? 0
        low = Swift.min(low, logSigmas.count - 2)
        let w = Swift.min(Swift.max((logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[low + 1]), 0), 1)
        return (1 - w) * Double(low) + w * Double(low + 1)
    }
}
