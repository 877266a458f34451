// The few POSIX calls the package makes directly, with one spelling on Linux (Glibc) and Darwin.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over the POSIX calls used for durable files, output and signals, so that the
/// libraries never name the platform's C module.
package enum POSIX {
    /// Writes all of `buffer` to `descriptor`, retrying after `EINTR` and short writes.
    /// - Returns: `nil` when every byte was written, else the `errno` of the failing call
    ///   (`0` when the descriptor accepted no bytes).
    package static func writeAll(_ descriptor: Int32, _ buffer: UnsafeRawBufferPointer) -> Int32? {
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if written == 0 { return 0 }
            offset += written
        }
        return nil
    }

    /// `rename(2)`: atomically replaces `destination` by `source` (same file system).
    /// - Returns: `nil` on success, else the error text.
    package static func rename(_ source: String, _ destination: String) -> String? {
        #if canImport(Glibc)
        let status = Glibc.rename(source, destination)
        #else
        let status = Darwin.rename(source, destination)
        #endif
        return status == 0 ? nil : errorText()
    }

    /// `fsync(2)` of a folder, so that entries created or renamed in it are durable. Best effort:
    /// some file systems refuse to sync folders.
    package static func syncFolder(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor >= 0 {
            _ = fsync(descriptor)
            close(descriptor)
        }
    }

    /// Sets the disposition of `signal` (`SIG_IGN` or `SIG_DFL`).
    package static func setDisposition(of signal: Int32, ignore: Bool) {
        #if canImport(Glibc)
        _ = Glibc.signal(signal, ignore ? SIG_IGN : SIG_DFL)
        #else
        _ = Darwin.signal(signal, ignore ? SIG_IGN : SIG_DFL)
        #endif
    }

    /// `strerror(errno)`, or of the given error number.
    package static func errorText(_ number: Int32 = errno) -> String {
        String(cString: strerror(number))
    }
}
