// Data-parallel `ddpm train` under Open MPI's `mpirun` with 2 ranks on this machine: the same
// training as one process up to the order of the sums, bit for bit repeatable, resumable with another
// rank count, and a failing rank stops the job.
import DDPMDatasets
import DDPMImaging
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTestSupport
import DDPMTraining
import Foundation
import Testing

/// `mpirun`, where the Debian package openmpi-bin puts it (`make test` installs it).
let mpirunPath: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// Whether the MPI tests may be skipped when mpirun is missing: `make test` sets DDPM_REQUIRE_MPI=1,
/// so that CI fails rather than skipping them.
let mpiTestsEnabled = mpirunPath != nil || ProcessInfo.processInfo.environment["DDPM_REQUIRE_MPI"] == "1"

/// Runs `mpirun` with `arguments` (e.g. `-np 2 ddpm train …`) under a wall-clock limit, with the
/// settings Open MPI needs here: as root (CI) it refuses to start without the two ALLOW variables;
/// in containers its shared-memory single-copy path fails ("Read -1, expected …"); more ranks than
/// free cores need --oversubscribe.
func mpirun(_ arguments: [String], in directory: URL? = nil, seconds: Int = 120) throws -> (result: CommandResult, elapsed: Double) {
    let path = try #require(mpirunPath, "mpirun is missing: install openmpi-bin (make deps does)")
    let started = Date()
    let result = try runProgram(
        URL(fileURLWithPath: "/usr/bin/timeout"),
        ["--kill-after=5", "\(seconds)", path, "--oversubscribe", "--bind-to", "none"] + arguments,
        in: directory,
        environment: [
            "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
        ])
    return (result, Date().timeIntervalSince(started))
}

@Suite("data-parallel training under mpirun", .enabled(if: mpiTestsEnabled, "mpirun (openmpi-bin) is installed"), .serialized)
struct MPITrainTests {
    /// A training setting small enough for seconds: the flags and the Adam step bound K·lr.
    struct Setting: CustomTestStringConvertible, Sendable {
        var name: String
        var flags: [String]
        var steps: Int
        var learningRate: Double
        var testDescription: String { name }
    }

    static let toy = Setting(
        name: "toy MLP, swiss roll, B = 16",
        flags: [
            "--data", "swissroll,count=300", "--batch-size", "16", "--learning-rate", "1e-3", "--warmup", "0", "--ema-decay", "0.9",
            "--seed", "3", "--threads", "1",
        ],
        steps: 20, learningRate: 1e-3)
    static let unet = Setting(
        name: "tiny U-Net, dead leaves 8×8, B = 8",
        flags: [
            "--data", "deadleaves,size=8,count=16", "--model", "tiny", "--timesteps", "50", "--batch-size", "8", "--learning-rate", "1e-3",
            "--warmup", "0", "--ema-decay", "0.9", "--seed", "5", "--threads", "1",
        ],
        steps: 6, learningRate: 1e-3)
    /// IDDPM's importance-sampled t: every rank must keep the same loss history (gathered in example order).
    static let lossAware = Setting(
        name: "toy MLP, loss-aware t, T = 4",
        flags: [
            "--data", "swissroll,count=300", "--batch-size", "16", "--learning-rate", "1e-3", "--warmup", "0", "--ema-decay", "0.9",
            "--timesteps", "4", "--loss", "vlb", "--timestep-sampling", "loss-aware", "--seed", "4", "--threads", "1",
        ],
        steps: 20, learningRate: 1e-3)

