// Toy 2-D data and dead leaves: documented moments, determinism from the seed.
import DDPMDatasets
import Foundation
import DDPMTensors
import Testing

@Suite("Generated data")
struct GeneratedDataTests {
    static func moments(_ data: Dataset) -> (mean: (Double, Double), variance: (Double, Double)) {
        guard case let .points(p) = data.examples else { return ((0, 0), (0, 0)) }
        let n = Double(data.count)
        let xs = stride(from: 0, to: p.count, by: 2).map { Double(p[$0]) }
        let ys = stride(from: 1, to: p.count, by: 2).map { Double(p[$0]) }
        let mx = xs.reduce(0, +) / n, my = ys.reduce(0, +) / n
        return ((mx, my), (xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +) / n, ys.map { ($0 - my) * ($0 - my) }.reduce(0, +) / n))
    }

    @Test("swiss roll: mean 0, variances (0.952, 1.048); noise adds its variance", arguments: [0.0, 0.1])
    func swissRoll(noise: Double) {
        var generator = PhiloxGenerator(seed: 1)
        let data = ToyData.swissRoll(count: 20_000, noise: noise, generator: &generator)
        let (mean, variance) = Self.moments(data)
        #expect(abs(mean.0) < 0.03 && abs(mean.1) < 0.03, "mean \(mean)")
        #expect(abs(variance.0 - (ToyData.swissRollVariance.x + noise * noise)) < 0.04, "variance \(variance)")
        #expect(abs(variance.1 - (ToyData.swissRollVariance.y + noise * noise)) < 0.04, "variance \(variance)")
    }

    @Test("swiss roll without noise lies on the spiral r = t / σ with t in [1.5π, 4.5π]")
    func swissRollCurve() {
        var generator = PhiloxGenerator(seed: 2)
        guard case let .points(p) = ToyData.swissRoll(count: 500, generator: &generator).examples else { return }
        for i in 0..<500 {
            let x = Double(p[2 * i]) * ToyData.swissRollScale + ToyData.swissRollMean.x
            let y = Double(p[2 * i + 1]) * ToyData.swissRollScale + ToyData.swissRollMean.y
            let t = (x * x + y * y).squareRoot()
            #expect(t >= 1.5 * Double.pi - 1e-3 && t <= 4.5 * Double.pi + 1e-3)
            #expect(abs(x - t * cos(t)) < 1e-3 && abs(y - t * sin(t)) < 1e-3)
        }
    }

    @Test("8 Gaussians: mean 0, variance 1 + σ², each point near its labelled centre")
    func gaussians() throws {
        var generator = PhiloxGenerator(seed: 3)
        let data = ToyData.gaussianRing(count: 20_000, standardDeviation: 0.1, generator: &generator)
        let (mean, variance) = Self.moments(data)
        #expect(abs(mean.0) < 0.03 && abs(mean.1) < 0.03, "mean \(mean)")
        #expect(abs(variance.0 - 1.01) < 0.04 && abs(variance.1 - 1.01) < 0.04, "variance \(variance)")
        let labels = try #require(data.labels)
        #expect(Set(labels) == Set(0..<8))
        guard case let .points(p) = data.examples else { return }
        for i in 0..<1000 {
            let angle = 2 * Double.pi * Double(labels[i]) / 8
            let dx = Double(p[2 * i]) - 2.0.squareRoot() * cos(angle), dy = Double(p[2 * i + 1]) - 2.0.squareRoot() * sin(angle)
            #expect((dx * dx + dy * dy).squareRoot() < 0.6)
        }
    }

    @Test(
        "same seed, same data; another seed, other data",
        arguments: ["swissroll,count=64,noise=0.05", "gaussians8,count=64", "deadleaves,size=8,count=3"])
    func determinism(spec: String) throws {
        let parsed = try DataSpec(parsing: spec)
        var a = PhiloxGenerator(seed: 42), b = PhiloxGenerator(seed: 42), c = PhiloxGenerator(seed: 43)
        let first = try parsed.load(split: .train, generator: &a)
        #expect(first.examples == (try parsed.load(split: .train, generator: &b)).examples)
        #expect(first.examples != (try parsed.load(split: .train, generator: &c)).examples)
    }

    @Test("dead leaves: radii follow the power law's quantiles; images are piecewise constant and varied")
    func deadLeaves() {
        let model = DeadLeaves(size: 32)
        #expect(abs(model.radius(uniform: 0) - 1) < 1e-12 && abs(model.radius(uniform: 1) - 16) < 1e-9)
        // Median of r^-3 on [1, 16]: (1 − ½(1 − 16⁻²))^(−½).
        let median: Double = pow(1.0 - 0.5 * (1.0 - 1.0 / 256.0), -0.5)
        #expect(abs(model.radius(uniform: 0.5) - median) < 1e-9)
        var generator = PhiloxGenerator(seed: 5)
        let data = model.dataset(count: 4, generator: &generator)
        #expect(data.exampleShape == [1, 32, 32] && data.count == 4)
        guard case let .images(bytes) = data.examples else { return }
        for n in 0..<4 {
            let image = Array(bytes[(n * 1024)..<((n + 1) * 1024)])
            let levels = Set(image).count
            #expect(levels >= 3 && levels < 256, "image \(n): \(levels) grey levels")
            // Occlusion makes neighbours usually equal.
            var same = 0
            for y in 0..<32 {
                for x in 0..<31 where image[y * 32 + x] == image[y * 32 + x + 1] { same += 1 }
            }
            #expect(same > 31 * 32 / 2, "image \(n): only \(same) equal horizontal neighbours")
        }
    }
}
