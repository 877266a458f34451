// diffusers' DPMSolverMultistepScheduler and UniPCMultistepScheduler reproduced step for step: every
// case of Fixtures/solvers/, written by scripts/reference/make_solver_fixture.py (diffusers 0.42.1,
// the weight-free setup of diffusers' scheduler tests: ε(x, t) = x·t/(t + 1), x_T = arange(768)/768
// as (4, 3, 8, 8), T = 1000, linear β, 10 steps). Tolerance: 1e-5 of max |x| per step, Float64.
import DDPMDiffusion
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTestSupport
import Foundation
import Testing

private let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/solvers")

private func array(_ path: String) throws -> Tensor {
    try NPYFile.read(folder.appendingPathComponent(path)).tensor().converted(to: .float64)
}

/// One case of manifest.json: the scheduler, its settings (diffusers' defaults, the base config,
/// then the case's overrides) and what diffusers computed.
struct SolverCase: CustomStringConvertible, Sendable {
    var name: String
    var scheduler: String
    var algorithm: String?  // DPM: algorithm_type
    var variant: String?  // UniPC: solver_type
    var order: Int
    var velocity: Bool
    var lowerOrderFinal: Bool
    var thresholding: DynamicThresholding?
    var grid: SolverGrid
    var timesteps: [Int]
    var sigmas: [Double]
    var orders: [Int]
    var corrector: [Bool]?
    var file: String
    var usesNoise: Bool
    var maxAbs: [Double]
    var finalMeanAbs: Double
    var description: String { name }

    static func manifest() -> [String: Any] {
        let data = try! Data(contentsOf: folder.appendingPathComponent("manifest.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static let all: [SolverCase] = (manifest()["cases"] as! [[String: Any]]).map { c in
        let o = c["overrides"] as! [String: Any]
        func flag(_ key: String) -> Bool { (o[key] as? NSNumber)?.boolValue ?? false }
        let placement: StepPlacement = flag("use_karras_sigmas") ? .karras : (flag("use_lu_lambdas") ? .logSNR : .uniform)
        return SolverCase(
            name: c["name"] as! String, scheduler: c["scheduler"] as! String, algorithm: o["algorithm_type"] as? String,
            variant: o["solver_type"] as? String, order: (o["solver_order"] as! NSNumber).intValue,
            velocity: (o["prediction_type"] as? String) == "v_prediction", lowerOrderFinal: flag("lower_order_final"),
            thresholding: flag("thresholding")
                ? try! DynamicThresholding(
                    ratio: (o["dynamic_thresholding_ratio"] as! NSNumber).doubleValue,
                    maximum: (o["sample_max_value"] as! NSNumber).doubleValue) : nil,
            grid: SolverGrid(
                placement: placement, spacing: DiffusersScheduler.Spacing(rawValue: o["timestep_spacing"] as? String ?? "linspace")!,
                finalNoise: (o["final_sigmas_type"] as? String) == "zero" ? .zero : .minimum),
            timesteps: (c["timesteps"] as! [NSNumber]).map(\.intValue), sigmas: (c["sigmas"] as! [NSNumber]).map(\.doubleValue),
            orders: (c["orders"] as! [NSNumber]).map(\.intValue), corrector: (c["corrector"] as? [NSNumber])?.map(\.boolValue),
            file: c["file"] as! String, usesNoise: !(c["noise"] is NSNull), maxAbs: (c["max_abs"] as! [NSNumber]).map(\.doubleValue),
            finalMeanAbs: (c["final_mean_abs"] as! NSNumber).doubleValue)
    }

    /// ᾱ of the base config: T = 1000, β = linspace(1e-4, 0.02, 1000).
    static let alphaBar: [Double] = {
        var product = 1.0
        return try! BetaSchedule.linear(start: 1e-4, end: 0.02).betas(stepCount: 1000).map {
            product *= 1 - $0; return product
        }
    }()

    func dpmSolver() throws -> DPMSolver {
        try DPMSolver(
            alphaBar: Self.alphaBar, prediction: velocity ? .velocity : .noise, algorithm: DPMSolver.Algorithm(rawValue: algorithm!)!,
            order: order, lowerOrderFinal: lowerOrderFinal, thresholding: thresholding, grid: grid)
    }

    func uniPC() throws -> UniPC {
        try UniPC(
            alphaBar: Self.alphaBar, prediction: velocity ? .velocity : .noise, order: order, variant: UniPC.Variant(rawValue: variant!)!,
            lowerOrderFinal: lowerOrderFinal, thresholding: thresholding, grid: grid)
    }
}

/// diffusers' dummy model of its scheduler tests: ε(x, t) = x·t/(t + 1).
func dummyModel(_ x: Tensor, _ timesteps: [Int]) -> Tensor {
    let t = Double(timesteps[0])
    precondition(timesteps.allSatisfy { $0 == timesteps[0] })
    return x * (t / (t + 1))
}

@Suite("multistep solvers against diffusers, step for step")
struct SolverFixtureTests {
    @Test(
        "every case: timesteps, σ, orders; x after every step within 1e-5 of max |x|; max |x| and mean |x_final| within 1e-12",
        arguments: SolverCase.all)
    func reproducesDiffusers(_ testCase: SolverCase) throws {
        let n = testCase.timesteps.count
        let steps: SolverSteps
        let orders: [Int]
        var after: [Tensor] = []
        let initial = try array("x_T.npy")
        var generator = PhiloxGenerator(seed: 0)
        let final: Tensor
        if testCase.scheduler == "DPMSolverMultistepScheduler" {
            let solver = try testCase.dpmSolver()
            steps = try solver.steps(n)
            orders = solver.orders(count: n)
            let noise = try array("noise.npy").split(sizes: [Int](repeating: 1, count: n), axis: 0).map { $0.reshaped([4, 3, 8, 8]) }
            var asked: [Int] = []
            final = try solver.sample(
                model: dummyModel, initialNoise: initial, steps: n,
                noise: {
                    asked.append($0); return noise[$0]
                },
                generator: &generator
            ) { after.append($0.current) }
            #expect(asked == (testCase.usesNoise ? Array(0..<n) : []), "\(testCase): noise asked for steps \(asked)")
        } else {
            let solver = try testCase.uniPC()
            steps = try solver.steps(n)
            orders = solver.orders(count: n)
            final = try solver.sample(model: dummyModel, initialNoise: initial, steps: n) { after.append($0.current) }
            #expect(testCase.corrector == (0..<n).map { $0 > 0 }, "\(testCase): diffusers corrects steps \(testCase.corrector ?? [])")
        }
        #expect(steps.timesteps == testCase.timesteps, "\(testCase): timesteps")
        expectClose(steps.sigmas, testCase.sigmas, relative: 1e-12, "\(testCase): σ")
        #expect(orders == testCase.orders, "\(testCase): orders")
        after.removeFirst()  // x_T, the first step's input
        after.append(final)
        let reference = try array(testCase.file).split(sizes: [Int](repeating: 1, count: n), axis: 0)
        #expect(after.count == reference.count)
        for (k, (ours, theirs)) in zip(after, reference).enumerated() {
            let expected = theirs.doubles, got = ours.doubles
            let scale = expected.map(abs).max()!
            expectClose(got, expected, relative: 0, absolute: 1e-5 * scale, "\(testCase), after step \(k)")
            let maxAbs = got.map(abs).max()!
            #expect(
                relativeError(maxAbs, testCase.maxAbs[k]) <= 1e-12,
                "\(testCase), after step \(k): max |x| \(maxAbs), diffusers \(testCase.maxAbs[k])")
        }
        let meanAbs = final.doubles.map(abs).reduce(0, +) / Double(final.scalarCount)
        #expect(
            relativeError(meanAbs, testCase.finalMeanAbs) <= 1e-12,
            "\(testCase): mean |x_final| \(meanAbs), diffusers \(testCase.finalMeanAbs)")
        print(
            "\(testCase): largest deviation \(SolverFixtureTests.largestDeviation(after, reference)) of max |x| "
                + "(float32 storage: ≤ 6e-8); mean |x_final| off by \(relativeError(meanAbs, testCase.finalMeanAbs)) relative")
    }

