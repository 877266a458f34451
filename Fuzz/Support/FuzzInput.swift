// What every fuzz target shares: the input as bytes, and as a file for parsers that read a path.
import Foundation

/// One libFuzzer input.
enum FuzzInput {
    /// The input's bytes (libFuzzer may pass a null pointer for an empty input).
    static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// A folder of this process's own (in shared memory when there is some), created on first use.
    static let folder: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: base).appendingPathComponent("ddpm-fuzz-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: FuzzInput.folder) }
        return url
    }()

    /// Writes the input to `name` in `folder` (replacing the last input) and returns its URL.
    static func file(_ data: UnsafePointer<UInt8>?, _ size: Int, named name: String) -> URL {
        let url = folder.appendingPathComponent(name)
        let parent = url.deletingLastPathComponent()
        if parent != folder { try? FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true) }
        _ = FileManager.default.createFile(atPath: url.path, contents: Data(bytes(data, size)))
        return url
    }
}
