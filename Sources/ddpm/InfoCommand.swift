// `ddpm info`: describe a diffusers model folder (configuration and parameter count).
import ArgumentParser
import Foundation
import DDPMModels

/// Loads a diffusers `UNet2DModel` folder (checking the weights against the config) and prints
/// its configuration as pretty JSON and its parameter count.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a diffusers model folder's U-Net configuration and parameter count.",
        discussion: """
            DIR holds config.json (a diffusers UNet2DModel config) and
            diffusion_pytorch_model.safetensors. Every weight is loaded and checked
            against the configuration. Prints the configuration (every key explicit, as
            `diffusers` reads it) as JSON, then the number of parameters.
            """)

    @Argument(help: "A diffusers model folder (config.json + diffusion_pytorch_model.safetensors).")
    var directory: String

    func run() throws {
        let url = URL(fileURLWithPath: directory)
        let model = try CommandFailure.wrap { try DiffusersFolder.load(url) }
        let config = String(decoding: model.configuration.diffusersConfig(), as: UTF8.self)
        var out = "config:\n\(config)\n"
        out += "tensors: \(model.namedParameters.count)\n"
        out += "parameters: \(groupedThousands(model.parameterCount))\n"
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
