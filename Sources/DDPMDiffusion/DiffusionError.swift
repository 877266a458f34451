// Typed errors for every input a user of the Diffusion module can get wrong.

/// An invalid schedule, respacing, timestep or option, with a message that says what to fix.
///
/// Timesteps in messages are given both as the 0-based array index the API takes and as the
/// paper's 1-based t (see `DiffusionSchedule` for the convention).
public enum DiffusionError: Error, Equatable, Sendable {
    /// T < 1.
    case invalidStepCount(Int)
    /// A β that is not a finite number in (0, 1]; `index` is 0-based (t = index + 1).
    case betaOutOfRange(index: Int, value: Double)
    /// The linear schedule's endpoints are not in (0, 1].
    case invalidLinearRange(start: Double, end: Double)
    /// The cosine schedule's offset s is negative or not finite.
    case invalidCosineOffset(Double)
    /// A respacing that asks for more timesteps than the schedule has.
    case respacingTooManySteps(requested: Int, available: Int)
    /// A respacing that asks for no timesteps.
    case respacingEmpty
    /// An explicit list of kept timesteps that is not strictly increasing within 0..<T.
    case respacingNotIncreasing([Int])
    /// A 0-based timestep index outside 0..<T.
    case timestepOutOfRange(timestep: Int, stepCount: Int)
    /// A batch that gives a different number of timesteps than examples.
    case timestepCountMismatch(timesteps: Int, batch: Int)
    /// DDIM's η outside [0, 1].
    case invalidEta(Double)
    /// The hybrid loss weight λ is negative or not finite.
    case invalidHybridWeight(Double)
    /// A model output whose shape does not fit the mean prediction and variance kind.
    case modelOutputShape(expected: [Int], got: [Int])
    /// Noise whose shape differs from the data it perturbs.
    case noiseShape(expected: [Int], got: [Int])
    /// Binomial diffusion given data that are not all exactly 0 or 1; carries the first bad value.
    case nonBinaryData(Double)
    /// A saved loss history that does not fit the timestep sampler.
    case invalidLossHistory(expectedSteps: Int, maximumLength: Int)
    /// A diffusers scheduler setting this toolkit cannot follow exactly (the text says which and why).
    case unsupportedSchedulerSetting(String)
    /// A multistep solver (`solver`: "dpmsolver++", "sde-dpmsolver++", "dpmsolver", "unipc") asked
    /// for an order it does not have; `maximum` is the highest order it supports.
    case solverOrderUnsupported(solver: String, order: Int, maximum: Int)
    /// A multistep solver asked for fewer than 1 or more than T sampling steps.
    case solverStepCount(solver: String, requested: Int, available: Int)
    /// A multistep-solver setting that cannot be followed (the text says which and why).
    case unsupportedSolverSetting(String)
}

extension DiffusionError: CustomStringConvertible {
    /// One or two sentences for the user: what was wrong, with the offending value (timesteps as
    /// both the 0-based index and the paper's t), and what to pass instead.
    public var description: String {
        switch self {
        case .invalidStepCount(let count):
            "The number of diffusion steps T must be at least 1, got \(count). Pass a positive step count (DDPM uses 1000)."
        case .betaOutOfRange(let index, let value):
            "β at index \(index) (t = \(index + 1)) is \(value); every β must be a finite number in (0, 1]. "
                + "Fix that entry of the schedule (DDPM's linear schedule runs from 1e-4 to 0.02)."
        case .invalidLinearRange(let start, let end):
            "The linear schedule needs 0 < β_start ≤ 1 and 0 < β_end ≤ 1, got β_start = \(start), β_end = \(end). "
                + "DDPM uses β_start = 1e-4, β_end = 0.02."
        case .invalidCosineOffset(let s):
            "The cosine schedule's offset s must be a finite number ≥ 0, got \(s). IDDPM uses s = 0.008."
        case .respacingTooManySteps(let requested, let available):
            "Respacing asks for \(requested) timesteps but the schedule has only \(available). "
                + "Ask for at most \(available) steps."
        case .respacingEmpty:
            "Respacing asks for no timesteps. Ask for at least 1 step."
        case .respacingNotIncreasing(let steps):
            "Kept timesteps must be strictly increasing 0-based indices within the schedule, got \(steps.prefix(12))\(steps.count > 12 ? "…" : ""). "
                + "Sort them, drop duplicates and keep them below T."
        case .timestepOutOfRange(let timestep, let count):
            "Timestep index \(timestep) is outside 0..<\(count) (0-based; t = index + 1 must lie in 1…\(count)). "
                + "Pass indices from 0 to \(count - 1)."
        case .timestepCountMismatch(let timesteps, let batch):
            "Got \(timesteps) timesteps for a batch of \(batch) examples; pass exactly one timestep per example."
        case .invalidEta(let eta):
            "DDIM's η must lie in [0, 1], got \(eta). Use 0 for deterministic sampling, 1 for DDPM-like noise."
        case .invalidHybridWeight(let lambda):
            "The hybrid loss weight λ must be a finite number ≥ 0, got \(lambda). IDDPM uses λ = 0.001."
        case .modelOutputShape(let expected, let got):
            "The model returned shape \(got) but \(expected) was expected "
                + "(learned variance needs twice the input channels along axis 1: mean part first, then v)."
        case .noiseShape(let expected, let got):
            "Noise has shape \(got) but the data has shape \(expected); draw noise of the data's shape."
        case .invalidLossHistory(let steps, let length):
            "The saved loss history must hold \(steps) lists (one per timestep) of at most \(length) finite losses each."
        case .unsupportedSchedulerSetting(let text):
            text
        case .solverOrderUnsupported(let solver, let order, let maximum):
            "\(solver) has no order \(order); use an order from 1 to \(maximum)"
                + (solver.hasPrefix("sde") ? " (the SDE variant is at most second order)." : ".")
        case .solverStepCount(let solver, let requested, let available):
            "\(solver) was asked for \(requested) sampling steps but the model has T = \(available) timesteps; "
                + "ask for 1 to \(available) steps (10–20 is the solvers' range)."
        case .unsupportedSolverSetting(let text):
            text
        case .nonBinaryData(let value):
            "Binomial diffusion needs data whose every value is 0 or 1, found \(value). "
                + "Binarise the data first (e.g. the data spec fashion-mnist,binarize)."
        }
    }
}
