// Training losses (eq. 14, IDDPM hybrid with the stopped mean gradient), timestep sampling, and the
// `ddpm schedule` command run as a built binary.
import DDPMTestSupport
import DDPMDiffusion
import Foundation
import Testing
import DDPMTensors

@Suite struct LossTests {
    static let schedule = try! DiffusionSchedule(.linear(), stepCount: 1000)

    /// A "model" whose output is a fixed leaf, so gradients can be read per output element.
    static func constantModel(_ output: Tensor) -> DiffusionModel { { _, _ in output } }

    static func batch(_ seed: UInt64, channels: Int) -> (start: Tensor, noise: Tensor, timesteps: [Int], output: Tensor) {
        var g = PhiloxGenerator(seed: seed)
        let start = (Tensor.randomUniform(shape: [4, channels], dtype: .float64, generator: &g) * 2.0 - 1.0)
        let noise = Tensor.randomNormal(shape: [4, channels], dtype: .float64, generator: &g)
        let output = Tensor.randomNormal(shape: [4, 2 * channels], dtype: .float64, generator: &g) * 0.5
        return (start, noise, [0, 1, 499, 999], output)
    }

    @Test(arguments: MeanPrediction.allCases)
    func simpleLossIsMeanSquaredErrorAgainstTheTarget(_ prediction: MeanPrediction) throws {
        let d = try GaussianDiffusion(schedule: Self.schedule, meanPrediction: prediction, varianceKind: .fixedLarge)
        let (start, noise, timesteps, wide) = Self.batch(1, channels: 3)
        let output = wide.sliced(axis: 1, range: 0..<3)
        let losses = try d.trainingLosses(model: Self.constantModel(output), start: start, timesteps: timesteps, noise: noise)
        let target: Tensor
        switch prediction {
        case .noise: target = noise
        case .start: target = start
        case .velocity: target = try d.velocity(start: start, noise: noise, timesteps: timesteps)
        }
        let expected = (target - output).squared().mean(axes: [1]).doubles
        expectClose(losses.loss.doubles, expected, relative: 1e-12, absolute: 1e-12 * 1e-12, "\(prediction) L_simple")
    }

    @Test func hybridLossStopsTheMeanGradientInTheBoundTerm() throws {
        let lambda = 0.001
        let hybrid = try GaussianDiffusion(schedule: Self.schedule, varianceKind: .learnedRange, lossKind: .hybrid(lambda: lambda))
        let simple = try GaussianDiffusion(schedule: Self.schedule, varianceKind: .learnedRange, lossKind: .simple)
        let vlb = try GaussianDiffusion(schedule: Self.schedule, varianceKind: .learnedRange, lossKind: .vlb)
        let (start, noise, timesteps, output) = Self.batch(2, channels: 2)
        func gradient(_ d: GaussianDiffusion) throws -> (losses: TrainingLosses, grad: [Double]) {
            let leaf = output.requiringGradient()
            let losses = try d.trainingLosses(model: Self.constantModel(leaf), start: start, timesteps: timesteps, noise: noise)
            return (losses, gradients(of: losses.loss.sum(), withRespectTo: [leaf])[0].doubles)
        }
        let (h, hg) = try gradient(hybrid)
        let (_, sg) = try gradient(simple)
        let (v, vg) = try gradient(vlb)
        // Loss value: L_simple + λ · T · L_{t−1}.
        let expected = zip(h.meanSquaredError!.doubles, h.boundTerm!.doubles).map { $0 + lambda * 1000 * $1 }
        expectClose(h.loss.doubles, expected, relative: 1e-12, absolute: 1e-12 * 1e-12, "hybrid loss value")
        expectClose(
            h.boundTerm!.doubles, v.boundTerm!.doubles, relative: 1e-12, absolute: 1e-12 * 1e-12,
            "the bound term's value is the same with a detached mean")
        for b in 0..<4 {
            for c in 0..<4 {
                let i = b * 4 + c
                if c < 2 {  // mean part: only L_simple's gradient
                    #expect(
                        abs(hg[i] - sg[i]) < 1e-12, "example \(b) mean channel \(c): hybrid gradient \(hg[i]) ≠ L_simple gradient \(sg[i])")
                    if timesteps[b] > 0 { #expect(vg[i] != 0, "example \(b) mean channel \(c): the full bound trains the mean") }
                } else {  // variance part: λ T × the bound's gradient
                    #expect(sg[i] == 0, "L_simple does not train v")
                    #expect(abs(hg[i] - lambda * vg[i]) <= 1e-9 * max(1, abs(hg[i])), "example \(b) v channel \(c): \(hg[i]) vs λ·\(vg[i])")
                    #expect(hg[i] != 0, "example \(b) v channel \(c): the hybrid loss trains v")
                }
            }
        }
    }

