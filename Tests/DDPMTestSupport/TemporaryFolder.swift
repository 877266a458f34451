// A fresh folder per test under the system's temporary directory.
import Foundation

/// Creates a new, empty folder for one test, named after the test (`name`, by default the calling
/// function) plus a random suffix, so that a failing test's files are easy to find. The folder is
/// left in place for inspection; the system's temporary directory is cleaned by the OS.
public func temporaryFolder(_ name: String = #function) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("ddpm-tests-\(name.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The names of the entries in `folder`, hidden ones included, sorted.
public func folderContents(_ folder: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
}