    static func largestDeviation(_ ours: [Tensor], _ theirs: [Tensor]) -> Double {
        zip(ours, theirs).map { a, b in
            let expected = b.doubles
            return zip(a.doubles, expected).map { abs($0 - $1) }.max()! / expected.map(abs).max()!
        }.max()!
    }

    @Test(
        "diffusers' own anchors: mean |x_final| of its scheduler tests (DPM-Solver++ 2M 0.3301, v 0.2251, thresholding 1.1364; UniPC 0.2464, Karras 0.2925, v 0.1014, both 0.1966)"
    )
    func anchors() throws {
        let anchors = SolverCase.manifest()["anchors"] as! [[String: Any]]
        #expect(anchors.count == 7)
        for anchor in anchors {
            let config = anchor["scheduler_config"] as! [String: Any]
            let expected = (anchor["expected_mean_abs"] as! NSNumber).doubleValue
            let prediction: MeanPrediction = (config["prediction_type"] as? String) == "v_prediction" ? .velocity : .noise
            let grid = SolverGrid(
                placement: (config["use_karras_sigmas"] as? NSNumber)?.boolValue == true ? .karras : .uniform, finalNoise: .minimum)
            let final: Tensor
            var generator = PhiloxGenerator(seed: 0)
            if (anchor["test"] as! String).hasPrefix("DPM") {
                let thresholding =
                    (config["thresholding"] as? NSNumber)?.boolValue == true ? try DynamicThresholding(ratio: 0.87, maximum: 0.5) : nil
                final = try DPMSolver(
                    alphaBar: SolverCase.alphaBar, prediction: prediction, order: 2, lowerOrderFinal: false, thresholding: thresholding,
                    grid: grid
                )
                .sample(model: dummyModel, initialNoise: try array("x_T.npy"), steps: 10, generator: &generator)
            } else {
                final = try UniPC(alphaBar: SolverCase.alphaBar, prediction: prediction, grid: grid)
                    .sample(model: dummyModel, initialNoise: try array("x_T.npy"), steps: 10)
            }
            let meanAbs = final.doubles.map(abs).reduce(0, +) / Double(final.scalarCount)
            #expect(abs(meanAbs - expected) < 1e-3, "\(anchor["test"]!): mean |x| \(meanAbs), diffusers' test expects \(expected)")
        }
    }
}
