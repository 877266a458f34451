// Shared test helpers: the Float64 reference fixture, relative comparisons, and the exact
// ε-predictor of Gaussian data.
import DDPMDiffusion
import Foundation
import Testing
import DDPMTensors

/// Tests/DiffusionTests/Fixtures/diffusion_reference.json, written by
/// scripts/reference/diffusion_reference.py (the file names the script, seed and tolerance).
struct ReferenceFixture: Decodable {
    struct Schedule: Decodable {
        var schedule: String
        var steps: Int
        var t: [Int]
        var tables: [String: [Double]]
    }
    struct Respacing: Decodable {
        var spacing: String
        var count: Int
        var steps: Int
        var kept: [Int]
        var betas: [Double]?
    }
    struct KL: Decodable {
        var mean1: [Double], logVariance1: [Double], mean2: [Double], logVariance2: [Double], kl: [Double]
    }
    struct Decoder: Decodable {
        var pixels: [Int], x: [Double], mean: [Double], logVariance: [Double], logLikelihood: [Double]
    }
    struct Reverse: Decodable, CustomStringConvertible {
        var t: Int, prediction: String, variance: String, clip: Bool
        var start: [Double], noise: [Double], current: [Double]
        var posteriorMean: [Double], posteriorVariance: Double
        var modelMean: [Double], modelVariance: [Double]
        var predictedStart: [Double], mean: [Double], logVariance: [Double]
        var description: String { "t=\(t) \(prediction)/\(variance)\(clip ? "/clip" : "")" }
    }
    struct Prior: Decodable { var start: [Double], bitsPerDim: Double }

    var script: String
    var seed: Int
    var tolerance: Double
    var schedules: [Schedule]
    var respacing: [Respacing]
    var normalKL: KL
    var discretizedLogLikelihood: Decoder
    var reverse: [Reverse]
    var prior: [Prior]

    static let shared: ReferenceFixture = {
        let url = Bundle.module.url(forResource: "diffusion_reference", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(ReferenceFixture.self, from: Data(contentsOf: url))
    }()
}

/// The exact ε-predictor for data x₀ ~ N(m, s²I):
/// ε*(xₜ, t) = E[ε | xₜ] = (xₜ − √ᾱₜ m)·√(1−ᾱₜ) / (ᾱₜ s² + 1 − ᾱₜ), with ᾱ of the original schedule.
func optimalNoisePredictor(mean m: Double, std s: Double, schedule: DiffusionSchedule) -> DiffusionModel {
    { current, timesteps in
        let rank = current.rank
        let shape = [timesteps.count] + [Int](repeating: 1, count: rank - 1)
        let a = timesteps.map { schedule.alphaBar[$0] }
        let shift = Tensor(a.map { $0.squareRoot() * m }, shape: shape, dtype: current.dtype)
        let gain = Tensor(a.map { (1 - $0).squareRoot() / ($0 * s * s + 1 - $0) }, shape: shape, dtype: current.dtype)
        return (current - shift) * gain
    }
}

/// Sample mean and (unbiased) variance.
func moments(_ values: [Double]) -> (mean: Double, variance: Double) {
    let n = Double(values.count)
    let mean = values.reduce(0, +) / n
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
    return (mean, variance)
}