    @Test func boundTermAtTOneIsTheDecoderNLL() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule, varianceKind: .fixedSmall)
        let pixels: [Double] = [0, 1, 128, 254, 255, 3]
        let start = Tensor(pixels.map { $0 / 127.5 - 1 }, shape: [1, 6], dtype: .float64)
        let current = try d.sampleForward(start: start, timesteps: [0], noise: Tensor(repeating: 0.2, shape: [1, 6], dtype: .float64))
        let reverse = try d.reverseStep(model: { x, _ in x * 0.1 }, current: current, timesteps: [0])
        let bits = try d.boundTerm(start: start, current: current, timesteps: [0], reverse: reverse).item
        let nll = -discretizedGaussianLogLikelihood(start, mean: reverse.mean, logVariance: reverse.logVariance).doubles.reduce(0, +)
        #expect(abs(bits - nll / (6 * log(2.0))) < 1e-12, "L₀ in bits/dim: \(bits) vs \(nll / (6 * log(2.0)))")
    }
}

@Suite struct TimestepSamplerTests {
    @Test func uniformSamplingCoversAllTimestepsWithUnitWeights() throws {
        let sampler = try TimestepSampler(stepCount: 10)
        var g = PhiloxGenerator(seed: 1)
        let (t, w) = sampler.sample(batchSize: 5000, generator: &g)
        #expect(w.allSatisfy { $0 == 1 })
        for i in 0..<10 {
            let share = Double(t.filter { $0 == i }.count) / 5000
            #expect(abs(share - 0.1) < 0.02, "timestep \(i): share \(share)")
        }
    }

    @Test func lossAwareSamplingFollowsTheRootMeanSquareLoss() throws {
        var sampler = try TimestepSampler(stepCount: 4, strategy: .lossAware(historyLength: 3, uniformProbability: 0.0))
        #expect(sampler.probabilities == [0.25, 0.25, 0.25, 0.25], "uniform until every history is full")
        let rms: [Double] = [1, 2, 3, 4]
        for _ in 0..<3 { try sampler.record(timesteps: [0, 1, 2, 3], losses: rms) }
        expectClose(sampler.probabilities, rms.map { $0 / 10 }, relative: 1e-12, absolute: 1e-12 * 1e-12, "p ∝ √E[L²]")
        var g = PhiloxGenerator(seed: 2)
        let (t, w) = sampler.sample(batchSize: 20000, generator: &g)
        let meanWeight = w.reduce(0, +) / Double(w.count)
        #expect(abs(meanWeight - 1) < 0.05, "importance weights average to 1, got \(meanWeight)")
        let share3 = Double(t.filter { $0 == 3 }.count) / 20000
        #expect(abs(share3 - 0.4) < 0.02, "timestep 3 drawn with p = 0.4, got \(share3)")
        #expect(throws: DiffusionError.timestepOutOfRange(timestep: 4, stepCount: 4)) { try sampler.record(timesteps: [4], losses: [1]) }
    }
}

/// Runs `ddpm schedule arguments…`.
func runDDPMSchedule(_ arguments: [String]) throws -> CommandResult {
    try runDDPM(["schedule"] + arguments)
}

@Suite(.enabled(if: ddpmIsBuilt, "the ddpm binary is built next to the tests"))
struct ScheduleCommandTests {
    @Test(arguments: ["linear", "cosine"])
    func csvRowsMatchTheLibrary(_ name: String) throws {
        let r = try runDDPMSchedule(["--schedule", name, "--steps", "10", "--format", "csv"])
        #expect(r.status == 0, "\(name): \(r.standardError)")
        let lines = r.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.count == 11, "\(name): header + 10 rows, got \(lines.count)")
        let schedule = try DiffusionSchedule(name == "linear" ? .linear() : .cosine(), stepCount: 10)
        let header = lines[0].split(separator: ",").map(String.init)
        #expect(header == ["t"] + schedule.namedTables.map(\.key))
        for (row, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: ",").map(String.init)
            #expect(fields[0] == String(row + 1), "\(name): t is 1-based")
            for (column, (key, table)) in schedule.namedTables.enumerated() {
                #expect(Double(fields[column + 1]) == table[row], "\(name) t=\(row + 1) \(key): \(fields[column + 1]) vs \(table[row])")
            }
        }
    }

    @Test func jsonOutputParses() throws {
        let r = try runDDPMSchedule(["--schedule", "cosine", "--steps", "5", "--format", "json"])
        #expect(r.status == 0, "\(r.standardError)")
        let object = try JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any]
        let rows = object?["rows"] as? [[String: Any]]
        #expect(rows?.count == 5)
        #expect(rows?.last?["t"] as? Int == 5)
        #expect(rows?.last?["beta"] as? Double == 0.999)
    }

    @Test(arguments: [
        (["--schedule", "quadratic"], "quadratic"), (["--steps", "0"], "at least 1"),
        (["--format", "xml"], "xml"), (["--beta-end", "1.5"], "β_end"),
    ])
    func badFlagsFailWithAClearMessage(_ arguments: [String], _ phrase: String) throws {
        let r = try runDDPMSchedule(arguments)
        #expect(r.status != 0, "\(arguments): should fail")
        #expect(r.standardError.contains(phrase), "\(arguments): message \"\(r.standardError)\" should mention \"\(phrase)\"")
    }
}

@Suite struct FixtureReport {
    @Test func fixtureNamesItsScriptSeedAndTolerance() {
        let f = ReferenceFixture.shared
        #expect(f.script == "scripts/reference/diffusion_reference.py")
        #expect(f.seed == 20200619 && f.tolerance == 1e-6)
    }
}
