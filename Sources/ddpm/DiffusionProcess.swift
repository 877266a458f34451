// The diffusion process of a run: Gaussian (DDPM) or binomial (SD15 §2.4), as run.json's
// `diffusion` says; what `train`, `sample` and `evaluate` need from either.
import Diffusion
import Foundation
import Tensors

/// Which diffusion a run uses (`ddpm train --diffusion`, run.json's `diffusion`).
enum DiffusionKind: String, CaseIterable {
    /// DDPM's Gaussian diffusion of data in [−1, 1].
    case gaussian
    /// SD15's binomial diffusion of binary data {0, 1} (e.g. `fashion-mnist,binarize`).
    case binomial
}

/// A run's diffusion process.
enum DiffusionProcess {
    case gaussian(GaussianDiffusion)
    case binomial(BinomialDiffusion)

    /// T.
    var stepCount: Int {
        switch self {
        case .gaussian(let d): d.stepCount
        case .binomial(let d): d.stepCount
        }
    }

    /// The noise of one training step, of x₀'s shape: ε ~ N(0, I) (Gaussian) or u ~ U[0, 1), from
    /// which the binomial forward process flips its coins.
    func trainingNoise(like start: Tensor, generator: inout PhiloxGenerator) -> Tensor {
        switch self {
        case .gaussian: Tensor.randomNormal(shape: start.shape, dtype: start.dtype, generator: &generator)
        case .binomial: Tensor.randomUniform(shape: start.shape, dtype: start.dtype, generator: &generator)
        }
    }

    /// The per-example training loss [B] at the given 0-based timesteps (average it): the Gaussian
    /// process's loss per its `LossKind`, or the binomial T · L_{t−1} in bits/dim.
    func trainingLoss(model: DiffusionModel, start: Tensor, timesteps: [Int], noise: Tensor) throws -> Tensor {
        switch self {
        case .gaussian(let d): try d.trainingLosses(model: model, start: start, timesteps: timesteps, noise: noise).loss
        case .binomial(let d): try d.trainingLoss(model: model, start: start, timesteps: timesteps, uniformNoise: noise)
        }
    }

    /// The whole variational bound of a batch in bits/dim (Gaussian: x₀ in [−1, 1], no clipping;
    /// binomial: x₀ ∈ {0, 1}).
    func variationalBound(model: DiffusionModel, start: Tensor, generator: inout PhiloxGenerator) throws -> VariationalBound {
        switch self {
        case .gaussian(let d): try d.variationalBound(model: model, start: start, generator: &generator)
        case .binomial(let d): try d.variationalBound(model: model, start: start, generator: &generator)
        }
    }

    /// Ancestral samples over all T steps, scaled to [−1, 1] for pictures: Gaussian images with x̂₀
    /// clipped; binary samples as 2x − 1 (0 → black, 1 → white).
    func sampleForDisplay(model: DiffusionModel, shape: [Int], generator: inout PhiloxGenerator) throws -> Tensor {
        switch self {
        case .gaussian(let d):
            return try d.sampleAncestral(model: model, shape: shape, clipStart: shape.count == 4, generator: &generator)
        case .binomial(let d):
            return 2.0 * (try d.sampleAncestral(model: model, shape: shape, generator: &generator)) - 1.0
        }
    }
}

extension RunSettings {
    /// The run's diffusion; run.json files written before the field existed are Gaussian.
    func diffusionKind() throws -> DiffusionKind {
        guard let name = diffusion else { return .gaussian }
        guard let kind = DiffusionKind(rawValue: name) else {
            throw CommandFailure("run.json: unknown diffusion \"\(name)\" (expected gaussian or binomial)")
        }
        return kind
    }

    /// The binomial process of a `--diffusion binomial` run: the schedule `reciprocal`
    /// (βₜ = (T − t + 1)⁻¹, SD15), `linear` or `cosine` over `timesteps` steps.
    func makeBinomialDiffusion() throws -> BinomialDiffusion {
        guard try diffusionKind() == .binomial else {
            throw CommandFailure("run.json describes a Gaussian diffusion run, not a binomial one.")
        }
        let betas: [Double]
        switch schedule {
        case "reciprocal": betas = try CommandFailure.wrap { try BinomialSchedule.reciprocal.betas(stepCount: timesteps) }
        case "linear": betas = try CommandFailure.wrap { try BetaSchedule.ddpm.betas(stepCount: timesteps) }
        case "cosine": betas = try CommandFailure.wrap { try BetaSchedule.cosine().betas(stepCount: timesteps) }
        default: throw CommandFailure("run.json: unknown schedule \"\(schedule)\" for binomial diffusion (expected reciprocal, linear or cosine)")
        }
        return BinomialDiffusion(schedule: try CommandFailure.wrap { try DiffusionSchedule(betas: betas) })
    }

    /// The process these settings describe, Gaussian or binomial.
    func makeProcess() throws -> DiffusionProcess {
        switch try diffusionKind() {
        case .gaussian: .gaussian(try CommandFailure.wrap { try makeDiffusion() })
        case .binomial: .binomial(try makeBinomialDiffusion())
        }
    }
}
