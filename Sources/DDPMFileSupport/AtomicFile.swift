// Atomic file replacement: write a temporary file in the same folder, fsync it, rename, fsync the folder.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file that could not be written: the file and the failing system call with its error.
package struct FileWriteError: Error, CustomStringConvertible, Equatable {
    package var url: URL
    package var reason: String

    package var description: String {
        "\(url.path): cannot write file (\(reason)); check that the folder exists, is writable and the disk is not full."
    }
}

/// Writes files so that a reader sees either the old file or the complete new one, never a
/// partial write, even after a crash or power loss.
///
/// The steps (POSIX): create `.<name>.tmp-<pid>-<n>` in the destination's folder (same file
/// system, so `rename(2)` is atomic), write all bytes, `fsync(2)` the file, `rename(2)` it over
/// the destination, then `fsync(2)` the folder so the new directory entry is durable. On any
/// failure the temporary file is removed. Every writer in `Imaging` and `Datasets` goes through here.
package enum AtomicFile {
    nonisolated(unsafe) private static var counter = 0
    private static let lock = NSLock()

    /// Removes the temporary files that writes into `folder` left behind when their process was
    /// killed before the rename (`.<name>.tmp-<pid>-<n>`); the finished files are untouched.
    package static func removeTemporaries(in folder: URL) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
            try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    /// Atomically replaces (or creates) the file at `url` with `bytes`.
    /// - Throws: `FileWriteError` naming the file and the failing system call.
    package static func write(_ bytes: [UInt8], to url: URL) throws {
        try bytes.withUnsafeBytes { try write(UnsafeRawBufferPointer($0), to: url) }
    }

    /// Atomically replaces (or creates) the file at `url` with `data`.
    package static func write(_ data: Data, to url: URL) throws {
        try data.withUnsafeBytes { try write($0, to: url) }
    }

    /// Atomically replaces (or creates) the file at `url` with the bytes in `buffer`.
    package static func write(_ buffer: UnsafeRawBufferPointer, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        let n: Int = lock.withLock {
            counter += 1; return counter
        }
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(n)")
        func failure(_ call: String, _ number: Int32 = errno) -> FileWriteError {
            FileWriteError(url: url, reason: "\(call): \(POSIX.errorText(number))")
        }
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("open \(temporary.lastPathComponent)") }
        var ok = false
        defer {
            if !ok { unlink(temporary.path) }
        }
        if let number = POSIX.writeAll(fd, buffer) {
            let error = failure("write", number == 0 ? ENOSPC : number)
            close(fd)
            throw error
        }
        if fsync(fd) != 0 {
            let error = failure("fsync")
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw failure("close") }
        if let reason = POSIX.rename(temporary.path, url.path) { throw FileWriteError(url: url, reason: "rename: \(reason)") }
        ok = true
        POSIX.syncFolder(folder.path)
    }

    /// Renames `source` over `destination` (`rename(2)`, atomic on one file system) and syncs the
    /// destination's folder, so that the switch survives a crash.
    package static func rename(_ source: URL, to destination: URL) throws {
        if let reason = POSIX.rename(source.path, destination.path) {
            throw FileWriteError(url: destination, reason: "rename: \(reason)")
        }
        POSIX.syncFolder(destination.deletingLastPathComponent().path)
    }
}
