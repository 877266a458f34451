// End-to-end tests of evaluate, progressive, interpolate, inpaint and rate-distortion on a tiny
// model trained on two 8×8 black-and-white images (T = 1000, DDPM's linear schedule).
import DDPMTestSupport
import Foundation
import DDPMImaging
import DDPMNeuralNetworks
import Testing

/// Two images, a model trained on them and an untrained one, made once for the suite.
struct AnalysisFixture: Sendable {
    let folder: URL
    let images: [URL]
    let trained: URL
    let untrained: URL

    static let shared: Result<AnalysisFixture, CommandError> = {
        do { return .success(try make()) } catch let error as CommandError { return .failure(error) } catch {
            return .failure(CommandError(description: "\(error)"))
        }
    }()

    struct CommandError: Error, CustomStringConvertible { let description: String }

    /// Left half white, and a 2×2 checkerboard: far apart, so either half identifies the image.
    static func pixels(_ index: Int) -> [UInt8] {
        (0..<64).map { i in
            let (y, x) = (i / 8, i % 8)
            return (index == 0 ? x < 4 : (x / 2 + y / 2) % 2 == 1) ? 255 : 0
        }
    }

    static func make() throws(CommandError) -> AnalysisFixture {
        do {
            let folder = try temporaryFolder("analysis")
            let data = folder.appendingPathComponent("data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            let images = try (0..<2).map { i in
                let url = data.appendingPathComponent("image\(i).png")
                try RasterImage(width: 8, height: 8, format: .gray, pixels: pixels(i)).writePNG(to: url)
                return url
            }
            let common = ["--data", "png:\(data.path),size=8,channels=1", "--model", "fashion", "--batch-size", "8", "--threads", "1"]
            let trained = folder.appendingPathComponent("trained"), untrained = folder.appendingPathComponent("untrained")
            let a = try runDDPM(
                [
                    "train", "--output", trained.path, "--steps", "300", "--learning-rate", "2e-3", "--warmup", "10",
                    "--ema-decay", "0.9",
                ] + common)
            guard a.status == 0 else { throw CommandError(description: "training failed: \(a.standardError)") }
            let b = try runDDPM(["train", "--output", untrained.path, "--steps", "1", "--learning-rate", "1e-12"] + common)
            guard b.status == 0 else { throw CommandError(description: "untrained run failed: \(b.standardError)") }
            return AnalysisFixture(folder: folder, images: images, trained: trained, untrained: untrained)
        } catch let error as CommandError {
            throw error
        } catch {
            throw CommandError(description: "\(error)")
        }
    }

    /// The images as the model sees them, [−1, 1], row-major 8×8.
    static func values(_ index: Int) -> [Float] { pixels(index).map { Float($0) / 127.5 - 1 } }
}

func rms(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
    (zip(a, b).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.count)).squareRoot()
}

func csvRows(_ url: URL) throws -> [[Double]] {
    try String(contentsOf: url, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",").map { Double($0)! } }
}

func npyFloats(_ url: URL) throws -> (shape: [Int], values: [Float]) {
    let array = try NPYFile.read(url)
    guard case let .float32(values) = array.elements else { Issue.record("\(url.path): not float32"); return (array.shape, []) }
    return (array.shape, values)
}

@Suite("analyses", .serialized)
struct AnalysisCommandTests {
    let fixture: AnalysisFixture

    init() throws { fixture = try AnalysisFixture.shared.get() }

    struct Bound: Decodable {
        struct Statistic: Decodable { var mean: Double; var standardError: Double }
        var total: Statistic, prior: Statistic, transitions: Statistic, decoder: Statistic
    }

    func evaluate(_ checkpoint: URL, data: [String] = []) throws -> (bound: Bound, perExample: [[Double]], perT: [[Double]]) {
        let out = fixture.folder.appendingPathComponent("evaluation-\(checkpoint.lastPathComponent)")
        let result = try runDDPM(
            [
                "evaluate", "--checkpoint", checkpoint.path, "--split", "train", "--count", "2",
                "--output", out.path, "--threads", "1",
            ] + data)
        #expect(result.status == 0, "\(result.standardError)")
        let bound = try JSONDecoder().decode(Bound.self, from: Data(contentsOf: out.appendingPathComponent("bound.json")))
        return (
            bound, try csvRows(out.appendingPathComponent("bound-per-example.csv")),
            try csvRows(out.appendingPathComponent("bound-per-t.csv"))
        )
    }

