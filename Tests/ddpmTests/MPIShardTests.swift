// `ddpm sample`, `evaluate` and `fid` shared over 2 MPI ranks: the files of one process, bit for
// bit, and a rank that cannot start stops the job.
import DDPMTestSupport
import Foundation
import Testing

@Suite("sample, evaluate and fid shared over mpirun ranks", .enabled(if: mpiTestsEnabled, "mpirun (openmpi-bin) is installed"), .serialized)
struct MPIShardTests {
    /// A tiny U-Net trained for 2 steps on 8×8 dead leaves (T = 50), once for the suite.
    static let run = trainTinyRun("shard")

    /// 7 samples in batches of 3: rank 0 draws batches 0 and 2 (4 samples), rank 1 batch 1.
    static let shared = ["--count", "7", "--batch-size", "3", "--threads", "1", "--seed", "11"]

    func bytes(_ folder: URL, _ name: String) throws -> Data { try Data(contentsOf: folder.appendingPathComponent(name)) }

    /// A JSON file's object without the keys that differ by design (the rank count, timings).
    func json(_ url: URL, dropping keys: Set<String>) throws -> NSDictionary {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return object.filter { !keys.contains($0.key) } as NSDictionary
    }

    @Test(arguments: [
        ["--sampler", "ancestral", "--steps", "10"], ["--sampler", "ddim", "--steps", "10", "--eta", "1"],
        ["--sampler", "sde-dpm-solver++", "--steps", "8"],
    ])
    func twoRanksSampleWhatOneProcessSamples(_ sampler: [String]) throws {
        let dir = try temporaryFolder()
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two")
        let single = try runDDPM(
            ["sample", "--checkpoint", Self.run.path, "--output", one.path, "--save-initial-noise"] + Self.shared + sampler)
        #expect(single.status == 0, "\(single.standardError)")
        let (result, _) = try mpirun(
            ["-np", "2", ddpmExecutable.path, "sample", "--checkpoint", Self.run.path, "--output", two.path, "--save-initial-noise"]
                + Self.shared + sampler)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("7 samples over 2 ranks in batches of 3; rank 0 draws 4"), "\(result.standardError)")
        for name in ["samples.npy", "samples.png", "x_T.npy"] {
            #expect(try bytes(one, name) == bytes(two, name), "\(name) differs between 1 process and 2 ranks")
        }
        let record = try json(two.appendingPathComponent("sampler.json"), dropping: [])
        #expect(record["ranks"] as? Int == 2)
        #expect(
            try json(one.appendingPathComponent("sampler.json"), dropping: ["ranks"])
                == json(two.appendingPathComponent("sampler.json"), dropping: ["ranks"]))
        // The x_T of sample i is drawn from its own generator: the same in a batch of 7.
        let whole = dir.appendingPathComponent("whole")
        let batch = try runDDPM(
            ["sample", "--checkpoint", Self.run.path, "--output", whole.path, "--save-initial-noise", "--count", "7", "--batch-size", "7"]
                + ["--threads", "1", "--seed", "11"] + sampler)
        #expect(batch.status == 0, "\(batch.standardError)")
        #expect(try bytes(one, "x_T.npy") == bytes(whole, "x_T.npy"), "x_T depends on the batch size")
    }

    @Test func twoRanksEvaluateWhatOneProcessEvaluates() throws {
        let dir = try temporaryFolder()
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two")
        let arguments = ["evaluate", "--checkpoint", Self.run.path, "--count", "5", "--batch-size", "2", "--threads", "1", "--seed", "3"]
        let single = try runDDPM(arguments + ["--output", one.path])
        #expect(single.status == 0, "\(single.standardError)")
        let (result, _) = try mpirun(["-np", "2", ddpmExecutable.path] + arguments + ["--output", two.path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("5 examples over 2 ranks; rank 0 evaluates 3"), "\(result.standardError)")
        for name in ["bound.json", "bound-per-t.csv", "bound-per-example.csv"] {
            #expect(try bytes(one, name) == bytes(two, name), "\(name) differs between 1 process and 2 ranks")
        }
        // The same report, but for the folder written.
        let report = { (text: String) in text.split(separator: "\n").filter { !$0.hasPrefix("wrote ") } }
        #expect(report(single.standardOutput) == report(result.standardOutput))
        #expect(report(single.standardOutput).count == 3)
    }

    @Test func twoRanksMeasureTheFIDOfOneProcess() throws {
        let dir = try temporaryFolder()
        let samples = dir.appendingPathComponent("samples")
        let drawn = try runDDPM(
            ["sample", "--checkpoint", Self.run.path, "--output", samples.path, "--sampler", "ddim", "--steps", "4"] + Self.shared)
        #expect(drawn.status == 0, "\(drawn.standardError)")
        let arguments = [
            "fid", samples.path, "--reference", "deadleaves,size=8,count=6", "--weights", FIDCommandTests.weights.path, "--batch-size", "2",
            "--kid-subsets", "3", "--threads", "1",
        ]
        let one = dir.appendingPathComponent("one.json"), two = dir.appendingPathComponent("two.json")
        let single = try runDDPM(arguments + ["--output", one.path])
        #expect(single.status == 0, "\(single.standardError)")
        let (result, _) = try mpirun(["-np", "2", ddpmExecutable.path] + arguments + ["--output", two.path], seconds: 240)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("7 images of 8×8×1 over 2 ranks"), "\(result.standardError)")
        let timings: Set<String> = ["featuriseSeconds", "secondsPerImage"]
        let want = try json(one, dropping: timings)
        #expect(try json(two, dropping: timings) == want)
        #expect(want["fid"] is Double && want["kidMean"] is Double)
    }

    @Test func aRankThatCannotLoadTheModelStopsTheJob() throws {
        // The checkpoint is a relative path: rank 0 runs where it exists, rank 1 where it does not.
        let dir = try temporaryFolder()
        let good = dir.appendingPathComponent("good"), bad = dir.appendingPathComponent("bad")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.run, to: good)
        let sample = [ddpmExecutable.path, "sample", "--checkpoint", ".", "--output", dir.appendingPathComponent("out").path] + Self.shared
        let (result, elapsed) = try mpirun(
            ["-np", "1", "-wdir", good.path] + sample + [":", "-np", "1", "-wdir", bad.path] + sample, seconds: 60)
        #expect(result.status == 1, "exit \(result.status): \(result.standardError)")
        #expect(result.standardError.contains("rank 1 of 2: --checkpoint ."), "\(result.standardError)")
        #expect(elapsed < 20, "the job took \(elapsed) s to stop")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/samples.npy").path))
    }
}
