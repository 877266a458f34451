// A run shared by the ranks of an MPI job: rank 0 owns the folder, every rank holds the model.
import DDPMDatasets
import DDPMDistributed
import Foundation

extension TrainingRun {
    /// Starts a new run trained by every rank of `communicator` together (data-parallel; see
    /// ``DataParallelTrainer``). Every rank calls it with the same settings and its own copy of
    /// the data. Rank 0 checks and creates the folder as ``start(_:dataset:in:)`` does and alone
    /// writes to it from then on; its settings are broadcast so that every rank builds the same
    /// trainer, and its weights, so that the replicas start identical. With one rank this is
    /// ``start(_:dataset:in:)``.
    /// - Throws: `DistributedError.rankFailed` on every rank when
    ///   any rank fails (the folder already holds a run, the data do not fit, the batch is smaller
    ///   than the number of ranks), with each failing rank's message.
    public static func start(
        _ configuration: TrainingConfiguration, dataset: Dataset, in folder: URL, communicator: Communicator, bucketBytes: Int = 25 << 20
    ) throws -> TrainingRun {
        guard communicator.size > 1 else { return try start(configuration, dataset: dataset, in: folder) }
        let root = try communicator.agree { () -> TrainingRun? in
            try DataParallelTrainer.checkShares(batchSize: configuration.batchSize, ranks: communicator.size)
            return communicator.isRoot ? try start(configuration, dataset: dataset, in: folder) : nil
        }
        return try join(root: root, dataset: dataset, folder: folder, communicator: communicator, bucketBytes: bucketBytes)
    }

    /// Resumes the run in `folder` on every rank of `communicator` together, with any number of
    /// ranks (a checkpoint holds no trace of how many ranks wrote it). Rank 0 resumes it as
    /// ``resume(_:adjust:)`` does (with `adjust`) and broadcasts the settings and the restored
    /// state; every other rank loads the data named in run.json itself (paths are resolved in its
    /// own working directory, so the data must be there on every machine). With one rank this is
    /// ``resume(_:adjust:)``.
    /// - Throws: `DistributedError.rankFailed` on every rank when
    ///   any rank fails, with each failing rank's message.
    public static func resume(
        _ folder: URL, communicator: Communicator, bucketBytes: Int = 25 << 20, adjust: (inout TrainingConfiguration) -> Void = { _ in }
    ) throws -> TrainingRun {
        guard communicator.size > 1 else { return try resume(folder, adjust: adjust) }
        let root = try communicator.agree { communicator.isRoot ? try resume(folder, adjust: adjust) : nil }
        return try join(root: root, dataset: nil, folder: folder, communicator: communicator, bucketBytes: bucketBytes)
    }

    /// Rank 0's run (`root`, nil elsewhere) joined by the other ranks: settings broadcast, each
    /// rank's trainer built and checked against its data, then the state broadcast.
    private static func join(root: TrainingRun?, dataset: Dataset?, folder: URL, communicator: Communicator, bucketBytes: Int) throws
        -> TrainingRun
    {
        var settings = try root.map { Array(try TrainingConfiguration.encoder.encode($0.configuration)) } ?? []
        try communicator.broadcast(&settings)
        let run = try communicator.agree { () -> TrainingRun in
            let run: TrainingRun
            if let root {
                run = root
            } else {
                let source = "the settings broadcast by rank 0"
                let configuration = try StrictJSON.decode(TrainingConfiguration.self, from: Data(settings), path: source)
                let data: Dataset
                do { data = try dataset ?? loadData(configuration.data, seed: configuration.seed) } catch {
                    throw TrainingError.invalidSetting(key: "data", message: "\(configuration.data): \(error)")
                }
                let trainer = try Trainer(configuration: configuration)
                try check(data, fits: trainer)
                run = try TrainingRun(folder: folder, trainer: trainer, dataset: data, communicator: communicator)
            }
            run.communicator = communicator
            run.dataParallel = try DataParallelTrainer(trainer: run.trainer, communicator: communicator, bucketBytes: bucketBytes)
            return run
        }
        try run.dataParallel!.synchronize()
        return run
    }
}
