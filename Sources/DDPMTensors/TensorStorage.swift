// Reference-counted, 64-byte-aligned element buffers behind tensors, recycled through a pool.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A contiguous, 64-byte-aligned buffer of `byteCount` bytes.
///
/// Tensors share a storage until one of them is mutated (copy-on-write). The alignment lets the
/// vector kernels and oneDNN load full cache lines. Freed buffers go back to `BufferPool` and are
/// handed out again for the next request of the same size, so a training loop whose steps
/// allocate the same sizes every time stops asking the system for memory after its first step.
public final class TensorStorage: @unchecked Sendable {
    /// The start of the buffer, 64-byte aligned; valid for `byteCount` bytes while the storage lives.
    public let pointer: UnsafeMutableRawPointer
    /// The buffer's size in bytes (element count × ``DType/byteSize``).
    public let byteCount: Int

    /// A buffer of `byteCount` bytes of uninitialised memory (possibly a recycled buffer from
    /// ``BufferPool`` holding old values).
    public init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = BufferPool.shared.take(byteCount: byteCount)
        TensorStorage.liveBytes.add(byteCount)
    }

    deinit {
        BufferPool.shared.give(pointer, byteCount: byteCount)
        TensorStorage.liveBytes.add(-byteCount)
    }

    /// Bytes held by all live storages in the process (tests use it to check that memory does not
    /// grow over training steps).
    public static let liveBytes = AtomicCounter()
}

/// Free tensor buffers kept by exact size for reuse, up to a limit in all (4 GiB by default;
/// beyond it, freed buffers go back to the system). Small buffers (< 4 KiB) are left to malloc,
/// which recycles them well.
public final class BufferPool: Sendable {
    /// The pool every ``TensorStorage`` takes its buffers from and returns them to.
    public static let shared = BufferPool()

    private struct State {
        var free: [Int: [UInt]] = [:]  // addresses by size
        var cachedBytes = 0
        var limitBytes = 4 << 30
    }

    private let state = Mutex(State())

    /// Bytes of free buffers currently cached (not held by any tensor).
    public var cachedBytes: Int { state.withLock { $0.cachedBytes } }

    /// Sets the most bytes the pool keeps cached; releases cached buffers beyond it, largest
    /// first.
    public func setLimit(bytes: Int) {
        let released: [UInt] = state.withLock { s in
            s.limitBytes = bytes
            var out: [UInt] = []
            while s.cachedBytes > s.limitBytes, let size = s.free.keys.max(), var list = s.free[size], let p = list.popLast() {
                out.append(p)
                s.cachedBytes -= size
                s.free[size] = list.isEmpty ? nil : list
            }
            return out
        }
        released.forEach { free(UnsafeMutableRawPointer(bitPattern: $0)) }
    }

    /// Returns every cached buffer to the system, keeping the limit as it was.
    public func drain() {
        let limit = state.withLock { $0.limitBytes }
        setLimit(bytes: 0)
        state.withLock { $0.limitBytes = limit }
    }

    func take(byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount >= 4096,
            let address = state.withLock({ s -> UInt? in
                guard var list = s.free[byteCount], let address = list.popLast() else { return nil }
                s.free[byteCount] = list.isEmpty ? nil : list
                s.cachedBytes -= byteCount
                return address
            })
        {
            return UnsafeMutableRawPointer(bitPattern: address)!
        }
        var raw: UnsafeMutableRawPointer? = nil
        let status = posix_memalign(&raw, 64, max(byteCount, 64))
        precondition(status == 0 && raw != nil, "TensorStorage: cannot allocate \(byteCount) bytes")
        return raw!
    }

    func give(_ p: UnsafeMutableRawPointer, byteCount: Int) {
        let address = UInt(bitPattern: p)
        let kept =
            byteCount >= 4096
            && state.withLock { s -> Bool in
                guard s.cachedBytes + byteCount <= s.limitBytes else { return false }
                s.free[byteCount, default: []].append(address)
                s.cachedBytes += byteCount
                return true
            }
        if !kept { free(p) }
    }
}

/// A counter that several threads may update (relaxed atomic), e.g. ``TensorStorage/liveBytes``.
public final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)

    func add(_ delta: Int) { value.wrappingAdd(delta, ordering: .relaxed) }

    /// The current value.
    public var current: Int { value.load(ordering: .relaxed) }
}
