// Progress reporting: a redrawn bar on a terminal, plain lines otherwise (logs, CI, pipes).
import DDPMFileSupport
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reports progress of a long loop on standard error.
///
/// On a terminal it redraws one line — `label [#####.....] 40/100 · loss 0.0312 · 12.3 it/s · ETA 0:05`;
/// when standard error is not a terminal it prints a plain line at most every `plainInterval`
/// seconds (and at the end), so logs stay readable.
final class Progress {
    let label: String
    let total: Int
    let isTerminal = isatty(STDERR_FILENO) != 0
    let start = Date()
    var lastPrint = Date.distantPast
    let plainInterval: TimeInterval
    let unit: String
    /// Where this run (re)started: rate and ETA count only the work done since.
    let startedAt: Int

    init(_ label: String, total: Int, unit: String = "it", startingAt: Int = 0, plainInterval: TimeInterval = 10) {
        self.label = label
        self.total = total
        self.unit = unit
        self.startedAt = startingAt
        self.plainInterval = plainInterval
    }

    /// Reports that `done` of `total` are complete, with optional extra fields ("loss 0.03").
    func update(_ done: Int, _ fields: [String] = []) {
        let now = Date()
        let finished = done >= total
        let interval = isTerminal ? 0.1 : plainInterval
        guard finished || now.timeIntervalSince(lastPrint) >= interval else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done - startedAt) / elapsed : 0
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        var parts = ["\(done)/\(total)"] + fields
        parts.append(String(format: "%.2f %@/s", rate, unit))
        parts.append(finished ? "elapsed \(Self.clock(elapsed))" : "ETA \(Self.clock(remaining))")
        if isTerminal {
            let width = 24
            let filled = total > 0 ? min(width, width * done / total) : width
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            writeStandardError("\r\u{1B}[2K\(label) [\(bar)] \(parts.joined(separator: " · "))\(finished ? "\n" : "")")
        } else {
            writeStandardError("\(label): \(parts.joined(separator: " · "))\n")
        }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Writes a line to standard error.
func note(_ message: String) {
    writeStandardError(message + "\n")
}

/// Writes `text` to standard error, ignoring failures: a closed, full or broken standard error
/// loses the text but never stops the program (Foundation's `FileHandle.write` traps instead).
func writeStandardError(_ text: String) {
    writeIgnoringErrors(STDERR_FILENO, text)
}

/// Writes `text` to standard output, ignoring failures (see `writeStandardError`).
func writeStandardOutput(_ text: String) {
    writeIgnoringErrors(STDOUT_FILENO, text)
}

private func writeIgnoringErrors(_ fd: Int32, _ text: String) {
    _ = Array(text.utf8).withUnsafeBytes { POSIX.writeAll(fd, $0) }
}

/// A line of text shared with the signal thread (what SIGUSR1 prints).
final class StatusLine: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String

    init(_ text: String) { value = text }

    var text: String {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