    /// The checkpoint's weights and EMA, by file and tensor name.
    func weights(_ run: URL) throws -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for file in [Checkpoint.modelName, Checkpoint.emaName] {
            for (name, tensor) in try SafeTensorsFile(contentsOf: run.appendingPathComponent("checkpoint/" + file)).allTensors() {
                out[file + ":" + name] = tensor.floats
            }
        }
        return out
    }

    /// The losses of log.jsonl.
    func losses(_ run: URL) throws -> [Double] {
        try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
            ((try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["loss"] as! NSNumber).doubleValue
        }
    }

    /// The tolerance of "the same weights as one process", and why.
    ///
    /// The exact test (`twoRanksAreOneProcessWithTheBatchSplitInTwo`) shows that 2 ranks compute
    /// bit for bit what one process computes when it sums the two halves' gradients, so the only
    /// difference from one process's step is the order of the Float32 sums over the batch (one
    /// backward pass over B examples vs two over B/2 and one addition). Reordering a sum of n terms
    /// changes it by at most about n·2⁻²⁴·Σ|terms|. Adam divides each gradient by its running RMS,
    /// so every element moves by at most about lr per step whatever its gradient's scale: an
    /// element whose gradient is far above its rounding moves by the same step to ~1e-6 relative,
    /// and only elements whose gradient is itself at the rounding level (m̂/√v̂ then follows the
    /// rounding) can take a visibly different step — at most their whole step. Allowed: 1% of
    /// the largest total movement, K·lr. Observed on this machine: 2.2e-7 of K·lr = 2e-2 (toy,
    /// 1e-5 of K·lr) and 6.7e-6 of K·lr = 6e-3 (U-Net, 1.1e-3 of K·lr). An actual fault (a
    /// share computed twice or not at all, a bucket left out, gradients not averaged over the
    /// global batch) changes the steps themselves: errors of the order of K·lr.
    func expectSameTraining(
        _ got: [String: [Float]], _ want: [String: [Float]], _ setting: Setting, _ label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let tolerance = Float(0.01 * Double(setting.steps) * setting.learningRate)
        #expect(got.keys.sorted() == want.keys.sorted(), "\(label): tensors differ", sourceLocation: sourceLocation)
        for name in want.keys.sorted() {
            expectClose(got[name] ?? [], want[name]!, relative: 0, absolute: tolerance, "\(label) \(name)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [toy, unet])
    func twoRanksTrainAsOneProcessAndRepeatBitForBit(_ setting: Setting) throws {
        let dir = try temporaryFolder()
        let one = dir.appendingPathComponent("one"), a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        let steps = ["--steps", "\(setting.steps)"]
        let single = try runDDPM(["train", "--output", one.path] + steps + setting.flags)
        #expect(single.status == 0, "\(single.standardError)")
        for run in [a, b] {
            let (result, _) = try mpirun(["-np", "2", ddpmExecutable.path, "train", "--output", run.path] + steps + setting.flags)
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardError.contains("data-parallel over 2 ranks"), "\(result.standardError)")
        }
        // Rank 0 alone wrote the folder: one log line per step, one checkpoint.
        #expect(try losses(a).count == setting.steps)
        #expect(
            try folderContents(a) == [
                "checkpoint", String(format: "checkpoint-%08d", setting.steps), "log.jsonl", "loss.png", "loss.svg", "run.json",
            ])
        // Two 2-rank runs: the same files, bit for bit.
        for name in [Checkpoint.modelName, Checkpoint.emaName, Checkpoint.optimizerName, Checkpoint.stateName] {
            #expect(
                try Data(contentsOf: a.appendingPathComponent("checkpoint/" + name))
                    == Data(contentsOf: b.appendingPathComponent("checkpoint/" + name)),
                "\(name) differs between two 2-rank runs")
        }
        #expect(try losses(a) == losses(b))
        // 2 ranks vs 1 process: the same training up to the order of the sums.
        expectSameTraining(try weights(a), try weights(one), setting, "2 ranks vs 1 process")
        expectClose(try losses(a), try losses(one), relative: 1e-5, "losses, 2 ranks vs 1 process")
    }

    @Test(arguments: [toy, unet, lossAware])
    func twoRanksAreOneProcessWithTheBatchSplitInTwo(_ setting: Setting) throws {
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        let (result, _) = try mpirun(
            ["-np", "2", ddpmExecutable.path, "train", "--output", run.path, "--steps", "\(setting.steps)"] + setting.flags)
        #expect(result.status == 0, "\(result.standardError)")
        // One process, in this test: each step's gradients computed for the two ranks' shares and
        // added in Float32 (as the all-reduce adds them), then one update.
        ComputeThreads.set(1)
        let configuration = try TrainingConfiguration.load(from: run.appendingPathComponent("run.json")).configuration
        let trainer = try Trainer(configuration: configuration)
        var sampler = trainer.batchSampler(for: try TrainingRun.loadData(configuration.data, seed: configuration.seed))
        let size = configuration.batchSize
        let shares = [
            DataParallelTrainer.share(of: 0, ranks: 2, batchSize: size), DataParallelTrainer.share(of: 1, ranks: 2, batchSize: size),
        ]
        for step in 0..<setting.steps {
            let batch = try sampler.batch(step: step, size: size).data
            let parts = try shares.map { try trainer.gradients(start: batch.sliced(axis: 0, range: $0), examples: $0) }
            let values = zip(parts[0].values, parts[1].values).map { x, y in Tensor(zip(x.floats, y.floats).map { $0 + $1 }, shape: x.shape)
            }
            try trainer.apply(
                Trainer.Gradients(
                    values: values, loss: parts[0].loss + parts[1].loss,
                    timesteps: parts[0].timesteps + parts[1].timesteps, losses: parts[0].losses + parts[1].losses))
        }
        var expected: [String: [Float]] = [:]
        for (name, p) in trainer.network.namedParameters { expected[Checkpoint.modelName + ":" + name] = p.value.floats }
        for (name, t) in trainer.ema.averages { expected[Checkpoint.emaName + ":" + name] = t.floats }
        let got = try weights(run)
        #expect(got.keys.sorted() == expected.keys.sorted())
        for name in expected.keys.sorted() {
            #expect(got[name] == expected[name], "\(name): 2 ranks differ from one process adding the same two shares")
        }
    }

    @Test(arguments: [toy, unet])
    func resumeWithAnotherRankCount(_ setting: Setting) throws {
        let dir = try temporaryFolder()
        let straight = dir.appendingPathComponent("straight"), twoThenOne = dir.appendingPathComponent("2-1"),
            oneThenTwo = dir.appendingPathComponent("1-2")
        let half = ["--steps", "\(setting.steps / 2)"], all = ["--steps", "\(setting.steps)"]
        #expect(try runDDPM(["train", "--output", straight.path] + all + setting.flags).status == 0)
        // 2 ranks to K/2, then 1 process to K.
        let first = try mpirun(["-np", "2", ddpmExecutable.path, "train", "--output", twoThenOne.path] + half + setting.flags).result
        #expect(first.status == 0, "\(first.standardError)")
        let second = try runDDPM(["train", "--output", twoThenOne.path, "--resume", "--threads", "1"] + all)
        #expect(second.status == 0, "\(second.standardError)")
        // 1 process to K/2, then 2 ranks to K.
        #expect(try runDDPM(["train", "--output", oneThenTwo.path] + half + setting.flags).status == 0)
        let third = try mpirun(["-np", "2", ddpmExecutable.path, "train", "--output", oneThenTwo.path, "--resume", "--threads", "1"] + all)
            .result
        #expect(third.status == 0, "\(third.standardError)")
        #expect(third.standardError.contains("resuming"), "\(third.standardError)")
        let want = try weights(straight)
        expectSameTraining(try weights(twoThenOne), want, setting, "2 ranks then 1 process vs 1 process")
        expectSameTraining(try weights(oneThenTwo), want, setting, "1 process then 2 ranks vs 1 process")
        #expect(try losses(twoThenOne).count == setting.steps && losses(oneThenTwo).count == setting.steps)
    }

    @Test func aRankThatCannotReadItsDataStopsTheJob() throws {
        // The data spec names a relative folder: rank 0 runs where it holds PNG images, rank 1 where
        // it holds a damaged one (as on a machine whose copy of the data is broken).
        let dir = try temporaryFolder()
        let good = dir.appendingPathComponent("good"), bad = dir.appendingPathComponent("bad")
        for folder in [good, bad] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("images"), withIntermediateDirectories: true)
        }
        for i in 0..<4 {
            try RasterImage(width: 8, height: 8, format: .gray, pixels: [UInt8](repeating: UInt8(i * 60), count: 64))
                .writePNG(to: good.appendingPathComponent("images/\(i).png"))
        }
        try Data("not a PNG".utf8).write(to: bad.appendingPathComponent("images/0.png"))
        let run = dir.appendingPathComponent("run")
        let train = [
            ddpmExecutable.path, "train", "--data", "png:images,size=8,channels=1", "--model", "tiny", "--batch-size", "4",
            "--steps", "1000", "--threads", "1", "--output", run.path,
        ]
        let (result, elapsed) = try mpirun(
            ["-np", "1", "-wdir", good.path] + train + [":", "-np", "1", "-wdir", bad.path] + train, seconds: 60)
        #expect(result.status != 0 && result.status != 124, "exit \(result.status)")
        #expect(result.standardError.contains("rank 1 of 2"), "\(result.standardError)")
        #expect(result.standardError.contains("--data"), "\(result.standardError)")
        #expect(elapsed < 20, "the job took \(elapsed) s to stop")
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoint").path))
    }

    @Test func aRankThatDiesStopsTheJobAndTheRunResumes() throws {
        // Rank 1 is killed (SIGKILL) a second into training: mpirun must end rank 0 too, and the last
        // checkpoint must resume.
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        let train =
            "exec \(ddpmExecutable.path) train --output \(run.path) --steps 100000 --checkpoint-every 20 "
            + Self.toy.flags.joined(separator: " ")
        let script = "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then (sleep 1.5; kill -9 $$) & fi; \(train)"
        let (result, elapsed) = try mpirun(["-np", "2", "/bin/sh", "-c", script], seconds: 60)
        #expect(result.status != 0 && result.status != 124, "exit \(result.status)")
        #expect(elapsed < 30, "the job took \(elapsed) s to stop")
        #expect(result.standardError.contains("rank 1") || result.standardOutput.contains("rank 1"), "\(result.standardError)")
        let state =
            try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("checkpoint/state.json"))) as! [String: Any]
        let saved = try #require(state["step"] as? Int)
        let resumed = try runDDPM(["train", "--output", run.path, "--resume", "--steps", "\(saved + 5)", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardError.contains("resuming \(run.path) at step \(saved)"), "\(resumed.standardError)")
    }

    @Test func replicasThatDivergeStopTheRunNamingTheRank() throws {
        // Rank 1's weights are nudged after its first step (an injected fault, as from a faulty node):
        // the check after step 2 finds it, every rank stops, and nothing is saved after the fault.
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        let (result, elapsed) = try mpirun(
            ["-np", "2", "-x", "DDPM_PERTURB_REPLICA_RANK=1", ddpmExecutable.path, "train", "--output", run.path, "--steps", "10"]
                + ["--check-replicas-every", "2"] + Self.toy.flags, seconds: 60)
        #expect(result.status == 1, "exit \(result.status): \(result.standardError)")
        #expect(
            result.standardError.contains("after step 2 the model of rank 1 (of 2) differs from rank 0's"), "\(result.standardError)")
        #expect(result.standardError.contains("resume from the last checkpoint"), "\(result.standardError)")
        #expect(elapsed < 20, "the job took \(elapsed) s to stop")
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoint").path))
    }

    @Test func aBatchSmallerThanTheRanksIsRefusedByEveryRank() throws {
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("run")
        let (result, _) = try mpirun(
            [
                "-np", "2", ddpmExecutable.path, "train", "--data", "swissroll,count=50", "--batch-size", "1",
                "--steps", "2", "--threads", "1", "--output", run.path,
            ], seconds: 60)
        #expect(result.status != 0 && result.status != 124)
        #expect(result.standardError.contains("--batch-size 1") && result.standardError.contains("2 ranks"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: run.path), "nothing is written")
    }
}
