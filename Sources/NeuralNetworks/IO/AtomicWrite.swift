// Atomic file replacement for tensor files (temp file, fsync, rename, fsync folder), and whole-file reads.
// DUPLICATE of Imaging's `AtomicFile`: NeuralNetworks does not depend on Imaging; unify when the package graph allows.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// File helpers of the tensor formats (internal; named to stay clear of other NeuralNetworks code).
enum TensorFileIO {
    /// Writes `bytes` to `url` so that readers see the old file or the complete new one: a
    /// temporary file in the same folder is written, `fsync`ed and renamed over `url`, then the
    /// folder is `fsync`ed. On failure the temporary file is removed.
    static func atomicWrite(_ bytes: [UInt8], to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UUID().uuidString.prefix(8))")
        func failure(_ call: String) -> TensorFileError { .cannotWrite(url, reason: "\(call): \(String(cString: strerror(errno)))") }
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("open \(temporary.lastPathComponent)") }
        var renamed = false
        defer { if !renamed { unlink(temporary.path) } }
        let result: Int32 = bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return -1
                }
                offset += n
            }
            return 0
        }
        if result != 0 || fsync(fd) != 0 {
            let error = failure(result != 0 ? "write" : "fsync")
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw failure("close") }
        guard rename(temporary.path, url.path) == 0 else { throw failure("rename") }
        renamed = true
        let dirfd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)  // best effort: not every file system syncs folders
            close(dirfd)
        }
    }

    /// All bytes of the file at `url`.
    static func readBytes(_ url: URL) throws -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? error.localizedDescription : "no such file"
            throw TensorFileError.cannotRead(url, reason: reason)
        }
    }
}
