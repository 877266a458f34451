// Atomic file replacement: write a temporary file in the same folder, fsync it, rename, fsync the folder.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes files so that a reader sees either the old file or the complete new one, never a
/// partial write, even after a crash or power loss.
///
/// The steps (POSIX): create `.<name>.tmp-<pid>-<n>` in the destination's folder (same file
/// system, so `rename(2)` is atomic), write all bytes, `fsync(2)` the file, `rename(2)` it over
/// the destination, then `fsync(2)` the folder so the new directory entry is durable. On any
/// failure the temporary file is removed. Every writer in `Imaging` and `Datasets` goes through here.
public enum AtomicFile {
    nonisolated(unsafe) private static var counter = 0
    private static let lock = NSLock()

    /// Atomically replaces (or creates) the file at `url` with `bytes`.
    /// - Throws: `ImagingError.cannotWrite` naming the file and the failing system call.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try bytes.withUnsafeBytes { try write(UnsafeRawBufferPointer($0), to: url) }
    }

    /// Atomically replaces (or creates) the file at `url` with `data`.
    public static func write(_ data: Data, to url: URL) throws {
        try data.withUnsafeBytes { try write($0, to: url) }
    }

    /// Atomically replaces (or creates) the file at `url` with the bytes in `buffer`.
    public static func write(_ buffer: UnsafeRawBufferPointer, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        let n: Int = lock.withLock { counter += 1; return counter }
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(n)")
        func failure(_ call: String) -> ImagingError {
            .cannotWrite(url, reason: "\(call): \(String(cString: strerror(errno)))")
        }
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("open \(temporary.lastPathComponent)") }
        var ok = false
        defer {
            if !ok { unlink(temporary.path) }
        }
        var offset = 0
        while offset < buffer.count {
            let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                let error = failure("write")
                close(fd)
                throw error
            }
            offset += written
        }
        if fsync(fd) != 0 {
            let error = failure("fsync")
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw failure("close") }
        guard rename(temporary.path, url.path) == 0 else { throw failure("rename") }
        ok = true
        let dirfd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)  // best effort: some file systems refuse fsync on folders
            close(dirfd)
        }
    }
}
