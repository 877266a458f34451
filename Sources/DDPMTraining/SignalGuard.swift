// Signals that cannot corrupt a computation: every thread blocks the signals this process handles,
// and one dedicated thread receives them with sigwait(2).
import DDPMFileSupport
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Receives SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 on a thread of its own.
///
/// Why: a signal handler runs on whichever thread the kernel picks, on that thread's stack. oneDNN's
/// AVX-512 SGEMM JIT kernels use the stack pointer as a general register while they run (oneDNN
/// issue "Heap corruption caused by signal handling", fixed after 2.6.3), so a handler frame pushed
/// on such a thread lands in the heap: with plain handlers about one Ctrl-C in seven crashed
/// training. Instead, `install()` blocks these signals in the calling thread — call it first in
/// `main`, before any other thread exists, so that every thread created afterwards (OpenMP's
/// workers, Dispatch's, the compute threads) inherits the blocked mask — and starts one thread
/// that waits for them with sigwait(2). No signal handler ever runs, so no frame is ever pushed on
/// a thread that runs JIT kernels. Signals we do not handle keep their default actions, which push
/// no frame either (terminate, stop, continue, ignore). SIGPIPE is ignored, so a closed pipe on
/// standard output or error makes writes fail instead of killing a run before it saves.
///
/// What the signals do:
/// - SIGINT, SIGTERM, SIGHUP: while ``stopsAreHandled``, set ``stopSignal`` (a training loop saves
///   and exits at the end of its step; `ddpm train` exits with 128 + the signal: 130, 143, 129); a
///   second one, or any one while not handled, ends the process with the signal's default action
///   (as if no handler existed).
/// - SIGUSR1: calls ``statusHandler`` (e.g. prints progress), else ignored.
/// - SIGUSR2: requests a checkpoint (``takeCheckpointRequest()``; a training loop saves one and
///   continues).
public enum SignalGuard {
    /// The signals received by the signal thread.
    public static let handledSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2]

    private static let state = GuardState()

    /// Blocks the handled signals in this thread (and so in every thread it creates afterwards) and
    /// starts the signal thread. Idempotent. Call it before any other thread is created.
    public static func install() {
        guard state.markInstalled() else { return }
        var set = sigset_t()
        sigemptyset(&set)
        for signal in handledSignals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        POSIX.setDisposition(of: SIGPIPE, ignore: true)
        let blocked = set
        let thread = Thread { waitForSignals(blocked) }
        thread.name = "signals"
        thread.start()
    }

    /// Whether SIGINT, SIGTERM and SIGHUP request a stop (`stopRequested`) instead of ending the
    /// process.
    public static var stopsAreHandled: Bool {
        get { state.withLock { $0.stopsAreHandled } }
        set { state.withLock { $0.stopsAreHandled = newValue } }
    }

    /// Whether a stop was requested since the last `reset()`.
    public static var stopRequested: Bool { state.withLock { $0.stopSignal != nil } }

    /// The signal that requested the stop (SIGINT, SIGTERM or SIGHUP), if any.
    public static var stopSignal: Int32? { state.withLock { $0.stopSignal } }

    /// Whether a checkpoint was requested (SIGUSR2); reading it clears it.
    public static func takeCheckpointRequest() -> Bool {
        state.withLock { s in
            defer { s.checkpointRequested = false }
            return s.checkpointRequested
        }
    }

    /// Called on the signal thread for SIGUSR1.
    public static var statusHandler: (@Sendable () -> Void)? {
        get { state.withLock { $0.statusHandler } }
        set { state.withLock { $0.statusHandler = newValue } }
    }

    /// Clears the requests.
    public static func reset() {
        state.withLock { s in
            s.stopSignal = nil
            s.checkpointRequested = false
        }
    }

    private static func waitForSignals(_ set: sigset_t) {
        var set = set
        while true {
            var received: Int32 = 0
            guard sigwait(&set, &received) == 0 else { continue }
            switch received {
            case SIGUSR1:
                state.withLock { $0.statusHandler }?()
            case SIGUSR2:
                state.withLock { $0.checkpointRequested = true }
            default:
                let handled = state.withLock { s -> Bool in
                    guard s.stopsAreHandled, s.stopSignal == nil else { return false }
                    s.stopSignal = received
                    return true
                }
                if !handled { endWithDefaultAction(received) }
            }
        }
    }

    /// Ends the process as `signal` would without a handler: default action, unblocked, raised on
    /// this thread.
    private static func endWithDefaultAction(_ signal: Int32) -> Never {
        POSIX.setDisposition(of: signal, ignore: false)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(signal)
        _exit(128 + signal)
    }
}

/// The guard's mutable state behind a lock.
private final class GuardState: @unchecked Sendable {
    struct Values {
        var installed = false
        var stopsAreHandled = false
        var stopSignal: Int32?
        var checkpointRequested = false
        var statusHandler: (@Sendable () -> Void)?
    }

    private let lock = NSLock()
    private var values = Values()

    func withLock<T>(_ body: (inout Values) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&values)
    }

    /// Marks the guard installed; false if it already was.
    func markInstalled() -> Bool {
        withLock { v in
            defer { v.installed = true }
            return !v.installed
        }
    }
}
