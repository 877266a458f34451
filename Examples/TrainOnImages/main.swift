// Trains a small U-Net on a folder of PNG images with the libraries alone, saves a checkpoint,
// reloads it and writes a grid of samples (README, "Using the libraries").
//
//     swift run -c release TrainOnImages PNG-FOLDER OUTPUT-FOLDER [STEPS]
import DDPMDatasets
import Foundation
import DDPMImaging
import DDPMTensors
import DDPMTraining

let arguments = CommandLine.arguments
guard arguments.count >= 3, arguments.count == 3 || Int(arguments[3]) != nil else {
    print("usage: TrainOnImages PNG-FOLDER OUTPUT-FOLDER [STEPS]")
    exit(2)
}
let data = "png:\(arguments[1]),size=16,channels=1"  // centre-cropped, resized to 16×16, gray
let output = URL(fileURLWithPath: arguments[2])
let steps = arguments.count > 3 ? Int(arguments[3])! : 300

do {
    // 1. The run's settings: DDPM's Gaussian diffusion (linear β, T = 1000, ε-prediction,
    //    L_simple) and the tiny U-Net; everything else from DDPM, except a short-run optimiser.
    let dataset = try TrainingRun.loadData(data, seed: 0)
    var configuration = try TrainingConfiguration(
        data: data, exampleShape: dataset.exampleShape, architecture: .tiny,
        process: ProcessConfiguration(kind: .gaussian), steps: steps)
    configuration.batchSize = 16
    configuration.optimizer = OptimizerConfiguration(learningRate: 1e-3, warmupSteps: 50)
    configuration.ema = EMAConfiguration(decay: 0.999, warmup: true)

    // 2. Algorithm 1, step by step, then a checkpoint (run.json, log.jsonl, checkpoint/).
    let run = try TrainingRun.start(configuration, dataset: dataset, in: output)
    while !run.isFinished {
        let report = try run.step()
        if report.step % 50 == 0 { print("step \(report.step): loss \(report.loss)") }
    }
    try run.saveCheckpoint()

    // 3. Reload the EMA weights and draw 16 samples (ancestral sampling over 100 respaced steps).
    let trained = try TrainedModel.load(output)
    var generator = PhiloxGenerator(seed: 1)
    let samples = try trained.process.samplesForDisplay(
        model: trained.model, shape: [16] + trained.exampleShape, maxSteps: 100, generator: &generator)
    let url = output.appendingPathComponent("samples.png")
    try RasterImage.grid(rasterImages(samples, scale: 2)).writePNG(to: url)
    print("wrote \(url.path)")
} catch {
    print("error: \(error)")
    exit(1)
}
