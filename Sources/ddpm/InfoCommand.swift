// `ddpm info`: describe a diffusers model folder (configuration, parameter count, the process).
import ArgumentParser
import Foundation
import DDPMModels
import DDPMTraining

/// Loads a diffusers folder (checking the weights against the config) and prints its U-Net
/// configuration as pretty JSON, its parameter count and the diffusion process sampling will run.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a diffusers model's U-Net configuration, parameter count and diffusion process.",
        discussion: """
            DIR is a diffusers pipeline folder (model_index.json, unet/, scheduler/) or a
            model folder (config.json + diffusion_pytorch_model.safetensors, with
            scheduler_config.json beside it or in ../scheduler/). Every weight is loaded
            and checked against the configuration. Prints the configuration (every key
            explicit, as `diffusers` reads it) as JSON, the number of parameters, and the
            process that sampling runs, as the scheduler config says it.
            """)

    @Argument(help: "A diffusers pipeline or model folder.", completion: .directory)
    var directory: String

    func run() throws {
        let url = URL(fileURLWithPath: directory)
        guard try CommandFailure.wrap({ try DiffusersLayout(url) }) != nil else {
            throw CommandFailure(
                "\(url.path): not a diffusers folder (no \(DiffusersLayout.indexName) or \(DiffusersFolder.configName)); "
                    + "ddpm info describes diffusers pipeline and model folders.")
        }
        let trained = try CommandFailure.wrap { try TrainedModel.load(url) }
        guard let model = trained.network as? UNet, let scheduler = trained.scheduler else {
            throw CommandFailure("\(url.path): not a diffusers model.")
        }
        for warning in trained.warnings { note("warning: \(warning)") }
        let config = String(decoding: model.configuration.diffusersConfig(), as: UTF8.self)
        var out = "config:\n\(config)\n"
        out += "tensors: \(model.namedParameters.count)\n"
        out += "parameters: \(groupedThousands(model.parameterCount))\n"
        out += "process:\n\(scheduler)\n"
        if let solver = trained.solver {
            let grid = solver.grid
            out += "default sampler: \(solver.solver.rawValue): algorithm \(solver.algorithm.rawValue), order \(solver.order)"
            out += solver.solver == .uniPCMultistep ? ", \(solver.variant.rawValue)" : ""
            out += ", lower-order final steps \(solver.lowerOrderFinal ? "on" : "off"), placement \(grid.placement.rawValue), "
            out += "final noise \(grid.finalNoise.rawValue)\(grid.minimumLogSNR > -.infinity ? ", λ ≥ \(grid.minimumLogSNR)" : "")\n"
        }
        writeStandardOutput(out)
    }
}

/// 45259 → "45,259".
func groupedThousands(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var groups: [Substring] = []
    var end = digits.endIndex
    while end > digits.startIndex {
        let start = digits.index(end, offsetBy: -3, limitedBy: digits.startIndex) ?? digits.startIndex
        groups.insert(digits[start..<end], at: 0)
        end = start
    }
    return (n < 0 ? "-" : "") + groups.joined(separator: ",")
}

/// A failure reported to the user as one line naming the file or flag; the tool exits non-zero.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }

    /// Runs `body`, turning the library's file errors into `CommandFailure`s with their messages.
    static func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DiffusersFolderError {
            throw CommandFailure(error.description)
        } catch let error as CustomStringConvertible where !(error is CommandFailure) {
            throw CommandFailure(error.description)
        }
    }
}
