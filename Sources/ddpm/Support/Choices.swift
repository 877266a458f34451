// The closed choices of the flags: library enums made parseable (so --help and completion scripts
// list their values), and the names of schedules and losses.
import ArgumentParser
import DDPMDiffusion
import DDPMTraining

extension ProcessKind: ExpressibleByArgument {}
extension ModelArchitecture: ExpressibleByArgument {}
extension MeanPrediction: ExpressibleByArgument {}
extension VarianceKind: ExpressibleByArgument {}
extension StepPlacement: ExpressibleByArgument {}

/// `--schedule`: a β schedule by name, with the papers' parameters.
enum ScheduleName: String, ExpressibleByArgument, CaseIterable {
    /// DDPM: β linear from 1e-4 to 0.02.
    case linear
    /// IDDPM eq. 17 with s = 0.008.
    case cosine
    /// SD15: βₜ = (T − t + 1)⁻¹ (binomial diffusion).
    case reciprocal

    var schedule: BetaSchedule {
        switch self {
        case .linear: .ddpm
        case .cosine: .cosine()
        case .reciprocal: .reciprocal
        }
    }
}

/// `--loss`: the training objective by name (hybrid with IDDPM's λ = 0.001).
enum LossName: String, ExpressibleByArgument, CaseIterable {
    case simple, vlb, hybrid

    var loss: LossKind { LossKind(name: rawValue)! }
}

/// `--timestep-sampling`.
enum TimestepSamplingName: String, ExpressibleByArgument, CaseIterable {
    /// t ~ Uniform{1…T} (DDPM).
    case uniform
    /// IDDPM §3.3: p_t ∝ √E[L_t²] over the last 10 losses of each t, mixed with 0.1 % uniform.
    case lossAware = "loss-aware"

    var sampling: TimestepSampling {
        switch self {
        case .uniform: .uniform
        case .lossAware: .lossAware()
        }
    }
}

extension CommandFailure {
    /// Runs `body`, turning any error into a `CommandFailure` whose message starts with `prefix`.
    static func wrap<T>(_ prefix: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as CommandFailure { throw error } catch {
            throw CommandFailure(prefix + "\(error)")
        }
    }
}
