// `ddpm train --fid-every`: FID and KID of EMA samples (DDIM) against the training data, cached reference statistics, lines in log.jsonl.
import DDPMDatasets
import DDPMDiffusion
import DDPMMetrics
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTraining
import Foundation

/// The FID evaluation of a training run: the Inception network, the training data's statistics
/// (computed once and cached in the run folder as fid-reference.npz) and how to draw samples.
struct TrainingFID {
    let network: FIDInceptionV3
    let reference: FeatureStatistics
    /// The features of the first ≤ ``kidReferenceLimit`` reference images, for KID.
    let kidFeatures: [Float]
    let kidCount: Int
    let samples: Int
    let steps: Int
    let referenceCount: Int
    let diffusion: GaussianDiffusion

    /// The cache in the run folder: mu, sigma, kid_features (float32) and count (int64 [1]).
    static let cacheName = "fid-reference.npz"
    /// Reference features kept for KID (2000 × 2048 Float32 = 16 MB).
    static let kidReferenceLimit = 2000
    /// Samples drawn at once.
    static let sampleBatch = 32

    /// One evaluation, a line of log.jsonl.
    struct Entry: Encodable {
        var step: Int
        var fid: Double
        var kidMean: Double?
        var kidStandardDeviation: Double?
        var fidSamples: Int
        var fidSteps: Int
        var fidReferenceImages: Int
        var fidSeconds: Double
    }

    /// Loads the network and the reference statistics (from the cache when it matches
    /// `referenceCount`, else featurising the first `referenceCount` training images and caching them).
    init(run: TrainingRun, weights: URL, samples: Int, steps: Int, referenceCount: Int) throws {
        guard let gaussian = run.trainer.process as? GaussianDiffusion, run.dataset.isImages, !run.dataset.isBinary else {
            throw CommandFailure("--fid-every needs a Gaussian diffusion of images (FID is defined for RGB or gray images).")
        }
        guard steps <= gaussian.stepCount else { throw CommandFailure("--fid-steps \(steps) is more than T = \(gaussian.stepCount).") }
        diffusion = try CommandFailure.wrap("--fid-steps: ") { try gaussian.respaced(.ddim(count: steps)) }
        network = try CommandFailure.wrap("") { try FIDInceptionV3(contentsOf: weights) }
        self.samples = samples
        self.steps = steps
        let count = min(referenceCount, run.dataset.count)
        self.referenceCount = count
        let cache = run.folder.appendingPathComponent(Self.cacheName)
        if let cached = try? NPZFile.read(cache), let (statistics, features, kidCount) = Self.decode(cached), statistics.count == count {
            note("train: FID reference statistics of \(count) training images from \(cache.path)")
            (reference, kidFeatures, self.kidCount) = (statistics, features, kidCount)
            return
        }
        let set = try FIDImageSet.dataset(run.dataset, limit: count, description: "\(run.dataset.name)")
        note("train: FID reference statistics of \(set.description), cached in \(cache.path)")
        let (values, _) = try set.features(network, block: .pool2048, batchSize: 16, label: "fid reference")
        reference = try CommandFailure.wrap("FID reference: ") { try FeatureStatistics(features: values, count: count, dimension: 2048) }
        kidCount = min(count, Self.kidReferenceLimit)
        kidFeatures = Array(values.prefix(kidCount * 2048))
        try CommandFailure.wrap("") {
            try NPZFile.write(
                [
                    ("mu", NPYArray(shape: [2048], elements: .float64(reference.mean))),
                    ("sigma", NPYArray(shape: [2048, 2048], elements: .float64(reference.covariance))),
                    ("kid_features", NPYArray(shape: [kidCount, 2048], elements: .float32(kidFeatures))),
                    ("count", NPYArray(shape: [1], elements: .int64([Int64(count)]))),
                ], to: cache)
        }
    }

    /// The cache's statistics (with their count), KID features and their count, if the file has them all.
    static func decode(_ arrays: [(name: String, array: NPYArray)]) -> (FeatureStatistics, [Float], Int)? {
        func array(_ name: String) -> NPYArray? { arrays.first { $0.name == name }?.array }
        guard case let .float64(mu)? = array("mu")?.elements, case let .float64(sigma)? = array("sigma")?.elements,
            case let .float32(features)? = array("kid_features")?.elements, case let .int64(count)? = array("count")?.elements,
            mu.count == 2048, sigma.count == 2048 * 2048, features.count % 2048 == 0, count.count == 1
        else { return nil }
        return (FeatureStatistics(mean: mu, covariance: sigma, count: Int(count[0])), features, features.count / 2048)
    }

    /// FID and KID of `samples` images drawn with the EMA weights by DDIM (η = 0, `steps` steps),
    /// x_T keyed by the run's seed and step, quantised to bytes as `ddpm sample` saves them.
    func evaluate(_ run: TrainingRun) throws -> Entry {
        let started = Date()
        let trainer = run.trainer, shape = run.configuration.exampleShape
        var unused = PhiloxGenerator(seed: 0)
        let model = run.configuration.model.makeModel(generator: &unused)
        trainer.ema.copy(into: model)
        var generator = PhiloxGenerator(seed: run.configuration.seed ^ (UInt64(trainer.step) &* 0x9E37_79B9_7F4A_7C15) ^ 0xF1D)
        var images: [Tensor] = []
        let progress = Progress("fid samples", total: samples * steps, unit: "steps")
        for first in stride(from: 0, to: samples, by: Self.sampleBatch) {
            let n = min(Self.sampleBatch, samples - first)
            let x = try CommandFailure.wrap("") {
                try diffusion.sampleDDIM(
                    model: { model($0, timesteps: $1, mode: .evaluation) }, shape: [n] + shape, eta: 0, clipStart: true,
                    generator: &generator
                ) { progress.update(first * steps + (steps - $0.index) * n) }
            }
            let (c, h, w) = (shape[0], shape[1], shape[2])
            let values = x.floats
            for i in 0..<n {
                var pixels = [UInt8](repeating: 0, count: h * w * c)
                for k in 0..<c { for p in 0..<(h * w) { pixels[p * c + k] = pixelByte(values[(i * c + k) * h * w + p]) } }
                images.append(FIDImageSet.tensor(pixels, height: h, width: w, channels: c))
            }
        }
        let set = FIDImageSet(description: "samples", count: samples) { images[$0] }
        let (features, _) = try set.features(network, block: .pool2048, batchSize: 16, label: "fid features")
        let statistics = try CommandFailure.wrap("FID: ") { try FeatureStatistics(features: features, count: samples, dimension: 2048) }
        let fid = try CommandFailure.wrap("FID: ") { try FrechetDistance(statistics, reference) }
        let subset = min(KernelInceptionDistance.defaultSubsetSize, samples, kidCount)
        let kid =
            subset >= 2
            ? try? KernelInceptionDistance(features, count: samples, kidFeatures, count: kidCount, dimension: 2048, subsetSize: subset)
            : nil
        return Entry(
            step: trainer.step, fid: fid.value, kidMean: kid?.mean, kidStandardDeviation: kid?.standardDeviation,
            fidSamples: samples, fidSteps: steps, fidReferenceImages: referenceCount, fidSeconds: Date().timeIntervalSince(started))
    }
}
