// Data-parallel training within one process: the shares of a batch, the bucketed gradient path on
// one rank (a lossless copy), the refusal of a batch smaller than the ranks. (2 ranks under mpirun:
// ddpmTests/MPITrainTests.)
import DDPMDistributed
import DDPMTensors
import DDPMTestSupport
import DDPMTraining
import Testing

@Suite("data-parallel trainer")
struct DataParallelTests {
    @Test(arguments: [(1, 1), (8, 2), (9, 2), (16, 3), (5, 5), (128, 64)])
    func sharesCoverTheBatchOnceInOrder(_ batchSize: Int, _ ranks: Int) {
        let shares = (0..<ranks).map { DataParallelTrainer.share(of: $0, ranks: ranks, batchSize: batchSize) }
        #expect(shares.first?.lowerBound == 0 && shares.last?.upperBound == batchSize)
        for (a, b) in zip(shares, shares.dropFirst()) { #expect(a.upperBound == b.lowerBound, "\(shares)") }
        let counts = shares.map(\.count)
        #expect(counts.max()! - counts.min()! <= 1 && counts.min()! >= 1, "\(counts)")
    }

    @Test func aBatchSmallerThanTheRanksIsRefused() {
        #expect(throws: TrainingError.self) { try DataParallelTrainer.checkShares(batchSize: 3, ranks: 4) }
        #expect(throws: Never.self) { try DataParallelTrainer.checkShares(batchSize: 4, ranks: 4) }
    }

    /// One rank through the buckets (25 MiB, and 1 KiB: many buckets) is one process, bit for bit.
    @Test(arguments: [25 << 20, 1 << 10])
    func oneRankIsOneProcessBitForBit(_ bucketBytes: Int) throws {
        let configuration = try unetConfiguration(steps: 3)
        let dataset = try TrainingRun.loadData(configuration.data, seed: configuration.seed)
        let alone = try Trainer(configuration: configuration), shared = try Trainer(configuration: configuration)
        let parallel = try DataParallelTrainer(trainer: shared, communicator: .singleProcess, bucketBytes: bucketBytes)
        try parallel.synchronize()
        #expect(parallel.examples == 0..<configuration.batchSize)
        var a = alone.batchSampler(for: dataset), b = shared.batchSampler(for: dataset)
        for _ in 0..<configuration.steps {
            let x = try alone.train(from: &a), y = try parallel.step(from: &b)
            #expect(x.loss == y.loss && x.gradientNorm == y.gradientNorm)
        }
        #expect(trainerBytes(alone) == trainerBytes(shared))
        // The buckets leave while the backward pass runs: with 1 KiB buckets, most of them.
        if bucketBytes == 1 << 10 {
            #expect(parallel.bucketCount > 10)
            #expect(
                parallel.bucketsSentDuringBackward * 2 > parallel.bucketCount,
                "\(parallel.bucketsSentDuringBackward) of \(parallel.bucketCount)")
        }
        try parallel.verifyReplicas()
        #expect(parallel.checksum() != 0)
    }
}
