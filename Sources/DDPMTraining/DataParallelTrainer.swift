// Data-parallel training: every rank holds the same model, computes the gradients of its share of
// each (global) batch, and the shares' gradients are summed over the ranks before one identical
// update everywhere.
import DDPMDatasets
import DDPMDistributed
import DDPMNeuralNetworks
import DDPMTensors
import Foundation

/// Steps of Algorithm 1 shared by the ranks of a job: the batch size stays the global one, each
/// rank computes its share of the batch, and every rank applies the same Adam and EMA update.
///
/// Step s on R ranks with global batch B:
/// 1. Rank r takes examples `share(of: r, ranks: R, batchSize: B)` of batch s (contiguous, sizes
///    differing by at most one) and computes their gradients with
///    ``Trainer/gradients(start:examples:whenReady:)``. Each example draws its timestep, noise and
///    dropout from its own keyed generators (``TrainingRandomness``), so the shares draw exactly
///    what one process draws for the whole batch.
/// 2. While the backward pass runs, finished gradients are summed over the ranks in buckets of
///    ``bucketBytes`` (`MPI_Iallreduce`, last layers first). Each share's loss is already divided by
///    the global B, so the sum is the gradient of the global batch's mean loss.
/// 3. The shares' losses are summed and their timesteps and per-example losses gathered in
///    example order (the loss-aware sampler's history stays the same on every rank).
/// 4. Every rank applies the combined gradients (``Trainer/apply(_:)``): clipping, Adam, EMA.
///
/// The result equals one process's step up to the order of the sums over the batch: one process
/// sums all B examples' gradients in one backward pass, R ranks sum their shares and then add the
/// R partial sums. Every rank computes the identical update from the identical sums, so the
/// replicas stay equal bit for bit; ``verifyReplicas()`` checks that they do.
public final class DataParallelTrainer {
    /// The trainer this rank updates (the same on every rank).
    public let trainer: Trainer
    /// The ranks that share the batches.
    public let communicator: Communicator
    /// This rank's examples of every batch (indices in 0..<batch size).
    public let examples: Range<Int>
    /// The smallest bucket of gradients sent at once (the first is cut at 1 MiB so that it leaves
    /// early, and the last may be smaller). 25 MiB by
    /// default, PyTorch DDP's default: small enough that the first buckets leave while the
    /// backward pass is still running, large enough that the per-message cost is negligible.
    public let bucketBytes: Int
    private let buckets: GradientBuckets

    /// The number of gradient buckets (the first of at most 1 MiB, then ``bucketBytes`` each).
    public var bucketCount: Int { buckets.buckets.count }
    /// How many of the last step's buckets were sent while the backward pass was still running;
    /// the rest left after it. All but the one holding the first layers (and the parameters used
    /// all through the network, such as the time embedding's) leave early.
    public var bucketsSentDuringBackward: Int { buckets.startedDuringBackward }

    /// The examples of a batch of `batchSize` that `rank` of `ranks` computes,
    /// contiguous and as equal as possible (the first `batchSize % ranks` ranks take one more).
    public static func share(of rank: Int, ranks: Int, batchSize: Int) -> Range<Int> {
        precondition(ranks >= 1 && (0..<ranks).contains(rank), "DataParallelTrainer.share: rank \(rank) of \(ranks)")
        let (base, extra) = batchSize.quotientAndRemainder(dividingBy: ranks)
        let lower = rank * base + min(rank, extra)
        return lower..<(lower + base + (rank < extra ? 1 : 0))
    }

    /// Checks that a batch of `batchSize` examples gives every one of `ranks` ranks at least one.
    /// - Throws: ``TrainingError/invalidSetting(key:message:)`` (key `batchSize`) when it does not.
    public static func checkShares(batchSize: Int, ranks: Int) throws {
        guard batchSize >= ranks else {
            throw TrainingError.invalidSetting(
                key: "batchSize",
                message: "the batch of \(batchSize) examples cannot be shared by \(ranks) ranks: every rank needs at "
                    + "least one example. Use a batch size of at least \(ranks) or fewer ranks.")
        }
    }

