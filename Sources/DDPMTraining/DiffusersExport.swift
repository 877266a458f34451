// A run folder written as a diffusers DDPMPipeline folder (model_index.json, unet/, scheduler/) that
// `DDPMPipeline.from_pretrained` loads unchanged: the U-Net's weights and the run's process as a
// DDPMScheduler config. Written as a hidden sibling folder and renamed into place, so that the
// folder is complete or absent.
import DDPMDiffusion
import DDPMFileSupport
import DDPMModels
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A trained U-Net with the diffusers scheduler that samples it as this toolkit does, ready to be
/// written as a diffusers `DDPMPipeline` folder (`ddpm export`).
///
/// The folder:
///
///     DIR/model_index.json                          {"_class_name": "DDPMPipeline", …, "scheduler": ["diffusers",
///                                                    "DDPMScheduler"], "unet": ["diffusers", "UNet2DModel"]}
///     DIR/unet/config.json                          the UNet2DModel config
///     DIR/unet/diffusion_pytorch_model.safetensors  the weights (float32, diffusers' names)
///     DIR/scheduler/scheduler_config.json           a DDPMScheduler config: the run's β, T, prediction, variance
///
/// The scheduler is `DiffusersScheduler(matching:clipStart:spacing:)` of the
/// run's process with x̂₀ clipped to [−1, 1] (this toolkit's samplers clip it for images) and the
/// `leading` spacing. β is written as diffusers names it where it can: `beta_schedule: linear` with
/// `beta_start`/`beta_end` for DDPM's linear schedule, `squaredcos_cap_v2` for IDDPM's cosine with
/// s = 0.008, and `trained_betas` (every β) otherwise.
///
/// Refused, with the run.json key and the reason: binomial diffusion (diffusers has no scheduler
/// for it), the learned variance (its network returns log σ², diffusers' `learned` reads σ²), and
/// the toy MLP (diffusers' `UNet2DModel` is for images).
public struct DiffusersExport {
    /// The network, with the weights that are written (EMA or raw, as loaded).
    public let unet: UNet
    /// The scheduler scheduler_config.json describes.
    public let scheduler: DiffusersScheduler
    /// How scheduler_config.json gives β.
    public let betas: BetaDescription

    /// The pipeline class model_index.json names.
    public static let pipelineClass = "DDPMPipeline"
    /// The scheduler class scheduler_config.json names.
    public static let schedulerClass = "DDPMScheduler"
    /// The diffusers version the files say they were written for (the one they were checked with).
    public static let diffusersVersion = "0.42.1"
    /// The U-Net's subfolder.
    public static let unetFolderName = "unet"
    /// The scheduler's subfolder.
    public static let schedulerFolderName = "scheduler"

    /// How a scheduler_config.json gives β.
    public enum BetaDescription: Equatable, Sendable {
        /// `beta_schedule: linear` from `start` to `end` (diffusers' `linspace`, as `BetaSchedule.linear`).
        case linear(start: Double, end: Double)
        /// `beta_schedule: squaredcos_cap_v2`: IDDPM's cosine schedule with s = 0.008 and β ≤ 0.999.
        case squaredCosine
        /// `trained_betas`: every β listed.
        case trained

        /// The description of a run's schedule: by name where diffusers computes the same β
        /// (linear; cosine with s = 0.008), else every β.
        public init(_ schedule: BetaSchedule) {
            switch schedule {
            case .linear(let start, let end): self = .linear(start: start, end: end)
            case .cosine(let s) where s == 0.008: self = .squaredCosine
            case .cosine, .reciprocal, .custom: self = .trained
            }
        }

        /// The `beta_schedule` value, or nil for `trained_betas`.
        public var scheduleName: String? {
            switch self {
            case .linear: "linear"
            case .squaredCosine: "squaredcos_cap_v2"
            case .trained: nil
            }
        }
    }

