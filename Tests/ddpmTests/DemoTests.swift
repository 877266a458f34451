import DDPMTestSupport
import DDPMDatasets
import Foundation
import DDPMImaging
import DDPMTensors
import Testing

@Suite struct DemoTests {
    /// The toy model learns: with the default 4,000 steps its samples lie on the swiss roll and cover it.
    /// - On it: the mean distance from a sample to the nearest of 10,000 data points. Standard
    ///   normal noise scores ≈ 0.37; data blurred by N(0, 0.1²) scores ≈ 0.08; exact data ≈ 0.001.
    ///   The threshold 0.1 admits only samples within about a 0.1-wide band around the roll.
    /// - Covering it: the energy distance to 500 data points. Noise scores 0.026–0.035, two
    ///   independent data samples 0.003–0.007 (numpy, five draws each); the threshold is half the
    ///   noise score measured in the same test.
    @Test func demoLearnsTheSwissRoll() throws {
        let folder = try temporaryFolder()
        let result = try runDDPM(["demo", "--output", folder.path, "--count", "500", "--threads", "1"])
        #expect(result.status == 0, "\(result.standardError)")
        for name in [
            "data-vs-samples.png", "processes.png", "loss.png", "data-vs-samples.svg", "processes.svg", "loss.svg", "samples.csv",
            "loss.csv",
        ] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), "\(name) missing")
        }
        let svg = try String(contentsOf: folder.appendingPathComponent("processes.svg"), encoding: .utf8)
        #expect(svg.contains(">q(xₜ) at t = 500</text>") && svg.contains(">p(x₀)</text>"), "the papers' notation")
        let image = try PNGCodec.read(from: folder.appendingPathComponent("processes.png"))
        #expect(image.width > 600 && image.height > 400)

        let rows = try String(contentsOf: folder.appendingPathComponent("samples.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst()
        let samples = rows.flatMap { $0.split(separator: ",").map { Float($0)! } }
        #expect(samples.count == 1000)
        var generator = PhiloxGenerator(seed: 12345)
        let dense = try ToyData.swissRoll(count: 10_000, generator: &generator).batch(indices: Array(0..<10_000)).floats
        let data = Array(dense.prefix(1000))
        let noise = Tensor.randomNormal(shape: [500, 2], generator: &generator).floats
        let onRoll = meanNearestDistance(samples, to: dense)
        #expect(onRoll < 0.1, "mean distance of samples to the roll \(onRoll); noise scores \(meanNearestDistance(noise, to: dense))")
        let learned = energyDistance(samples, data)
        let baseline = energyDistance(noise, data)
        #expect(learned < baseline / 2, "energy distance: samples \(learned) vs noise \(baseline)")
        #expect(result.standardOutput.contains("wrote \(folder.path)/processes.png"))
    }

    /// A font file that is not there stops the demo before it trains, naming the file.
    @Test func missingFontIsExplainedBeforeTraining() throws {
        let folder = try temporaryFolder().appendingPathComponent("out")
        let result = try runProgram(
            ddpmExecutable, ["demo", "--output", folder.path, "--steps", "1"], environment: ["DDPM_FONT": "/nonexistent/Font.ttf"])
        #expect(result.status == 1)
        #expect(
            result.standardError.contains("/nonexistent/Font.ttf") && result.standardError.contains("DDPM_FONT"), "\(result.standardError)")
        #expect(result.standardError.contains("fonts-dejavu-core"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: folder.path))
    }

    @Test func demoRejectsBadFlags() throws {
        let folder = try temporaryFolder()
        let result = try runDDPM(["demo", "--output", folder.path, "--steps", "0"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("--steps"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}

/// Mean over the points of `a` of the distance to the nearest point of `b` (2-D, interleaved).
func meanNearestDistance(_ a: [Float], to b: [Float]) -> Double {
    var total = 0.0
    for i in stride(from: 0, to: a.count, by: 2) {
        var best = Float.infinity
        for j in stride(from: 0, to: b.count, by: 2) {
            let dx = a[i] - b[j], dy = a[i + 1] - b[j + 1]
            best = min(best, dx * dx + dy * dy)
        }
        total += Double(best.squareRoot())
    }
    return total / Double(a.count / 2)
}