    /// Data-parallel steps of `trainer` over `communicator`'s ranks. The trainers must already be
    /// equal (call ``synchronize(from:)`` after creating them).
    /// - Throws: ``TrainingError/invalidSetting(key:message:)`` when the batch has fewer examples
    ///   than there are ranks (every rank needs at least one).
    public init(trainer: Trainer, communicator: Communicator, bucketBytes: Int = 25 << 20) throws {
        let batchSize = trainer.configuration.batchSize
        try Self.checkShares(batchSize: batchSize, ranks: communicator.size)
        precondition(bucketBytes > 0, "DataParallelTrainer: bucketBytes must be positive, got \(bucketBytes)")
        self.trainer = trainer
        self.communicator = communicator
        self.bucketBytes = bucketBytes
        examples = Self.share(of: communicator.rank, ranks: communicator.size, batchSize: batchSize)
        buckets = GradientBuckets(
            shapes: trainer.network.namedParameters.map { $0.parameter.value.shape }, bucketBytes: bucketBytes, communicator: communicator)
    }

    // MARK: Steps

    /// One step on this rank's share of the next batch of `sampler` (batch number `trainer.step`).
    @discardableResult
    public func step(from sampler: inout BatchSampler) throws -> Trainer.StepReport {
        let size = trainer.configuration.batchSize
        let first = trainer.step * size
        return try step(on: sampler.batch(at: (first + examples.lowerBound)..<(first + examples.upperBound)).data)
    }

    /// One step with x₀ = `share` ([examples.count, …]): this rank's examples of the step's batch.
    /// Every rank must call it for the same step.
    @discardableResult
    public func step(on share: Tensor) throws -> Trainer.StepReport {
        buckets.begin()
        let part = try trainer.gradients(start: share, examples: examples) { [buckets] index, gradient in buckets.ready(index, gradient) }
        let summed = try buckets.finish()
        var loss = [part.loss]
        try communicator.allReduceSum(&loss)
        let (timesteps, losses) = try gatherExamples(part)
        let report = try trainer.apply(Trainer.Gradients(values: summed, loss: loss[0], timesteps: timesteps, losses: losses))
        if Self.perturbedRank == communicator.rank, trainer.step == 1, let first = trainer.network.namedParameters.first {
            first.parameter.value = first.parameter.value + 1e-3
        }
        return report
    }

    /// The rank whose weights are nudged (+10⁻³ on the first parameter) after its first step, from
    /// the environment variable `DDPM_PERTURB_REPLICA_RANK` (none when unset): a fault injected so
    /// that the test of ``verifyReplicas()`` can make the replicas differ as a faulty node would.
    static let perturbedRank: Int? = ProcessInfo.processInfo.environment["DDPM_PERTURB_REPLICA_RANK"].flatMap(Int.init)

    /// Every rank's timesteps and per-example losses, in example order (rank order).
    private func gatherExamples(_ part: Trainer.Gradients) throws -> ([Int], [Double]) {
        var record: [Double] = []
        for (t, l) in zip(part.timesteps, part.losses) { record += [Double(t), l] }
        let bytes = record.withUnsafeBytes { Array($0) }
        var timesteps: [Int] = [], losses: [Double] = []
        for rankBytes in try communicator.allGather(bytes) {
            let values = rankBytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
            for pair in stride(from: 0, to: values.count, by: 2) {
                timesteps.append(Int(values[pair]))
                losses.append(values[pair + 1])
            }
        }
        return (timesteps, losses)
    }

    // MARK: Agreement

    /// Makes every rank's trainer equal to `root`'s: parameters, EMA, Adam's moments and step, the
    /// step count, the last loss and the loss-aware sampler's history, broadcast from `root` (as
    /// one safetensors message). Run it once after creating or restoring the trainers, so that the
    /// replicas start identical whatever each rank read or initialised.
    public func synchronize(from root: Int = 0) throws {
        var bytes: [UInt8] = []
        if communicator.rank == root { bytes = try Self.encodeState(of: trainer) }
        try communicator.broadcast(&bytes, from: root)
        if communicator.rank != root { try Self.restoreState(bytes, into: trainer) }
    }

