// What a diffusers DPMSolverMultistepScheduler or UniPCMultistepScheduler config says about the
// solver: its algorithm, order, variant, final steps and where the steps lie.
import DDPMDiffusion
import Foundation

/// The solver settings of a `DPMSolverMultistepScheduler` or `UniPCMultistepScheduler`
/// scheduler_config.json (diffusers 0.42), read key by key with diffusers' defaults; a setting
/// this toolkit does not implement is refused by name. The β schedule, prediction type,
/// thresholding, `timestep_spacing` and `steps_offset` are the file's `DiffusersScheduler`.
public struct SolverSchedulerSettings: Equatable, Sendable {
    /// The scheduler class.
    public enum Solver: String, CaseIterable, Sendable {
        case dpmSolverMultistep = "DPMSolverMultistepScheduler"
        case uniPCMultistep = "UniPCMultistepScheduler"

        /// The keys this class adds to DDPMScheduler's, with diffusers' defaults.
        var defaults: [String: Any] {
            let common: [String: Any] = [
                "solver_order": 2, "lower_order_final": true, "use_karras_sigmas": false, "use_exponential_sigmas": false,
                "use_beta_sigmas": false, "use_flow_sigmas": false, "flow_shift": 1.0, "final_sigmas_type": "zero",
                "timestep_spacing": "linspace", "use_dynamic_shifting": false, "time_shift_type": "exponential",
                "variance_type": NSNull(),
            ]
            switch self {
            case .dpmSolverMultistep:
                return common.merging([
                    "algorithm_type": "dpmsolver++", "solver_type": "midpoint", "euler_at_final": false, "use_lu_lambdas": false,
                    "lambda_min_clipped": -Double.infinity,
                ]) { a, _ in a }
            case .uniPCMultistep:
                return common.merging([
                    "predict_x0": true, "solver_type": "bh2", "disable_corrector": [Any](), "solver_p": NSNull(),
                    "sigma_min": NSNull(), "sigma_max": NSNull(), "shift_terminal": NSNull(),
                ]) { a, _ in a }
            }
        }
    }

    /// The class.
    public var solver: Solver
    /// DPM-Solver's form (`algorithm_type`); UniPC predicts data (`predict_x0`).
    public var algorithm: DPMSolver.Algorithm
    /// `solver_order`, 1…3 (the SDE variant 1…2).
    public var order: Int
    /// UniPC's B(h) (`solver_type` bh1 or bh2).
    public var variant: UniPC.Variant
    /// `lower_order_final`.
    public var lowerOrderFinal: Bool
    /// Where the steps lie and where they end: `use_karras_sigmas` (which diffusers checks
    /// first), `use_lu_lambdas`, `final_sigmas_type`, `lambda_min_clipped`.
    public var grid: SolverGrid

    init(keys: SchedulerConfigKeys, solver: Solver) throws {
        self.solver = solver
        for key in ["use_exponential_sigmas", "use_beta_sigmas", "use_flow_sigmas", "use_dynamic_shifting"] {
            try keys.requireDefault(key, "only uniform, log-SNR and Karras step placements are implemented")
        }
        let placement: StepPlacement
        if try keys.boolean("use_karras_sigmas") {
            placement = .karras
        } else if solver == .dpmSolverMultistep, try keys.boolean("use_lu_lambdas") {
            placement = .logSNR
        } else {
            placement = .uniform
        }
        let finalNoise: FinalNoiseLevel =
            try keys.choice("final_sigmas_type", ["zero", "sigma_min"]) == "zero" ? .zero : .minimum
        lowerOrderFinal = try keys.boolean("lower_order_final")
        switch solver {
        case .dpmSolverMultistep:
            algorithm = DPMSolver.Algorithm(
                rawValue: try keys.choice(
                    "algorithm_type", DPMSolver.Algorithm.allCases.map(\.rawValue),
                    why: [
                        "sde-dpmsolver": "the noise-prediction SDE solver is not implemented; sde-dpmsolver++ is its data-prediction form"
                    ]
                ))!
            _ = try keys.choice(
                "solver_type", ["midpoint"], why: ["heun": "DPM-Solver's second-order Heun update is not implemented"])
            if try keys.boolean("euler_at_final") {
                throw keys.fail("euler_at_final", "true is not supported (a first-order last step); remove the key or set it to false.")
            }
            order = try keys.integer("solver_order", in: 1...(algorithm == .stochasticDataPrediction ? 2 : 3))
            variant = .bh2
            grid = SolverGrid(
                placement: placement, finalNoise: finalNoise, minimumLogSNR: try keys.number("lambda_min_clipped", in: -.infinity...0))
        case .uniPCMultistep:
            guard try keys.boolean("predict_x0") else {
                throw keys.fail("predict_x0", "false is not supported (UniPC's noise-prediction form); remove the key or set it to true.")
            }
            algorithm = .dataPrediction
            variant = UniPC.Variant(rawValue: try keys.choice("solver_type", UniPC.Variant.allCases.map(\.rawValue)))!
            try keys.requireDefault("disable_corrector", "the corrector runs after every step but the last")
            for key in ["solver_p", "sigma_min", "sigma_max", "shift_terminal"] {
                try keys.requireDefault(key, "UniPC with diffusers' own predictor and noise levels is what is implemented")
            }
            order = try keys.integer("solver_order", in: 1...3)
            grid = SolverGrid(placement: placement, finalNoise: finalNoise)
        }
    }
}
