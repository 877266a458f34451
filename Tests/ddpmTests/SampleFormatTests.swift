// `ddpm sample --format grid,png-dir,npz,npy` and `--resume` of an interrupted png-dir run: the
// files of an uninterrupted run, byte for byte.
import DDPMImaging
import DDPMNeuralNetworks
import DDPMTestSupport
import Foundation
import Testing

@Suite(.serialized) struct SampleFormatTests {
    /// A tiny U-Net trained for 2 steps on 8×8 dead leaves (T = 50).
    static let run = trainTinyRun("formats")

    func sample(_ output: URL, _ extra: [String]) throws -> CommandResult {
        try runDDPM(
            ["sample", "--checkpoint", Self.run.path, "--output", output.path, "--threads", "1", "--seed", "4", "--raw-weights"] + extra)
    }

    /// Every file under `folder` (relative path → bytes).
    func files(_ folder: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.subpathsOfDirectory(atPath: folder.path) {
            let url = folder.appendingPathComponent(name)
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue {
                out[name] = try Data(contentsOf: url)
            }
        }
        return out
    }

    @Test func everyFormatHoldsTheSameImages() throws {
        let out = try temporaryFolder().appendingPathComponent("all")
        let result = try sample(out, ["--count", "5", "--batch-size", "2", "--steps", "6", "--format", "grid,png-dir,npz,npy"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try folderContents(out) == ["images", "sampler.json", "samples.npy", "samples.npz", "samples.png"])
        #expect(try folderContents(out.appendingPathComponent("images")) == (0..<5).map { String(format: "%06d.png", $0) })
        let npy = try NPYFile.read(out.appendingPathComponent("samples.npy"))
        let npz = try NPZFile.read(out.appendingPathComponent("samples.npz"))
        #expect(npz.map(\.name) == ["arr_0"])
        #expect(npz[0].array.shape == [5, 8, 8, 1] && npy.shape == [5, 8, 8, 1])
        guard case .uint8(let bytes) = npy.elements, case .uint8(let zipped) = npz[0].array.elements else {
            Issue.record("samples.npy and arr_0 must be uint8")
            return
        }
        #expect(bytes == zipped)
        for i in 0..<5 {
            let image = try PNGCodec.read(from: out.appendingPathComponent(String(format: "images/%06d.png", i)), format: .gray)
            #expect(image.pixels == Array(bytes[(i * 64)..<((i + 1) * 64)]), "image \(i) differs from row \(i) of samples.npy")
        }
        // Only what is asked for.
        let npzOnly = try temporaryFolder().appendingPathComponent("npz")
        #expect(try sample(npzOnly, ["--count", "2", "--steps", "3", "--format", "npz"]).status == 0)
        #expect(try folderContents(npzOnly) == ["sampler.json", "samples.npz"])
    }

    @Test func aKilledPNGRunResumesToTheFilesOfAnUninterruptedOne() throws {
        let dir = try temporaryFolder()
        let straight = dir.appendingPathComponent("straight"), killed = dir.appendingPathComponent("killed")
        let flags = ["--count", "40", "--batch-size", "2", "--steps", "50", "--format", "grid,png-dir,npy", "--save-initial-noise"]
        #expect(try sample(straight, flags).status == 0)
        // Killed (SIGKILL) once some images are written.
        let process = Process()
        process.executableURL = ddpmExecutable
        process.arguments =
            [
                "sample", "--checkpoint", Self.run.path, "--output", killed.path, "--threads", "1", "--seed", "4", "--raw-weights",
            ] + flags
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let images = killed.appendingPathComponent("images")
        func written() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: images.path)) ?? []).filter { $0.hasSuffix(".png") }.count
        }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, written() < 5 { usleep(2_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let before = written()
        #expect(before >= 5 && before < 40, "\(before) images written before the kill")
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent("samples.npy").path))
        let resumed = try sample(killed, flags + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardError.contains("rank 0 reads"), "\(resumed.standardError)")
        let want = try files(straight), got = try files(killed)
        #expect(got.keys.sorted() == want.keys.sorted())
        for name in want.keys.sorted() { #expect(got[name] == want[name], "\(name) differs from the uninterrupted run's") }
    }

    @Test func resumeRefusesOtherSettingsAndOtherFormats() throws {
        let out = try temporaryFolder().appendingPathComponent("run")
        #expect(try sample(out, ["--count", "4", "--steps", "4", "--format", "png-dir"]).status == 0)
        let other = try sample(out, ["--count", "4", "--steps", "5", "--format", "png-dir", "--resume"])
        #expect(other.status == 1)
        #expect(
            other.standardError.contains("drawn with other settings (orders, sigmas, steps, timesteps differ)"), "\(other.standardError)")
        let seed = try runDDPM(
            ["sample", "--checkpoint", Self.run.path, "--output", out.path, "--threads", "1", "--seed", "5", "--raw-weights"]
                + ["--count", "4", "--steps", "4", "--format", "png-dir", "--resume"])
        #expect(seed.status == 1 && seed.standardError.contains("(seed differ)"), "\(seed.standardError)")
        let noPNG = try sample(out, ["--count", "4", "--format", "npy", "--resume"])
        #expect(noPNG.status == 64 && noPNG.standardError.contains("add png-dir to --format"), "\(noPNG.standardError)")
        let unknown = try sample(out, ["--format", "grid,jpeg"])
        #expect(unknown.status == 64 && unknown.standardError.contains("unknown format 'jpeg'"), "\(unknown.standardError)")
        let fresh = try sample(try temporaryFolder().appendingPathComponent("none"), ["--format", "png-dir", "--resume"])
        #expect(fresh.status == 1 && fresh.standardError.contains("sampler.json is missing"), "\(fresh.standardError)")
    }

    @Test func pointsRefuseImageFormats() throws {
        let dir = try temporaryFolder()
        let run = dir.appendingPathComponent("toy")
        #expect(try runDDPM(["train", "--output", run.path, "--data", "swissroll,count=64", "--steps", "2", "--threads", "1"]).status == 0)
        let result = try runDDPM(["sample", "--checkpoint", run.path, "--format", "png-dir", "--steps", "3"])
        #expect(result.status == 1 && result.standardError.contains("this model draws points"), "\(result.standardError)")
    }
}
