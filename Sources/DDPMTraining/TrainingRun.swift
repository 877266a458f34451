// A run folder: its settings, its training data, the trainer, the log and the checkpoints.
import DDPMDatasets
import DDPMDistributed
import DDPMFileSupport
import Foundation
import DDPMImaging
import DDPMTensors

/// A training run kept in a folder (see ``Checkpoint`` for the layout): start one, or resume one
/// from its last checkpoint, then take steps, save checkpoints and write previews.
///
/// ```swift
/// let run = try TrainingRun.start(configuration, dataset: dataset, in: folder)  // or .resume(folder)
/// while !run.isFinished { try run.step() }
/// try run.saveCheckpoint()
/// ```
public final class TrainingRun {
    /// The run folder (run.json, log.jsonl, checkpoints, preview pictures).
    public let folder: URL
    /// The trainer: network, Adam, EMA, timestep sampler and the step count.
    public let trainer: Trainer
    /// The training data of run.json's `data`.
    public let dataset: Dataset
    /// Things the user should know about how the run was resumed (migrations, restarts).
    public private(set) var notes: [String] = []
    /// The first failure to append to log.jsonl, if any (training goes on without the line).
    public private(set) var logFailure: String?
    /// The ranks that train this run together (`Communicator.singleProcess` unless started or
    /// resumed with a communicator of several ranks); rank 0 alone writes the folder.
    public internal(set) var communicator: Communicator
    /// The data-parallel steps when the run is shared by more than one rank, else nil.
    public internal(set) var dataParallel: DataParallelTrainer?
    /// Every how many steps the ranks check that their replicas still agree (``DataParallelTrainer/verifyReplicas()``);
    /// they also check before every checkpoint and after the last step. 100 by default: the check
    /// hashes the weights and the EMA once (a few milliseconds for the `fashion` U-Net).
    public var replicaCheckInterval = 100
    private var sampler: BatchSampler
    /// log.jsonl, open for appending on the rank that writes (nil on the others).
    private let log: FileHandle?

    /// The run's settings, as stored in run.json.
    public var configuration: TrainingConfiguration { trainer.configuration }
    /// Whether the run has taken all its steps.
    public var isFinished: Bool { trainer.step >= configuration.steps }

    /// The training data of `spec` (a `DataSpec` text) for a run seeded with `seed`; a bad spec or
    /// unreadable data throw the `DatasetError` that names them.
    public static func loadData(_ spec: String, seed: UInt64) throws -> Dataset {
        var generator = TrainingRandomness(seed: seed).dataGenerator
        return try DataSpec(parsing: spec).load(split: .train, generator: &generator)
    }

