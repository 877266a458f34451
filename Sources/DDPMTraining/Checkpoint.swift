// Checkpoints that are complete or absent: each is a folder of its own, written in full under a
// temporary name and switched in by one atomic rename of the `checkpoint` link.
import DDPMFileSupport
import Foundation
import DDPMImaging
import DDPMNeuralNetworks
import DDPMTensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where training stands (state.json), with the weights enough to continue bit for bit.
public struct CheckpointState: Codable, Equatable, Sendable {
    /// The format of state.json (``Checkpoint/formatVersion``, 1); another value is refused.
    public var formatVersion: Int = Checkpoint.formatVersion
    /// Steps completed.
    public var step: Int
    /// The loss of the last step taken.
    public var loss: Double?
    /// Updates folded into the EMA (equals `step` unless the EMA was added later).
    public var emaUpdates: Int
    /// Adam's step count (its bias corrections and warm-up).
    public var adamStep: Int
    /// The loss-aware timestep sampler's history, one list per 0-based t; absent for uniform t.
    public var lossHistory: [[Double]]?
}

/// The checkpoints of a run folder.
///
/// Layout:
///
///     RUN/run.json                    the settings (`TrainingConfiguration`)
///     RUN/log.jsonl                   one line per step
///     RUN/checkpoint -> checkpoint-00000500    a symbolic link to the current checkpoint
///     RUN/checkpoint-00000500/        model.safetensors, ema.safetensors, optimizer.safetensors
///                                     (m.NAME, v.NAME) and state.json
///
/// Saving writes a new folder `.checkpoint-STEP.partial`, syncs it, renames it to
/// `checkpoint-STEP`, then replaces the `checkpoint` link by `rename(2)` of a new link: the one
/// atomic switch. Until then the previous checkpoint is the current one and stays loadable; after
/// it, the previous folder is removed. A crash at any moment leaves either the old or the new
/// checkpoint current, plus leftovers that `removeLeftovers(in:keeping:)` clears on the next start.
/// Every safetensors file records the step in its metadata, which loading checks against
/// state.json (a folder whose files do not belong together is refused).
///
/// Folders written before this layout (the files directly in RUN, state.json with generator
/// states) still load; see `Location.legacy`.
public enum Checkpoint {
    /// The format of state.json and of the safetensors metadata.
    public static let formatVersion = 1
    /// The symbolic link in the run folder that names the current checkpoint folder.
    public static let linkName = "checkpoint"
    /// The raw weights, as last updated by Adam.
    public static let modelName = "model.safetensors"
    /// The exponential moving average of the weights (what sampling uses by default).
    public static let emaName = "ema.safetensors"
    /// Adam's first and second moments, `m.NAME` and `v.NAME` per parameter (none before the first step).
    public static let optimizerName = "optimizer.safetensors"
    /// Where training stands (``CheckpointState``).
    public static let stateName = "state.json"
    /// The run's log in the run folder: one ``LogEntry`` per line.
    public static let logName = "log.jsonl"

    /// Where a run folder's current checkpoint is.
    public enum Location: Equatable, Sendable {
        /// A checkpoint folder (the target of the `checkpoint` link).
        case current(URL)
        /// A folder written before the link layout: the files directly in the run folder.
        case legacy(URL)

        /// The folder that holds the checkpoint's files.
        public var folder: URL {
            switch self {
            case .current(let url), .legacy(let url): url
            }
        }
    }