    /// Checks that a run with `configuration` can be written as a diffusers pipeline: what its
    /// settings alone decide, before any weight is read.
    /// - Throws: ``TrainingError/invalidSetting(key:message:)`` naming the run.json setting that
    ///   diffusers cannot express: binomial diffusion (`process.kind`), the learned variance
    ///   (`process.gaussian.variance`), the toy MLP (`model`).
    public static func check(_ configuration: TrainingConfiguration) throws {
        let process = configuration.process
        switch process.kind {
        case .gaussian: break
        case .binomial:
            throw TrainingError.invalidSetting(
                key: "process.kind",
                message: "binomial diffusion (SD15 §2.4) has no diffusers scheduler: diffusers' "
                    + "schedulers are for Gaussian diffusion only.")
        }
        if process.gaussian?.variance == .learned {
            throw TrainingError.invalidSetting(
                key: "process.gaussian.variance",
                message: "learned (SD15's) has no diffusers counterpart: the network returns log σ², "
                    + "and diffusers' variance_type learned reads that output as σ² itself (learned-range and the fixed variances export).")
        }
        switch configuration.model {
        case .unet: break
        case .toy:
            throw TrainingError.invalidSetting(
                key: "model",
                message: "the toy MLP has no diffusers counterpart: diffusers' UNet2DModel is a network for images, and this "
                    + "run's examples are points \(configuration.exampleShape); only U-Net runs export.")
        }
    }

    /// Checks that `trained` (loaded from a run folder) can be written as a diffusers pipeline
    /// (``check(_:)``, and a U-Net that fits the run's examples) and builds its scheduler.
    /// - Throws: ``TrainingError/invalidSetting(key:message:)`` naming the run.json setting that
    ///   diffusers cannot express, or for a model that was not loaded from a run folder.
    public init(_ trained: TrainedModel) throws {
        guard let configuration = trained.configuration else {
            throw TrainingError.invalidSetting(
                key: "checkpoint",
                message: "the model was loaded from a diffusers folder, which is already in diffusers' format; "
                    + "export writes `ddpm train` run folders.")
        }
        try Self.check(configuration)
        guard let diffusion = trained.process as? GaussianDiffusion, let unet = trained.network as? UNet else {
            throw TrainingError.invalidSetting(key: "model", message: "only a U-Net trained for Gaussian diffusion exports.")
        }
        let c = unet.configuration
        let outputChannels = (diffusion.varianceKind.isLearned ? 2 : 1) * c.inChannels
        guard trained.exampleShape == [c.inChannels, c.sampleSize, c.sampleSize], c.outChannels == outputChannels else {
            throw TrainingError.invalidSetting(
                key: "model",
                message: "the U-Net (in_channels \(c.inChannels), out_channels \(c.outChannels), sample_size \(c.sampleSize)) "
                    + "does not match the run's examples \(trained.exampleShape) with \(outputChannels) output channels; diffusers' "
                    + "UNet2DModel takes square images of sample_size.")
        }
        do {
            scheduler = try DiffusersScheduler(matching: diffusion, clipStart: true)
        } catch {
            throw TrainingError.invalidSetting(key: "process", message: "\(error)")
        }
        self.unet = unet
        betas = BetaDescription(configuration.process.schedule)
    }

    /// Loads the run folder `run` (its current checkpoint's EMA or raw weights) and writes it as
    /// a pipeline folder at `output` (see ``write(to:)``). An existing `output` and a run that
    /// ``check(_:)`` refuses are refused before any weight is read.
    /// - Returns: what was written.
    /// - Throws: ``TrainingError`` for an existing `output`, a run that cannot be loaded or
    ///   exported (naming the setting), or a file that cannot be written.
    @discardableResult
    public static func write(run: URL, weights: TrainedModel.Weights = .ema, to output: URL) throws -> DiffusersExport {
        try refuseExisting(output)
        if try DiffusersLayout(run) != nil {
            throw TrainingError.invalidFile(
                path: run.path, message: "a diffusers folder, already in diffusers' format; export writes `ddpm train` run folders.")
        }
        let settings = run.appendingPathComponent(TrainingConfiguration.fileName)
        if FileManager.default.fileExists(atPath: settings.path) {
            try check(TrainingConfiguration.load(from: settings).configuration)
        }
        let export = try DiffusersExport(TrainedModel.load(run, weights: weights))
        try export.write(to: output)
        return export
    }

