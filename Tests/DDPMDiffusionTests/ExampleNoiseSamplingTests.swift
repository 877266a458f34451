// Samplers and the bound drawing from one generator per example: a sample (or an example's bound) is
// the same whether it is computed alone or in a batch, with a per-example model in Float64.
import DDPMDiffusion
import DDPMTensors
import Testing

@Suite struct ExampleNoiseSamplingTests {
    static let schedule = try! DiffusionSchedule(.linear(), stepCount: 100)
    var model: DiffusionModel { optimalNoisePredictor(mean: 0.3, std: 0.5, schedule: Self.schedule) }

    /// Row i of `batch(ExampleNoise(seed: 9, examples: 0..<4))` against `batch` of example i alone.
    func expectRowsAlone(_ label: String, _ draw: (inout ExampleNoise, Int) throws -> Tensor) throws {
        var all = ExampleNoise(seed: 9, examples: 0..<4)
        let together = try draw(&all, 4).doubles
        let row = together.count / 4
        for i in 0..<4 {
            var one = ExampleNoise(seed: 9, examples: i..<i + 1)
            let alone = try draw(&one, 1).doubles
            #expect(Array(together[i * row..<(i + 1) * row]) == alone, "\(label): sample \(i) differs in a batch of 4")
        }
        #expect(Array(together[0..<row]) != Array(together[row..<2 * row]), "\(label): the examples draw the same noise")
    }

    @Test func gaussianSamplersGiveEachSampleItsOwnNoise() throws {
        let d = try GaussianDiffusion(schedule: Self.schedule, meanPrediction: .noise, varianceKind: .fixedLarge)
        try expectRowsAlone("ancestral") { noise, n in
            try d.sampleAncestral(model: model, shape: [n, 3], dtype: .float64, generator: &noise)
        }
        let ddim = try d.respaced(.ddim(count: 10))
        try expectRowsAlone("DDIM η = 1") { noise, n in
            try ddim.sampleDDIM(model: model, shape: [n, 3], dtype: .float64, eta: 1, generator: &noise)
        }
        try expectRowsAlone("variational bound") { noise, n in
            let start = Tensor((0..<(n * 3)).map { Double($0 % 3) / 3 - 0.4 }, shape: [n, 3], dtype: .float64)  // every row alike
            return try d.variationalBound(model: model, start: start, generator: &noise).terms
        }
    }

    @Test func binomialSamplingGivesEachSampleItsOwnCoinFlips() throws {
        let d = try BinomialDiffusion(schedule: .reciprocal, stepCount: 20)
        let half: DiffusionModel = { x, _ in x * 0.0 }
        try expectRowsAlone("binomial ancestral") { noise, n in
            try d.sampleAncestral(model: half, shape: [n, 16], dtype: .float64, generator: &noise)
        }
    }
}
