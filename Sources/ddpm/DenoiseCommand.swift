// `ddpm denoise`: run a diffusers U-Net once on a batch from an NPY file.
import ArgumentParser
import Foundation
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTraining

/// One forward pass of the network f_θ(x, t) — for DDPM the predicted noise ε — on a float32
/// NCHW batch, at one timestep for the whole batch.
struct DenoiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "denoise",
        abstract: "Run a diffusers U-Net once on an NPY batch and write its output (the predicted noise) as NPY.",
        discussion: """
            --input is a float32 (or float64) NPY array of shape [N, C, H, W] with C, H
            and W from the model's config.json. --timestep is the 0-based index (0 is the
            paper's t = 1) and applies to every example. The output, float32 [N,
            out_channels, H, W], is written atomically; on any error nothing is written.
            """)

    @Option(help: "A diffusers model folder (config.json + diffusion_pytorch_model.safetensors).")
    var checkpoint: String

    @Option(help: "Input batch: NPY, float32, shape [N, C, H, W].")
    var input: String

    @Option(help: "Timestep index, 0-based (0 is the paper's t = 1), for the whole batch.")
    var timestep: Int

    @Option(help: "Where to write the output NPY (float32).")
    var output: String

    @OptionGroup var threads: ComputeOptions

    func validate() throws {
        guard timestep >= 0 else { throw ValidationError("--timestep must be a 0-based index (0 or more), got \(timestep).") }
    }

    func run() throws {
        try threads.apply()
        let folder = URL(fileURLWithPath: checkpoint)
        let inputURL = URL(fileURLWithPath: input)
        let outputURL = URL(fileURLWithPath: output)

        // Check everything before the forward pass, so a bad argument costs nothing and writes nothing.
        let outputFolder = outputURL.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: outputFolder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure("--output \(outputURL.path): the folder \(outputFolder.path) does not exist.")
        }
        guard let layout = try CommandFailure.wrap("--checkpoint \(folder.path): ", { try DiffusersLayout(folder) }) else {
            throw CommandFailure(
                "--checkpoint \(folder.path): not a diffusers folder (no \(DiffusersLayout.indexName) or \(DiffusersFolder.configName)).")
        }
        let configuration = try CommandFailure.wrap { try DiffusersFolder.configuration(at: layout.unet) }
        let steps = try CommandFailure.wrap("") { try layout.trainingSteps() }
        guard timestep < steps else {
            throw CommandFailure("--timestep \(timestep) is out of range: the model was trained with \(steps) steps, so 0…\(steps - 1).")
        }
        let array: NPYArray
        do {
            array = try NPYFile.read(inputURL)
        } catch {
            throw CommandFailure("--input: \(error)")
        }
        let expected = [configuration.inChannels, configuration.sampleSize, configuration.sampleSize]
        guard array.shape.count == 4, array.shape[0] >= 1, Array(array.shape.dropFirst()) == expected else {
            throw CommandFailure(
                "--input \(inputURL.path): shape \(array.shape) does not fit the model; expected [N, "
                    + expected.map(String.init).joined(separator: ", ") + "] (N ≥ 1, NCHW, from \(DiffusersFolder.configName)).")
        }
        switch array.elements {
        case .float32, .float64: break
        default:
            throw CommandFailure("--input \(inputURL.path): dtype \(array.elements.descr) is not supported; expected float32 (<f4).")
        }
        let x = array.tensor().converted(to: .float32)
        guard x.floats.allSatisfy(\.isFinite) else {
            throw CommandFailure("--input \(inputURL.path): the array holds NaN or infinite values.")
        }

        let model = try CommandFailure.wrap { try DiffusersFolder.load(layout.unet) }
        let batch = array.shape[0]
        let start = Date()
        let y = model(x, timesteps: Array(repeating: timestep, count: batch), mode: .evaluation)
        note(String(format: "denoise: %d × %@ at timestep %d in %.2f s", batch, "\(expected)", timestep, Date().timeIntervalSince(start)))
        try CommandFailure.wrap { try NPYFile.write(y.converted(to: .float32), to: outputURL) }
        note("wrote \(outputURL.path) \(y.shape)")
    }
}