    @Test func boundIsTheSumOfItsTermsAndTrainingLowersItBelowRawBytes() throws {
        // Gray images for the untrained model: on black-and-white ones the clipped x̂₀ of even a
        // zero network is right at small t, and its bound is about 5.5 bits/dim.
        let untrained = try evaluate(fixture.untrained, data: ["--data", "deadleaves,size=8,count=2"])
        let trained = try evaluate(fixture.trained)
        for (name, e) in [("untrained", untrained), ("trained", trained)] {
            #expect(e.perT.count == 1000 && e.perExample.count == 2, "\(name): one row per t and per example")
            for row in e.perExample {
                #expect(abs(row[1] + row[2] + row[3] - row[4]) <= 1e-9 * abs(row[4]), "\(name): L_T + Σ L_{t−1} + L₀ = total in \(row)")
            }
            let sumOfMeans = e.bound.prior.mean + e.perT.reduce(0) { $0 + $1[1] }
            #expect(abs(sumOfMeans - e.bound.total.mean) <= 1e-9 * e.bound.total.mean, "\(name): per-t means + L_T = total")
            #expect(abs(e.perT[0][1] - e.bound.decoder.mean) <= 1e-12 * abs(e.bound.decoder.mean), "\(name): t = 1 row is L₀")
        }
        // Zero-initialised output layer: ε̂ = 0, which costs more than the raw bytes (≈ 9 bits/dim).
        #expect(untrained.bound.total.mean > 8, "untrained: \(untrained.bound.total.mean) bits/dim")
        #expect(trained.bound.total.mean < 6, "trained on the two images: \(trained.bound.total.mean) bits/dim, expected well below 8")
    }