    /// The current checkpoint of `run`, or nil when none was saved yet.
    public static func location(in run: URL) -> Location? {
        let link = run.appendingPathComponent(linkName)
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link.path) {
            return .current(run.appendingPathComponent(target))
        }
        if FileManager.default.fileExists(atPath: run.appendingPathComponent(stateName).path) { return .legacy(run) }
        return nil
    }

    // MARK: Saving

    /// Milliseconds to pause after each step of a save, from the environment variable
    /// `DDPM_CHECKPOINT_WRITE_DELAY_MS` (0 when unset): the crash-resume soak sets it so that its
    /// kills often land in the middle of a save.
    static let writeDelay: UInt32 = ProcessInfo.processInfo.environment["DDPM_CHECKPOINT_WRITE_DELAY_MS"].flatMap(UInt32.init) ?? 0

    private static func pause() {
        if writeDelay > 0 { usleep(writeDelay * 1000) }
    }

    /// Saves the trainer's weights, EMA, optimiser and state as the run's new current checkpoint.
    ///
    /// Refuses (and writes nothing) when the run folder or its run.json has disappeared: a new
    /// checkpoint there could not be resumed. Saving the step that is already current keeps the
    /// current folder (its files are the same).
    /// - Throws: ``TrainingError/invalidFile(path:message:)`` naming the run folder or the file
    ///   that could not be written; the previous checkpoint is then still the current one.
    ///
    /// `keeping` earlier checkpoints (the most recent) stay beside the new one; older ones are removed.
    public static func save(_ trainer: Trainer, in run: URL, keeping: Int = 0) throws {
        guard FileManager.default.fileExists(atPath: run.appendingPathComponent(TrainingConfiguration.fileName).path) else {
            throw TrainingError.invalidFile(
                path: run.path,
                message: "the run folder (or its run.json) was removed while training; "
                    + "no checkpoint can be saved there. Start the run again.")
        }
        let name = String(format: "checkpoint-%08d", trainer.step)
        let partial = run.appendingPathComponent(".\(name).partial")
        let final = run.appendingPathComponent(name)
        let manager = FileManager.default
        try? manager.removeItem(at: partial)
        try create(partial)
        // 1. The files, each fsynced by AtomicFile.
        let metadata = ["step": String(trainer.step), "format": "ddpm-checkpoint", "format_version": String(formatVersion)]
        try trainer.network.saveParameters(to: partial.appendingPathComponent(modelName), metadata: metadata)
        pause()
        try SafeTensorsFile.write(trainer.ema.averages, metadata: metadata, to: partial.appendingPathComponent(emaName))
        pause()
        var moments: [String: Tensor] = [:]
        for (name, m) in trainer.optimizer.firstMoments { moments["m." + name] = m }
        for (name, v) in trainer.optimizer.secondMoments { moments["v." + name] = v }
        try SafeTensorsFile.write(moments, metadata: metadata, to: partial.appendingPathComponent(optimizerName))
        pause()
        let sampler = trainer.timestepSampler
        let state = CheckpointState(
            step: trainer.step, loss: trainer.lastLoss, emaUpdates: trainer.ema.updates, adamStep: trainer.optimizer.step,
            lossHistory: sampler.strategy == .uniform ? nil : sampler.history)
        try AtomicFile.write(TrainingConfiguration.encoder.encode(state), to: partial.appendingPathComponent(stateName))
        // 2. The complete folder under its final name (replacing one of the same step, not current).
        if location(in: run) == .current(final) {
            // Saving the current step again: the files are the same; keep the current folder.
            try manager.removeItem(at: partial)
            return
        }
        try? manager.removeItem(at: final)
        try rename(partial, to: final)
        syncFolder(run)
        pause()
        // 3. The atomic switch.
        let temporaryLink = run.appendingPathComponent(".\(linkName).link-\(getpid())")
        try? manager.removeItem(at: temporaryLink)
        try manager.createSymbolicLink(atPath: temporaryLink.path, withDestinationPath: name)
        try rename(temporaryLink, to: run.appendingPathComponent(linkName))
        syncFolder(run)
        pause()
        // 4. What the switch made obsolete.
        try removeLeftovers(in: run, keeping: keeping)
    }

    /// Removes what is not the current checkpoint: other checkpoint folders, partial saves, stale
    /// temporary files and links, and the files of the pre-link layout once a link exists.
    /// The `keeping` complete checkpoint folders saved last before the current one stay.
    public static func removeLeftovers(in run: URL, keeping: Int = 0) throws {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: run.path) else { return }
        let current = location(in: run)
        let linked = current.map { if case .current = $0 { true } else { false } } ?? false
        // checkpoint-%08d: the names sort as the steps do.
        let currentName = current.map { $0.folder.lastPathComponent } ?? ""
        let kept = Set(
            names.filter { isCheckpointFolderName($0) && $0 < currentName }.sorted().suffix(max(0, keeping)))
        for name in names {
            let url = run.appendingPathComponent(name)
            let stale =
                name.hasPrefix(".checkpoint-") && name.hasSuffix(".partial")
                || name.hasPrefix(".\(linkName).link-")
                || name.hasPrefix("checkpoint-") && current != .current(url) && !kept.contains(name)
                || name.contains(".tmp-")
                || linked && [modelName, emaName, optimizerName, stateName].contains(name)
            if stale { try manager.removeItem(at: url) }
        }
    }

    /// Whether `name` is a checkpoint folder's name, `checkpoint-` and eight digits.
    public static func isCheckpointFolderName(_ name: String) -> Bool {
        name.count == 19 && name.hasPrefix("checkpoint-") && name.utf8.dropFirst(11).allSatisfy { (0x30...0x39).contains($0) }
    }

    /// The run folder and checkpoint of a kept (or current) `checkpoint-STEP` folder given
    /// directly, or nil when `folder` is not one (its parent must hold run.json).
    public static func runAndLocation(ofCheckpointFolder folder: URL) -> (run: URL, location: Location)? {
        let folder = folder.standardizedFileURL
        let run = folder.deletingLastPathComponent()
        guard isCheckpointFolderName(folder.lastPathComponent),
            FileManager.default.fileExists(atPath: folder.appendingPathComponent(stateName).path),
            FileManager.default.fileExists(atPath: run.appendingPathComponent(TrainingConfiguration.fileName).path)
        else { return nil }
        return (run, .current(folder))
    }

    // MARK: Loading

    /// Restores the trainer (weights, EMA, optimiser, step, loss history) from the run's current
    /// checkpoint. Returns the location it read, or nil (and leaves the trainer fresh) when the run
    /// has no checkpoint yet.
    @discardableResult
    public static func restore(_ trainer: Trainer, from run: URL) throws -> Location? {
        guard let location = location(in: run) else { return nil }
        let folder = location.folder
        let state = try readState(location)
        let modelFile = try open(modelName, in: folder, step: state.step)
        try loadParameters(trainer.network, from: modelFile)
        let names = trainer.network.namedParameters.map { ($0.name, $0.parameter.value.shape) }
        let averages = try tensors(of: try open(emaName, in: folder, step: state.step), expecting: names.map { ($0.0, $0.1) })
        let optimizerFile = try open(optimizerName, in: folder, step: state.step)
        // Adam has moments for every parameter once it has taken a step, none before.
        let first = state.adamStep > 0 ? try tensors(of: optimizerFile, expecting: names.map { ("m." + $0.0, $0.1) }) : [:]
        let second = state.adamStep > 0 ? try tensors(of: optimizerFile, expecting: names.map { ("v." + $0.0, $0.1) }) : [:]
        let unexpected = Set(optimizerFile.names).subtracting(first.keys).subtracting(second.keys)
        if let name = unexpected.sorted().first {
            throw TrainingError.tornCheckpoint(
                path: optimizerFile.url.path,
                message: "holds \"\(name)\", which is no moment of the network's parameters at Adam step \(state.adamStep).")
        }
        func strip(_ moments: [String: Tensor]) -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: moments.map { (String($0.key.dropFirst(2)), $0.value) })
        }
        trainer.optimizer.restore(step: state.adamStep, firstMoments: strip(first), secondMoments: strip(second))
        trainer.ema.restore(averages, updates: state.emaUpdates)
        if let history = state.lossHistory {
            do { try trainer.timestepSampler.restore(history: history) } catch {
                throw TrainingError.invalidFile(
                    path: folder.appendingPathComponent(stateName).path, message: "key \"lossHistory\": \(error)")
            }
        }
        trainer.step = state.step
        trainer.lastLoss = state.loss
        return location
    }

    /// The checkpoint's state: state.json of the current layout, or the step, loss and Adam step of
    /// a pre-link state.json (its generator states are no longer used).
    public static func readState(_ location: Location) throws -> CheckpointState {
        let url = location.folder.appendingPathComponent(stateName)
        let path = url.path
        guard let data = try? Data(contentsOf: url) else {
            throw TrainingError.tornCheckpoint(
                path: path, message: "missing; the checkpoint is incomplete. Remove the `checkpoint` link to restart from scratch.")
        }
        let state: CheckpointState
        switch location {
        case .current:
            state = try StrictJSON.decode(CheckpointState.self, from: data, path: path)
            guard state.formatVersion == formatVersion else {
                throw TrainingError.invalidFile(
                    path: path, message: "key \"formatVersion\": this version reads \(formatVersion), the file says \(state.formatVersion)."
                )
            }
        case .legacy:
            struct LegacyState: Decodable { var step: Int; var loss: Double? }
            let legacy: LegacyState
            do { legacy = try JSONDecoder().decode(LegacyState.self, from: data) } catch let error as DecodingError {
                throw TrainingError.invalidFile(path: path, message: StrictJSON.describe(error))
            }
            let adamStep =
                (try? SafeTensorsFile(contentsOf: location.folder.appendingPathComponent(optimizerName)))?
                .metadata["adam_step"].flatMap(Int.init) ?? legacy.step
            state = CheckpointState(step: legacy.step, loss: legacy.loss, emaUpdates: legacy.step, adamStep: adamStep)
        }
        guard state.step >= 0, state.emaUpdates >= 0, state.adamStep >= 0 else {
            throw TrainingError.invalidFile(path: path, message: "step, emaUpdates and adamStep must be 0 or more.")
        }
        return state
    }

    /// Opens one safetensors file of the checkpoint and checks that its step matches state.json.
    /// - Throws: ``TrainingError/tornCheckpoint(path:message:)`` when the file is missing or from
    ///   another step, ``TrainingError/invalidFile(path:message:)`` when it is not valid safetensors.
    public static func open(_ name: String, in folder: URL, step: Int) throws -> SafeTensorsFile {
        let url = folder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.tornCheckpoint(path: url.path, message: "missing from the checkpoint.")
        }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: url) } catch {
            throw TrainingError.invalidFile(path: url.path, message: "\(error)")
        }
        guard let stored = file.metadata["step"], let fileStep = Int(stored) else {
            throw TrainingError.tornCheckpoint(
                path: url.path, message: "has no step in its metadata; not a checkpoint file written by `ddpm train`.")
        }
        guard fileStep == step else {
            throw TrainingError.tornCheckpoint(
                path: url.path,
                message: "is from step \(fileStep) but state.json says step \(step): a save was interrupted part-way, "
                    + "so the files do not form one checkpoint. Restart training from an earlier copy or from scratch.")
        }
        return file
    }

    /// Loads a network's parameters from a checkpoint file, naming the file on failure.
    public static func loadParameters(_ network: Module, from file: SafeTensorsFile) throws {
        do { try network.loadParameters(from: file) } catch {
            throw TrainingError.invalidFile(path: file.url.path, message: "\(error)")
        }
    }

    /// The tensors `expected` (name, shape) of `file`, each required.
    static func tensors(of file: SafeTensorsFile, expecting expected: [(String, [Int])]) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, shape) in expected {
            guard file.entries[name] != nil else {
                throw TrainingError.tornCheckpoint(
                    path: file.url.path, message: "has no tensor \"\(name)\"; the checkpoint does not match the network.")
            }
            do { out[name] = try file.tensor(named: name, expectedShape: shape) } catch {
                throw TrainingError.invalidFile(path: file.url.path, message: "\(error)")
            }
        }
        return out
    }

    // MARK: File system

    private static func create(_ folder: URL) throws {
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw TrainingError.invalidFile(path: folder.path, message: "cannot create the folder (\(error.localizedDescription)).")
        }
    }

    private static func rename(_ source: URL, to destination: URL) throws {
        do { try AtomicFile.rename(source, to: destination) } catch let error as FileWriteError {
            throw TrainingError.invalidFile(path: destination.path, message: "\(error.reason).")
        }
    }

    /// fsync of a folder, so that renames in it are durable (best effort).
    private static func syncFolder(_ folder: URL) {
        POSIX.syncFolder(folder.path)
    }
}