    static func encodeState(of trainer: Trainer) throws -> [UInt8] {
        var tensors: [String: Tensor] = [:]
        for (name, p) in trainer.network.namedParameters { tensors["p." + name] = p.value.detached() }
        for (name, t) in trainer.ema.averages { tensors["e." + name] = t }
        for (name, t) in trainer.optimizer.firstMoments { tensors["m." + name] = t }
        for (name, t) in trainer.optimizer.secondMoments { tensors["v." + name] = t }
        let state = CheckpointState(
            step: trainer.step, loss: trainer.lastLoss, emaUpdates: trainer.ema.updates, adamStep: trainer.optimizer.step,
            lossHistory: trainer.timestepSampler.strategy == .uniform ? nil : trainer.timestepSampler.history)
        let json = String(decoding: try TrainingConfiguration.encoder.encode(state), as: UTF8.self)
        return SafeTensorsFile.encode(tensors, metadata: ["state": json])
    }

    static func restoreState(_ bytes: [UInt8], into trainer: Trainer) throws {
        let file = try SafeTensorsFile(bytes: bytes, url: URL(fileURLWithPath: "/broadcast-from-rank-0"))
        guard let json = file.metadata["state"] else {
            throw TrainingError.invalidFile(path: "the state broadcast from rank 0", message: "has no state; ranks run different builds.")
        }
        let state = try StrictJSON.decode(CheckpointState.self, from: Data(json.utf8), path: "the state broadcast from rank 0")
        func tensors(_ prefix: String, _ names: [(String, [Int])]) throws -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: try names.map { ($0.0, try file.tensor(named: prefix + $0.0, expectedShape: $0.1)) })
        }
        let names = trainer.network.namedParameters.map { ($0.name, $0.parameter.value.shape) }
        let parameters = try tensors("p.", names)
        for (name, p) in trainer.network.namedParameters { p.value = parameters[name]! }
        trainer.ema.restore(try tensors("e.", names), updates: state.emaUpdates)
        let first = state.adamStep > 0 ? try tensors("m.", names) : [:]
        let second = state.adamStep > 0 ? try tensors("v.", names) : [:]
        trainer.optimizer.restore(step: state.adamStep, firstMoments: first, secondMoments: second)
        if let history = state.lossHistory { try trainer.timestepSampler.restore(history: history) }
        trainer.step = state.step
        trainer.lastLoss = state.loss
    }

    /// A 64-bit checksum of this rank's parameters and EMA averages (their bits, in name order)
    /// and its step count: equal on two ranks exactly when their replicas are (up to collisions).
    public func checksum() -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(trainer.step)
        func mix(_ tensor: Tensor) {
            tensor.withUnsafeBufferPointer(as: Float.self) { values in
                let raw = UnsafeRawBufferPointer(values)
                let words = raw.count / 8
                for i in 0..<words { hash = (hash ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x100_0000_01b3 }
                if raw.count % 8 != 0 {
                    hash = (hash ^ UInt64(raw.loadUnaligned(fromByteOffset: words * 8, as: UInt32.self))) &* 0x100_0000_01b3
                }
            }
        }
        for (_, p) in trainer.network.namedParameters.sorted(by: { $0.name < $1.name }) { mix(p.value) }
        for (_, t) in trainer.ema.averages.sorted(by: { $0.key < $1.key }) { mix(t) }
        return hash
    }

    /// Checks that every rank's replica equals rank 0's (``checksum()`` gathered from all).
    /// - Throws: `DistributedError.replicasDiverged`
    ///   on every rank, naming the ranks that differ, when any does.
    public func verifyReplicas() throws {
        let sums = try communicator.allGather(checksum())
        let differing = sums.indices.filter { sums[$0] != sums[0] }
        guard differing.isEmpty else {
            let detail =
                differing.prefix(4).map { "checksum \(String(sums[$0], radix: 16)) on rank \($0)" }.joined(separator: ", ")
                + " vs \(String(sums[0], radix: 16)) on rank 0"
            throw DistributedError.replicasDiverged(step: trainer.step, ranks: differing, size: communicator.size, detail: detail)
        }
    }
}