    /// Whether `folder` holds a run (its run.json).
    public static func exists(in folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(TrainingConfiguration.fileName).path)
            || Checkpoint.location(in: folder) != nil
    }

    /// Starts a new run of `configuration` on `dataset` in `folder` (created if missing; refused
    /// if it already holds a run). Everything is checked before anything is written; then run.json
    /// (with `createdWith` set to ``ToolkitVersion/description`` unless already set) and an empty
    /// log.jsonl are written. No checkpoint exists until the first ``saveCheckpoint()``.
    /// - Throws: ``TrainingError/invalidSetting(key:message:)`` for a setting out of range,
    ///   ``TrainingError/dataMismatch(_:)`` when the data do not fit the network or the process,
    ///   ``TrainingError/invalidFile(path:message:)`` when the folder already holds a run or cannot
    ///   be written.
    public static func start(_ configuration: TrainingConfiguration, dataset: Dataset, in folder: URL) throws -> TrainingRun {
        var configuration = configuration
        configuration.createdWith = configuration.createdWith ?? ToolkitVersion.description
        guard !exists(in: folder) else {
            throw TrainingError.invalidFile(path: folder.path, message: "already holds a run; resume it or choose another folder.")
        }
        let trainer = try Trainer(configuration: configuration)
        try check(dataset, fits: trainer)
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw TrainingError.invalidFile(path: folder.path, message: "cannot create the folder (\(error.localizedDescription)).")
        }
        try configuration.write(to: folder.appendingPathComponent(TrainingConfiguration.fileName))
        return try TrainingRun(folder: folder, trainer: trainer, dataset: dataset)
    }

    /// Resumes the run in `folder` from its current checkpoint (or from step 0 when none was saved),
    /// with `adjust` applied to the settings first (e.g. more steps).
    ///
    /// Change only what does not alter the steps already taken — `steps`, `checkpointEvery`,
    /// `sampleEvery` — and the run continues bit for bit as if it had never stopped. Nothing else is
    /// compared with the checkpoint beyond its tensors' names and shapes. Resuming reloads the data
    /// from run.json's `data`, restores the trainer, removes leftovers of interrupted saves,
    /// rewrites run.json (in the current format, with the adjusted settings) and drops log lines
    /// after the checkpoint's step. ``notes`` says what the user should know (a migrated run.json,
    /// a checkpoint older than keyed randomness, a restart from step 0).
    /// - Throws: ``TrainingError`` naming the file or key: no run.json, settings that do not decode
    ///   or validate, data that cannot be loaded or do not fit, a torn or damaged checkpoint.
    public static func resume(_ folder: URL, adjust: (inout TrainingConfiguration) -> Void = { _ in }) throws -> TrainingRun {
        let runJSON = folder.appendingPathComponent(TrainingConfiguration.fileName)
        guard FileManager.default.fileExists(atPath: runJSON.path) else {
            throw TrainingError.invalidFile(path: folder.path, message: "holds no run (no run.json); start one first.")
        }
        var (configuration, migratedFrom) = try TrainingConfiguration.load(from: runJSON)
        adjust(&configuration)
        let dataset = try loadData(configuration.data, seed: configuration.seed)
        let trainer = try Trainer(configuration: configuration)
        try check(dataset, fits: trainer)
        let location = try Checkpoint.restore(trainer, from: folder)
        try Checkpoint.removeLeftovers(in: folder, keeping: configuration.keepCheckpoints ?? 0)
        try configuration.write(to: runJSON)
        try truncateLog(in: folder, after: trainer.step)
        let run = try TrainingRun(folder: folder, trainer: trainer, dataset: dataset)
        if migratedFrom != nil {
            run.notes.append(
                "\(runJSON.path) was written before settings format \(TrainingConfiguration.currentFormatVersion); rewrote it in the new format."
            )
        }
        switch location {
        case .legacy:
            run.notes.append(
                "the checkpoint predates keyed randomness: weights, EMA and optimiser are restored exactly, but the steps "
                    + "after \(trainer.step) draw other batches, timesteps and noise than the version that wrote it would have.")
        case nil:
            run.notes.append("no checkpoint had been saved; starting from step 0.")
        case .current:
            break
        }
        return run
    }

    init(folder: URL, trainer: Trainer, dataset: Dataset, communicator: Communicator = .singleProcess) throws {
        self.folder = folder
        self.trainer = trainer
        self.dataset = dataset
        self.communicator = communicator
        sampler = trainer.batchSampler(for: dataset)
        guard communicator.isRoot else {
            log = nil
            return
        }
        let logURL = folder.appendingPathComponent(Checkpoint.logName)
        if !FileManager.default.fileExists(atPath: logURL.path) { _ = FileManager.default.createFile(atPath: logURL.path, contents: nil) }
        let handle: FileHandle
        do { handle = try FileHandle(forWritingTo: logURL) } catch {
            throw TrainingError.invalidFile(path: logURL.path, message: "cannot be opened for writing (\(error.localizedDescription)).")
        }
        _ = try? handle.seekToEnd()
        log = handle
    }

    deinit { try? log?.close() }

    /// The data must have the model's shape, and be binary exactly when the process diffuses bits.
    static func check(_ dataset: Dataset, fits trainer: Trainer) throws {
        let configuration = trainer.configuration
        guard dataset.exampleShape == configuration.exampleShape else {
            throw TrainingError.dataMismatch(
                "data \(configuration.data): the model expects examples of shape "
                    + "\(configuration.exampleShape) but the data give \(dataset.exampleShape).")
        }
        if dataset.isBinary && !trainer.process.diffusesBinaryData {
            throw TrainingError.dataMismatch(
                "data \(configuration.data) are binarised to {0, 1}; train binary data with binomial diffusion.")
        }
        if !dataset.isBinary && trainer.process.diffusesBinaryData {
            throw TrainingError.dataMismatch(
                "binomial diffusion needs binary data: add ,binarize to an image data spec (e.g. fashion-mnist,binarize).")
        }
    }

    /// One step of Algorithm 1 on the next batch (batch number ``Trainer/step``), logged to
    /// log.jsonl. A failure to write the log line does not stop training (see ``logFailure``).
    /// - Throws: ``TrainingError/diverged(step:quantity:value:)`` when the loss or the gradient
    ///   norm is not finite; nothing was updated.
    ///
    /// Shared by several ranks (``dataParallel``), every rank must call it: each computes its share
    /// of the batch and all apply the same update; rank 0 alone writes the log line. Every
    /// ``replicaCheckInterval`` steps, and after the last, the ranks check that their replicas
    /// agree.
    /// - Throws: ``TrainingError/diverged(step:quantity:value:)`` when the loss or the gradient
    ///   norm is not finite (on every rank alike); `DistributedError` when a
    ///   collective fails or the replicas differ.
    @discardableResult
    public func step() throws -> Trainer.StepReport {
        let started = Date()
        let report = try dataParallel.map { try $0.step(from: &sampler) } ?? trainer.train(from: &sampler)
        if let log {
            let entry = LogEntry(
                step: report.step, loss: report.loss, learningRate: report.learningRate,
                gradientNorm: report.gradientNorm, seconds: Date().timeIntervalSince(started))
            do {
                try log.write(contentsOf: LogEntry.encoder.encode(entry) + Data("\n".utf8))
            } catch {
                if logFailure == nil {
                    logFailure = "\(folder.appendingPathComponent(Checkpoint.logName).path): \(error.localizedDescription)"
                }
            }
        }
        if let dataParallel, report.step % max(replicaCheckInterval, 1) == 0 || isFinished { try dataParallel.verifyReplicas() }
        return report
    }

    /// Appends `entry` to log.jsonl as one JSON line with sorted keys, beside the step lines (e.g.
    /// `ddpm train --fid-every`'s evaluations, which carry `step` too, so a resume drops them with
    /// the steps after its checkpoint). A failure to write is kept in ``logFailure`` and training goes on.
    /// Only the rank that writes (rank 0, or the one process) has a log.
    public func appendToLog(_ entry: some Encodable) {
        guard let log else { return }
        do {
            try log.write(contentsOf: LogEntry.encoder.encode(entry) + Data("\n".utf8))
        } catch {
            if logFailure == nil { logFailure = "\(folder.appendingPathComponent(Checkpoint.logName).path): \(error.localizedDescription)" }
        }
    }

    /// Saves the current state as the run's checkpoint, crash-consistently (see
    /// ``Checkpoint/save(_:in:keeping:)``).
    ///
    /// Shared by several ranks, every rank must call it: they first check that their replicas
    /// agree, then rank 0 writes, and a failure to write stops every rank alike
    /// (`DistributedError.rankFailed`).
    public func saveCheckpoint() throws {
        let keeping = trainer.configuration.keepCheckpoints ?? 0
        guard let dataParallel else { return try Checkpoint.save(trainer, in: folder, keeping: keeping) }
        try dataParallel.verifyReplicas()
        try communicator.agree { if communicator.isRoot { try Checkpoint.save(trainer, in: folder, keeping: keeping) } }
    }

    /// Writes samples-STEP.png: `count` samples from the EMA weights (`Trainer.previewSamples`)
    /// drawn by `picture` (a grid for images, a scatter plot for points). Shared by several ranks,
    /// rank 0 alone draws and writes; the others return the same URL at once.
    public func writePreview(count: Int, picture: (Tensor) throws -> RasterImage) throws -> URL {
        try writePreview(count: count) { samples, url in try picture(samples).writePNG(to: url) }
    }

    /// Writes samples-STEP.png through `writer`, which is given `count` samples from the EMA
    /// weights (`Trainer.previewSamples`) and the file's URL (and may write more beside it, such
    /// as an SVG of a scatter plot). Shared by several ranks, rank 0 alone draws and writes; the
    /// others return the same URL at once.
    public func writePreview(count: Int, writer: (Tensor, URL) throws -> Void) throws -> URL {
        let url = folder.appendingPathComponent("samples-\(trainer.step).png")
        guard communicator.isRoot else { return url }
        try writer(try trainer.previewSamples(count: count), url)
        return url
    }

    /// The name of the loss curve in the run folder, `loss.png` (with `loss.svg` beside it).
    public static let lossCurveName = "loss.png"
    /// The name of the FID curve in the run folder, `fid.png` (with `fid.svg` beside it), drawn
    /// once log.jsonl holds an FID evaluation (`ddpm train --fid-every`).
    public static let fidCurveName = "fid.png"

    /// The steps and losses logged in log.jsonl so far, in order (lines without a loss, such as
    /// FID evaluations, are skipped; empty on the ranks that do not write the log, and when the
    /// log is not a regular file, such as a link to a device).
    public func loggedLosses() -> (steps: [Double], losses: [Double]) {
        let series = loggedSeries()
        return (series.loss.map(\.step), series.loss.map(\.value))
    }

    /// The steps and FIDs logged in log.jsonl so far, in order (see ``loggedLosses()``).
    public func loggedFIDs() -> (steps: [Double], fids: [Double]) {
        let series = loggedSeries()
        return (series.fid.map(\.step), series.fid.map(\.value))
    }

    /// The losses and FIDs of log.jsonl, each with its step, read in one pass.
    private func loggedSeries() -> (loss: [(step: Double, value: Double)], fid: [(step: Double, value: Double)]) {
        let url = folder.appendingPathComponent(Checkpoint.logName)
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        guard log != nil, attributes?[.type] as? FileAttributeType == .typeRegular, let data = try? Data(contentsOf: url) else {
            return ([], [])
        }
        struct StepValues: Decodable {
            var step: Int
            var loss: Double?
            var fid: Double?
        }
        let decoder = JSONDecoder()
        var losses: [(step: Double, value: Double)] = [], fids: [(step: Double, value: Double)] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let entry = try? decoder.decode(StepValues.self, from: line) else { continue }
            if let loss = entry.loss { losses.append((Double(entry.step), loss)) }
            if let fid = entry.fid { fids.append((Double(entry.step), fid)) }
        }
        return (losses, fids)
    }

    /// Draws the training loss of log.jsonl against the step (`Plot.lossCurve`: the loss of each
    /// step, its moving average, a log axis when the loss spans a decade) into loss.png and
    /// loss.svg in the run folder, and, once the log holds FID evaluations, their FID against the
    /// step into fid.png and fid.svg, replacing the previous ones; returns loss.png's URL.
    ///
    /// Under several ranks, rank 0, which holds the log, alone draws and writes; the others return
    /// the same URL at once. Nothing is collective, so a caller may note a failure and go on
    /// training (as `ddpm train` does).
    /// - Throws: `ImagingError` naming the file that could not be written, or the missing font.
    @discardableResult
    public func writeLossCurve() throws -> URL {
        let url = folder.appendingPathComponent(Self.lossCurveName)
        guard communicator.isRoot else { return url }
        let series = loggedSeries()
        try Plot.lossCurve(steps: series.loss.map(\.step), losses: series.loss.map(\.value)).write(to: url, width: 640, height: 400)
        if !series.fid.isEmpty {
            var plot = Plot(title: FigureText.fidCurve, xLabel: FigureText.step, yLabel: FigureText.fid)
            plot.line(x: series.fid.map(\.step), y: series.fid.map(\.value), color: .blue, thickness: 2)
            plot.scatter(x: series.fid.map(\.step), y: series.fid.map(\.value), color: .blue, radius: 3)
            try plot.write(to: folder.appendingPathComponent(Self.fidCurveName), width: 640, height: 400)
        }
        return url
    }

    /// Drops log lines beyond `step` (steps that were logged but never saved).
    private static func truncateLog(in folder: URL, after step: Int) throws {
        let url = folder.appendingPathComponent(Checkpoint.logName)
        // Only a regular file is read (a log linked to a device or a pipe is left alone).
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        guard attributes?[.type] as? FileAttributeType == .typeRegular, let data = try? Data(contentsOf: url) else { return }
        struct StepOnly: Decodable { var step: Int }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        let kept = lines.filter { line in
            (try? JSONDecoder().decode(StepOnly.self, from: Data(line.utf8)).step).map { $0 <= step } ?? false
        }
        if kept.count != lines.count {
            try AtomicFile.write(Data(kept.map { $0 + "\n" }.joined().utf8), to: url)
        }
    }
}

/// One line of log.jsonl.
public struct LogEntry: Codable, Sendable {
    /// The step just completed (1-based).
    public var step: Int
    /// The batch loss of the step.
    public var loss: Double
    /// The learning rate of the step (after warm-up).
    public var learningRate: Double
    /// ‖∇θ L‖ before clipping.
    public var gradientNorm: Double
    /// The wall-clock seconds the step took.
    public var seconds: Double

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
