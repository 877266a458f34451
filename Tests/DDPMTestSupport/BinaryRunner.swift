// Locating and running the executables the package builds (`ddpm`, the example programs).
import Foundation

/// The result of one run of a program.
public struct CommandResult: Sendable {
    /// The exit status (or the signal number, for a process ended by a signal).
    public var status: Int32
    public var standardOutput: String
    public var standardError: String

    public init(status: Int32, standardOutput: String, standardError: String) {
        self.status = status
        self.standardOutput = standardOutput
        self.standardError = standardError
    }
}

/// The build's products folder: the one holding the test bundle, or its parent (SwiftPM on
/// Linux puts `*.xctest` next to the executables).
public let productsFolder: URL = {
    let bundleFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return [bundleFolder, bundleFolder.deletingLastPathComponent()]
        .first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("ddpm").path) } ?? bundleFolder
}()

/// The executable `name` in the build's products folder.
public func builtExecutable(_ name: String) -> URL {
    productsFolder.appendingPathComponent(name)
}

/// The `ddpm` executable of this build.
public let ddpmExecutable = builtExecutable("ddpm")

/// Whether `ddpm` was built next to the tests (test targets that depend on it always have it).
public var ddpmIsBuilt: Bool { FileManager.default.isExecutableFile(atPath: ddpmExecutable.path) }

/// Runs `executable arguments…` to completion with standard input from /dev/null. Output goes to
/// files, so no pipe can fill up and block the child.
public func runProgram(
    _ executable: URL, _ arguments: [String], in directory: URL? = nil, environment: [String: String]? = nil
) throws -> CommandResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ddpm-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return CommandResult(
        status: process.terminationStatus,
        standardOutput: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
        standardError: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// Runs `ddpm arguments…` to completion (see `runProgram`).
public func runDDPM(_ arguments: [String], in directory: URL? = nil) throws -> CommandResult {
    try runProgram(ddpmExecutable, arguments, in: directory)
}