    /// model_index.json: a `DDPMPipeline` of a `UNet2DModel` and a `DDPMScheduler`.
    public static var modelIndex: Data {
        let object: [String: Any] = [
            "_class_name": pipelineClass, "_diffusers_version": diffusersVersion,
            "scheduler": ["diffusers", schedulerClass], "unet": ["diffusers", "UNet2DModel"],
        ]
        return try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// scheduler_config.json: ``scheduler`` as a `DDPMScheduler` config with β as ``betas`` says.
    /// - Throws: an encoding error (none for a valid scheduler).
    public func schedulerConfig() throws -> Data {
        switch betas {
        case .linear(let start, let end):
            return try SchedulerConfigFile.encode(
                scheduler, className: Self.schedulerClass, betaSchedule: "linear", betaRange: (start, end))
        case .squaredCosine:
            return try SchedulerConfigFile.encode(scheduler, className: Self.schedulerClass, betaSchedule: "squaredcos_cap_v2")
        case .trained:
            return try SchedulerConfigFile.encode(scheduler, className: Self.schedulerClass)
        }
    }

    /// Writes the pipeline folder at `output` (its parent is created if missing).
    ///
    /// The folder is built in full as the hidden sibling `.NAME.partial-PID`, every file and
    /// folder synced, then renamed to `output` in one `rename(2)`: a reader never sees part of it,
    /// and a crash leaves at most the hidden folder (which may be deleted). `output` must not
    /// exist; nothing is ever overwritten.
    /// - Throws: ``TrainingError/invalidFile(path:message:)`` when `output` exists or a file cannot
    ///   be written; nothing is left behind then.
    public func write(to output: URL) throws {
        let output = output.standardizedFileURL
        try Self.refuseExisting(output)
        let manager = FileManager.default
        let parent = output.deletingLastPathComponent()
        func failure(_ error: Error) -> TrainingError {
            .invalidFile(path: output.path, message: "cannot write the pipeline folder (\(error)); nothing was written.")
        }
        do { try manager.createDirectory(at: parent, withIntermediateDirectories: true) } catch { throw failure(error) }
        let partial = parent.appendingPathComponent(".\(output.lastPathComponent).partial-\(getpid())")
        try? manager.removeItem(at: partial)
        var renamed = false
        defer { if !renamed { try? manager.removeItem(at: partial) } }
        let unetFolder = partial.appendingPathComponent(Self.unetFolderName)
        let schedulerFolder = partial.appendingPathComponent(Self.schedulerFolderName)
        do {
            try manager.createDirectory(at: schedulerFolder, withIntermediateDirectories: true)
            try DiffusersFolder.save(unet, to: unetFolder)
            try AtomicFile.write(try schedulerConfig(), to: schedulerFolder.appendingPathComponent(SchedulerConfigFile.fileName))
            try AtomicFile.write(Self.modelIndex, to: partial.appendingPathComponent(DiffusersLayout.indexName))
        } catch {
            throw failure(error)
        }
        for folder in [unetFolder, schedulerFolder, partial] { POSIX.syncFolder(folder.path) }
        // rename(2) replaces an empty folder that appeared since the check above and fails on
        // anything else, so an existing folder's contents are never lost.
        try Self.refuseExisting(output)
        if let reason = POSIX.rename(partial.path, output.path) {
            throw TrainingError.invalidFile(
                path: output.path, message: "cannot move the finished folder into place (rename: \(reason)); nothing was written.")
        }
        renamed = true
        POSIX.syncFolder(parent.path)
    }

    /// Throws when anything (a folder, a file, a link) is at `output`.
    static func refuseExisting(_ output: URL) throws {
        guard (try? FileManager.default.attributesOfItem(atPath: output.path)) != nil else { return }
        throw TrainingError.invalidFile(
            path: output.path, message: "already exists; choose another folder or delete it (export never overwrites).")
    }
}
