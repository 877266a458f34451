// Range checks of every setting, as strict as the matching command-line flags; each error names
// the run.json key.
import DDPMDiffusion
import Foundation
import DDPMModels

extension TrainingConfiguration {
    /// The largest batch a run may ask for (its data alone would be gigabytes for images).
    public static let maximumBatchSize = 65_536
    /// The largest T a run may ask for (every coefficient table has T entries; DDPM uses 1000).
    public static let maximumTimesteps = 100_000

    /// Throws `TrainingError.invalidSetting` naming the first setting out of range.
    public func validate() throws {
        try check(
            formatVersion == Self.currentFormatVersion, "formatVersion",
            "this version reads format \(Self.currentFormatVersion), the file says \(formatVersion).")
        try check((1...Self.maximumBatchSize).contains(batchSize), "batchSize", "must be in 1…\(Self.maximumBatchSize), got \(batchSize).")
        try check(steps >= 1, "steps", "must be at least 1, got \(steps).")
        try check(
            optimizer.learningRate.isFinite && optimizer.learningRate > 0, "optimizer.learningRate",
            "must be a positive number, got \(optimizer.learningRate).")
        try check(optimizer.warmupSteps >= 0, "optimizer.warmupSteps", "must be 0 or more, got \(optimizer.warmupSteps).")
        try check((0..<1).contains(optimizer.beta1), "optimizer.beta1", "must be in [0, 1), got \(optimizer.beta1).")
        try check((0..<1).contains(optimizer.beta2), "optimizer.beta2", "must be in [0, 1), got \(optimizer.beta2).")
        try check(
            optimizer.epsilon.isFinite && optimizer.epsilon > 0, "optimizer.epsilon", "must be a positive number, got \(optimizer.epsilon)."
        )
        try check((0...1).contains(ema.decay), "ema.decay", "must be in [0, 1], got \(ema.decay).")
        if let clip = gradientClipNorm {
            try check(clip.isFinite && clip > 0, "gradientClipNorm", "must be a positive number or absent (no clipping), got \(clip).")
        }
        if let every = checkpointEvery { try check(every >= 1, "checkpointEvery", "must be at least 1, got \(every).") }
        if let keep = keepCheckpoints { try check(keep >= 0, "keepCheckpoints", "must be at least 0, got \(keep).") }
        if let fid {
            try check(fid.every >= 1, "fid.every", "must be at least 1, got \(fid.every).")
            try check(fid.samples >= 2, "fid.samples", "must be at least 2, got \(fid.samples).")
            try check(fid.steps >= 1, "fid.steps", "must be at least 1, got \(fid.steps).")
            try check(fid.referenceCount >= 2, "fid.referenceCount", "must be at least 2, got \(fid.referenceCount).")
        }
        if let every = sampleEvery { try check(every >= 1, "sampleEvery", "must be at least 1, got \(every).") }
        if case .lossAware(let length, let p) = timestepSampling {
            try check(length >= 1, "timestepSampling.historyLength", "must be at least 1, got \(length).")
            try check((0...1).contains(p), "timestepSampling.uniformProbability", "must be in [0, 1], got \(p).")
        }
        try validateProcess()
    }

    private func validateProcess() throws {
        try check(
            (1...Self.maximumTimesteps).contains(process.timesteps), "process.timesteps",
            "must be in 1…\(Self.maximumTimesteps), got \(process.timesteps).")
        switch process.kind {
        case .gaussian:
            guard let gaussian = process.gaussian else {
                throw TrainingError.invalidSetting(
                    key: "process.gaussian", message: "missing: a gaussian process needs its prediction, variance, loss and decoder.")
            }
            try check(
                process.schedule != .reciprocal, "process.schedule",
                "reciprocal (β_T = 1) is binomial diffusion's schedule; Gaussian diffusion needs linear, cosine or custom.")
            if case .hybrid(let lambda) = gaussian.loss {
                try check(lambda.isFinite && lambda >= 0, "process.gaussian.loss.lambda", "must be 0 or more, got \(lambda).")
            }
            let wantsContinuous = exampleShape.count == 1
            try check(
                (gaussian.decoder == .continuous) == wantsContinuous, "process.gaussian.decoder",
                wantsContinuous ? "points are real-valued: use continuous." : "images are 8-bit: use discretized.")
        case .binomial:
            try check(process.gaussian == nil, "process.gaussian", "must be absent for a binomial process.")
            try check(exampleShape.count == 3, "process.kind", "binomial diffusion needs (binarised) image data.")
        }
        do { _ = try process.makeProcess() } catch {
            throw TrainingError.invalidSetting(key: "process.schedule", message: "\(error)")
        }
        if case .unet(let unet) = model {
            if let problem = unet.problem { throw TrainingError.invalidSetting(key: "model.unet", message: problem) }
            let memory = ProcessInfo.processInfo.physicalMemory
            guard let parameters = unet.parameterCount, UInt64(parameters) * 4 <= memory / 2 else {
                throw TrainingError.invalidSetting(
                    key: "model.unet",
                    message: "the network's parameters would need more than half of this machine's "
                        + "\(memory >> 30) GiB of memory (with Adam's moments and the EMA, four copies are kept).")
            }
        }
        let channels = exampleShape[0]
        try check(
            model.outputChannels == (process.doublesOutputChannels ? 2 * channels : channels), "model",
            "the network returns \(model.outputChannels) channels but the process needs "
                + "\(process.doublesOutputChannels ? 2 * channels : channels) for data of shape \(exampleShape).")
    }

    private func check(_ ok: Bool, _ key: String, _ message: @autoclosure () -> String) throws {
        if !ok { throw TrainingError.invalidSetting(key: key, message: message()) }
    }
}