    @Test func inpaintingKeepsKnownPixelsAndCompletesTheRest() throws {
        let out = fixture.folder.appendingPathComponent("inpaint")
        let result = try runDDPM([
            "inpaint", "--checkpoint", fixture.trained.path, "--images", fixture.images.map(\.path).joined(separator: ","),
            "--mask", "right", "--completions", "2", "--output", out.path, "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let (shape, values) = try npyFloats(out.appendingPathComponent("inpaint.npy"))
        #expect(shape == [2, 2, 1, 8, 8])
        for image in 0..<2 {
            let original = AnalysisFixture.values(image)
            for completion in 0..<2 {
                let base = (image * 2 + completion) * 64
                for i in 0..<64 where i % 8 < 4 {
                    #expect(values[base + i] == original[i], "image \(image) completion \(completion): known pixel \(i)")
                }
                let unknown = (0..<64).filter { $0 % 8 >= 4 }
                let error = rms(ArraySlice(unknown.map { values[base + $0] }), ArraySlice(unknown.map { original[$0] }))
                #expect(
                    error < 0.5, "image \(image) completion \(completion): the right half differs from the training image by RMS \(error)")
            }
        }
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("inpaint.png").path))
    }

    @Test func denoisingStartsAtTheMatchingNoiseLevel() throws {
        let out = fixture.folder.appendingPathComponent("denoise")
        let result = try runDDPM([
            "inpaint", "--checkpoint", fixture.trained.path, "--images", fixture.images.map(\.path).joined(separator: ","),
            "--mask", "none", "--noise", "0.3", "--completions", "2", "--output", out.path, "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        // √((1−ᾱₜ)/ᾱₜ) = 0.3 at ᾱₜ = 1/1.09; for DDPM's linear schedule that is t = 89.
        #expect(result.standardError.contains("t = 89"), "\(result.standardError)")
        let (shape, values) = try npyFloats(out.appendingPathComponent("inpaint.npy"))
        #expect(shape == [2, 2, 1, 8, 8])
        for image in 0..<2 {
            let error = rms(values[(image * 2) * 64..<(image * 2 + 1) * 64], AnalysisFixture.values(image)[...])
            #expect(error < 0.3, "image \(image): denoised RMS error \(error), the noise's is 0.3")
        }
    }

    @Test func interpolationEndsAreTheInputsFromSmallT() throws {
        let out = fixture.folder.appendingPathComponent("interpolation")
        let result = try runDDPM([
            "interpolate", "--checkpoint", fixture.trained.path, "--images", fixture.images.map(\.path).joined(separator: ","),
            "--times", "1,3", "--lambdas", "3", "--output", out.path, "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let (shape, values) = try npyFloats(out.appendingPathComponent("interpolation.npy"))
        #expect(shape == [2, 3, 1, 8, 8])
        let a = AnalysisFixture.values(0)[...], b = AnalysisFixture.values(1)[...]
        for row in 0..<2 {
            let first = values[(row * 3) * 64..<(row * 3 + 1) * 64], last = values[(row * 3 + 2) * 64..<(row * 3 + 3) * 64]
            #expect(rms(first, a) < 0.1 && rms(last, b) < 0.1, "row \(row): ends \(rms(first, a)), \(rms(last, b)) from the inputs")
            #expect(rms(first, b) > 0.5, "row \(row): λ = 0 must not be the second image")
        }
    }

    @Test func progressivePredictionsSharpenAndCompletionsAgreeAtTOne() throws {
        let out = fixture.folder.appendingPathComponent("progressive")
        let result = try runDDPM([
            "progressive", "--checkpoint", fixture.trained.path, "--count", "2", "--times", "1000,500,1",
            "--completions", "3", "--completion-times", "1000,1", "--output", out.path, "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let (shape, chain) = try npyFloats(out.appendingPathComponent("progressive.npy"))
        #expect(shape == [2, 4, 1, 8, 8])
        for sample in 0..<2 {
            let atOne = chain[(sample * 4 + 2) * 64..<(sample * 4 + 3) * 64], final = chain[(sample * 4 + 3) * 64..<(sample * 4 + 4) * 64]
            #expect(rms(atOne, final) < 1e-5, "sample \(sample): x̂₀ at t = 1 and x₀ differ by \(rms(atOne, final))")
        }
        let (drawShape, draws) = try npyFloats(out.appendingPathComponent("completions.npy"))
        #expect(drawShape == [2, 3, 1, 8, 8])
        // From x₁ the last step adds no noise: every completion is the same; from x_T they vary.
        #expect(draws[192..<256] == draws[256..<320] && draws[256..<320] == draws[320..<384], "completions from a shared x₁")
        #expect(rms(draws[0..<64], draws[64..<128]) + rms(draws[64..<128], draws[128..<192]) > 0.05, "completions from a shared x_T")
    }

    @Test(arguments: [["--sampler", "ddim", "--steps", "10"], ["--sampler", "dpm-solver++", "--steps", "8"]])
    func progressiveAlongAFastSamplersChain(_ sampler: [String]) throws {
        let out = fixture.folder.appendingPathComponent("progressive-\(sampler[1])")
        let result = try runDDPM(
            [
                "progressive", "--checkpoint", fixture.trained.path, "--count", "2", "--times", "1000,500,1", "--output", out.path,
                "--threads", "1",
            ] + sampler)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("no completions with --sampler \(sampler[1])"), "\(result.standardError)")
        #expect(try folderContents(out) == ["progressive.npy", "progressive.png"])
        // Three columns at the chain's steps nearest 1000, 500 and 1, then x₀; the last step's x̂₀
        // is the sample itself (ᾱ before the first step is 1; the solvers end at noise level zero).
        let (shape, chain) = try npyFloats(out.appendingPathComponent("progressive.npy"))
        #expect(shape == [2, 4, 1, 8, 8])
        for sample in 0..<2 {
            let last = chain[(sample * 4 + 2) * 64..<(sample * 4 + 3) * 64], final = chain[(sample * 4 + 3) * 64..<(sample * 4 + 4) * 64]
            let first = chain[(sample * 4) * 64..<(sample * 4 + 1) * 64]
            #expect(rms(last, final) < 0.05, "sample \(sample): x̂₀ at the last step and x₀ differ by \(rms(last, final))")
            #expect(rms(first, final) > rms(last, final), "sample \(sample): x̂₀ does not sharpen along the chain")
        }
        let refused = try runDDPM(["progressive", "--checkpoint", fixture.trained.path, "--completion-times", "500"] + sampler)
        #expect(refused.status == 64 && refused.standardError.contains("need --sampler ancestral"), "\(refused.standardError)")
    }

    @Test func rateGrowsAsTFallsAndDistortionEndsNearZero() throws {
        let out = fixture.folder.appendingPathComponent("rate-distortion")
        let result = try runDDPM([
            "rate-distortion", "--checkpoint", fixture.trained.path, "--split", "train", "--count", "2",
            "--output", out.path, "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let rows = try csvRows(out.appendingPathComponent("rate-distortion.csv"))
        #expect(rows.count == 1000 && rows.first?[0] == 1000 && rows.last?[0] == 1, "rows from t = T to 1")
        for (a, b) in zip(rows, rows.dropFirst()) {
            #expect(b[2] >= a[2], "rate must not fall as t falls: t=\(a[0]) \(a[2]), t=\(b[0]) \(b[2])")
        }
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("rate-distortion.json")))
            as! [String: Double]
        let total = summary["total_bits_per_dim"]!, prior = summary["prior_bits_per_dim"]!
        let sum = prior + rows.reduce(0) { $0 + $1[1] }
        #expect(abs(sum - total) <= 1e-9 * total, "L_T + Σ terms \(sum) = total \(total)")
        #expect(abs(rows.last![2] + rows.last![1] - total) <= 1e-9 * total, "rate at t = 1 plus L₀ is the whole bound")
        #expect(rows.last![3] < 5, "distortion at t = 1: \(rows.last![3]) on the 0–255 scale")
        #expect(rows.first![3] > 20 * rows.last![3], "distortion at t = T \(rows.first![3]) is far above that at t = 1")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("rate-distortion.png").path))
        // The figure again as SVG, its labels in the papers' notation.
        let svg = try String(contentsOf: out.appendingPathComponent("rate-distortion.svg"), encoding: .utf8)
        for text in [FigureText.rateDistortionTitle, FigureText.distortion, FigureText.rate, FigureText.timestep] {
            #expect(svg.contains(">\(text)</text>"), "\(text) missing from rate-distortion.svg")
        }
    }

    @Test func evaluateOnPointsUsesTheContinuousDecoder() throws {
        let run = fixture.folder.appendingPathComponent("roll")
        let train = try runDDPM([
            "train", "--data", "swissroll,count=500", "--output", run.path, "--steps", "200", "--batch-size", "64",
            "--timesteps", "100", "--learning-rate", "1e-3", "--warmup", "10", "--ema-decay", "0.9", "--threads", "1",
        ])
        #expect(train.status == 0, "\(train.standardError)")
        let out = fixture.folder.appendingPathComponent("roll-evaluation")
        let result = try runDDPM([
            "evaluate", "--checkpoint", run.path, "--count", "200", "--batch-size", "200",
            "--output", out.path, "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(
            result.standardOutput.contains("differential entropy") && result.standardOutput.contains("nats per example"),
            "\(result.standardOutput)")
        let bound = try JSONDecoder().decode(Bound.self, from: Data(contentsOf: out.appendingPathComponent("bound.json")))
        // The roll (noise 0.05·scale) has far less entropy than N(0, I) in 2-D (1.42 nats/dim = 2.05 bits/dim):
        // a model that learned anything bounds it well below the standard normal's entropy.
        #expect(bound.total.mean < 2.05, "bound \(bound.total.mean) bits/dim; N(0, I) has 2.05")
        let perExample = try csvRows(out.appendingPathComponent("bound-per-example.csv"))
        #expect(perExample.count == 200)
        for row in perExample { #expect(abs(row[1] + row[2] + row[3] - row[4]) <= 1e-9 * max(1, abs(row[4]))) }
    }

    @Test func badArgumentsGiveClearErrors() throws {
        let missing = try runDDPM(["evaluate", "--checkpoint", fixture.folder.appendingPathComponent("absent").path])
        #expect(missing.status != 0 && missing.standardError.contains("absent"), "\(missing.standardError)")
        let one = try runDDPM(["interpolate", "--checkpoint", fixture.trained.path, "--images", fixture.images[0].path])
        #expect(one.status != 0 && one.standardError.contains("two images"), "\(one.standardError)")
        let mask = try runDDPM(["inpaint", "--checkpoint", fixture.trained.path, "--images", "0", "--mask", "diagonal"])
        #expect(mask.status != 0 && mask.standardError.contains("--mask"), "\(mask.standardError)")
        let times = try runDDPM(["progressive", "--checkpoint", fixture.trained.path, "--times", "2000"])
        #expect(times.status != 0 && times.standardError.contains("--times"), "\(times.standardError)")
        let index = try runDDPM(["interpolate", "--checkpoint", fixture.trained.path, "--images", "0,99", "--split", "train"])
        #expect(index.status != 0 && index.standardError.contains("99"), "\(index.standardError)")
        for (command, sampler) in [("inpaint", "ddim"), ("interpolate", "dpm-solver++")] {
            let refused = try runDDPM([command, "--checkpoint", fixture.trained.path, "--images", "0,1", "--sampler", sampler])
            #expect(
                refused.status == 64 && refused.standardError.contains("--sampler \(sampler): ")
                    && refused.standardError.contains("ancestral"), "\(refused.standardError)")
        }
    }
}
