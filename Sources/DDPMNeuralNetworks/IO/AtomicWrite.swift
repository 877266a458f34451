// Atomic file replacement for tensor files (temp file, fsync, rename, fsync folder), and whole-file reads.
import Foundation
import DDPMFileSupport

/// File access for the tensor formats.
enum TensorFileIO {
    /// Writes `bytes` to `url` atomically (`AtomicFile`: temporary file, fsync, rename,
    /// fsync of the folder), reporting failures as `TensorFileError.cannotWrite`.
    static func atomicWrite(_ bytes: [UInt8], to url: URL) throws {
        do {
            try AtomicFile.write(bytes, to: url)
        } catch let error as FileWriteError {
            throw TensorFileError.cannotWrite(url, reason: error.reason)
        }
    }

    static func readBytes(_ url: URL) throws -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? error.localizedDescription : "no such file"
            throw TensorFileError.cannotRead(url, reason: reason)
        }
    }
}
