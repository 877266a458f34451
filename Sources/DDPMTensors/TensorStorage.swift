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
/// handed out again for a later request of the same size (or of up to half that size), so a training
/// loop whose steps allocate the same sizes every time rarely asks the system for memory after its
/// first step.
public final class TensorStorage: @unchecked Sendable {
    /// The start of the buffer, 64-byte aligned; valid for `byteCount` bytes while the storage lives.
    public let pointer: UnsafeMutableRawPointer
    /// The buffer's size in bytes (element count × ``DType/byteSize``).
    public let byteCount: Int
    /// The size of the pool's buffer behind it (≥ `byteCount`: the pool may hand out a larger one).
    private let capacity: Int

    /// A buffer of `byteCount` bytes of uninitialised memory (possibly a recycled buffer from
    /// ``BufferPool`` holding old values).
    public init(byteCount: Int) {
        self.byteCount = byteCount
        (pointer, capacity) = BufferPool.shared.allocate(byteCount: byteCount)
        TensorStorage.liveBytes.add(byteCount)
    }

    deinit {
        BufferPool.shared.deallocate(pointer, capacity: capacity)
        TensorStorage.liveBytes.add(-byteCount)
    }

    /// Bytes held by all live storages in the process (tests use it to check that memory does not
    /// grow over training steps).
    public static let liveBytes = AtomicCounter()
}

/// Free tensor buffers kept for reuse, under a bound on the memory they take.
///
/// A request takes a cached buffer of its size, else the smallest cached one of up to twice its
/// size, else a new one. Small buffers (< 4 KiB) are left to malloc, which recycles them well;
/// larger ones are anonymous mappings of their own, so releasing one lowers the process's
/// resident memory at once.
///
/// The bound: buffers handed out plus buffers cached never exceed the most the tensors have held
/// at once (the high-water mark of handed-out bytes) times 1 + ``headroom``; to map a new buffer
/// past it, the pool first releases cached ones (the smallest one that makes room, else the
/// largest, again until there is room). Without reuse across sizes and the bound, the pool held for
/// each size the most buffers of that size ever live at once, so a step whose phases peak on
/// different sizes kept every phase's peak. Measured with `ddpm bench` (2 threads), peak resident
/// memory against exact-size reuse with no bound:
///
/// | step | exact sizes | headroom 0.75 (default) | headroom 0.5 |
/// |---|---|---|---|
/// | train `cifar10`, batch 16 | 1578 MiB | 1381 MiB | 1381 MiB |
/// | train `fashion`, batch 64 | 1295 MiB | 1243 MiB | 1243 MiB |
/// | sample `fashion`, batch 64 | 494 MiB | 442 MiB | 421 MiB |
/// | sample `cifar10`, batch 16 | 471 MiB | 458 MiB | 458 MiB |
///
/// At 0.75 no step was measurably slower; below it, buffers released in one phase are mapped
/// again (and page-faulted) in the next, every step: sampling `fashion` took 5 % longer at 0.5.
/// (Huge pages for the mappings made those faults cheaper on average but stalled some runs by
/// 30 % in the kernel's compaction, so they are not used.) Cached bytes are also limited in all
/// (4 GiB by default, ``setLimit(bytes:)``).
public final class BufferPool: Sendable {
    /// The pool every ``TensorStorage`` takes its buffers from and returns them to.
    public static let shared = BufferPool()

    private struct State {
        var free: [Int: [UInt]] = [:]  // addresses by size
        var cachedBytes = 0
        var limitBytes: Int
        var heldBytes = 0  // handed out, pooled sizes only
        var highWaterBytes = 0  // the most heldBytes has been
        var headroom: Double

        /// Removes cached buffers until at most `bytes` stay cached: the smallest buffer that
        /// alone makes enough room, else the largest, repeatedly.
        mutating func release(downTo bytes: Int) -> [(address: UInt, size: Int)] {
            var out: [(address: UInt, size: Int)] = []
            while cachedBytes > bytes {
                let excess = cachedBytes - bytes
                guard let size = free.keys.filter({ $0 >= excess }).min() ?? free.keys.max(),
                    var list = free[size], let address = list.popLast()
                else { break }
                out.append((address, size))
                cachedBytes -= size
                free[size] = list.isEmpty ? nil : list
            }
            return out
        }

        /// A cached buffer for a request of `byteCount` bytes: one of that size, else the smallest
        /// of up to twice it.
        mutating func reuse(_ byteCount: Int) -> (address: UInt, size: Int)? {
            let size = free[byteCount] != nil ? byteCount : free.keys.filter { $0 > byteCount && $0 <= 2 * byteCount }.min()
            guard let size, var list = free[size], let address = list.popLast() else { return nil }
            free[size] = list.isEmpty ? nil : list
            cachedBytes -= size
            return (address, size)
        }
    }

    private let state: Mutex<State>

    /// A pool of its own (tensors use ``shared``).
    ///
    /// - Parameters:
    ///   - headroom: how far above the high-water mark of handed-out bytes the pool may hold
    ///     memory, as a fraction of it (0.75: 75 % more).
    ///   - limitBytes: the most bytes it keeps cached.
    public init(headroom: Double = 0.75, limitBytes: Int = 4 << 30) {
        state = Mutex(State(limitBytes: limitBytes, headroom: max(0, headroom)))
    }

    /// Bytes of free buffers currently cached (not held by any tensor).
    public var cachedBytes: Int { state.withLock { $0.cachedBytes } }

    /// Bytes of pooled buffers (≥ 4 KiB) handed out and not yet returned.
    public var heldBytes: Int { state.withLock { $0.heldBytes } }

    /// The most bytes of pooled buffers handed out at once so far.
    public var highWaterBytes: Int { state.withLock { $0.highWaterBytes } }

    /// How far above ``highWaterBytes`` held plus cached bytes may go, as a fraction of it.
    public var headroom: Double {
        get { state.withLock { $0.headroom } }
        set { state.withLock { $0.headroom = max(0, newValue) } }
    }

    /// Sets the most bytes the pool keeps cached; releases cached buffers beyond it.
    public func setLimit(bytes: Int) {
        let released = state.withLock { s in
            s.limitBytes = bytes
            return s.release(downTo: bytes)
        }
        released.forEach { BufferPool.unmap($0.address, byteCount: $0.size) }
    }

    /// Returns every cached buffer to the system, keeping the limit as it was.
    public func drain() {
        let released = state.withLock { $0.release(downTo: 0) }
        released.forEach { BufferPool.unmap($0.address, byteCount: $0.size) }
    }

    /// A 64-byte-aligned buffer of at least `byteCount` bytes (uninitialised, possibly recycled)
    /// and its capacity, to give back with ``deallocate(_:capacity:)``.
    public func allocate(byteCount: Int) -> (pointer: UnsafeMutableRawPointer, capacity: Int) {
        guard byteCount >= 4096 else {
            var raw: UnsafeMutableRawPointer? = nil
            let status = posix_memalign(&raw, 64, max(byteCount, 64))
            precondition(status == 0 && raw != nil, "TensorStorage: cannot allocate \(byteCount) bytes")
            return (raw!, byteCount)
        }
        let (reused, released) = state.withLock { s -> ((address: UInt, size: Int)?, [(address: UInt, size: Int)]) in
            let buffer = s.reuse(byteCount)
            s.heldBytes += buffer?.size ?? byteCount
            s.highWaterBytes = max(s.highWaterBytes, s.heldBytes)
            if let buffer { return (buffer, []) }
            let bound = Int(Double(s.highWaterBytes) * (1 + s.headroom))
            return (nil, s.release(downTo: bound - s.heldBytes))
        }
        released.forEach { BufferPool.unmap($0.address, byteCount: $0.size) }
        if let reused { return (UnsafeMutableRawPointer(bitPattern: reused.address)!, reused.size) }
        return (BufferPool.map(byteCount), byteCount)
    }

    /// Gives back a buffer from ``allocate(byteCount:)`` with the capacity it came with.
    public func deallocate(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        guard capacity >= 4096 else { return free(pointer) }
        let address = UInt(bitPattern: pointer)
        let kept = state.withLock { s -> Bool in
            s.heldBytes -= capacity
            guard s.cachedBytes + capacity <= s.limitBytes else { return false }
            s.free[capacity, default: []].append(address)
            s.cachedBytes += capacity
            return true
        }
        if !kept { BufferPool.unmap(address, byteCount: capacity) }
    }

    /// A new anonymous mapping of `byteCount` bytes (page-aligned).
    private static func map(_ byteCount: Int) -> UnsafeMutableRawPointer {
        guard let mapped = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), mapped != MAP_FAILED
        else { preconditionFailure("TensorStorage: cannot map \(byteCount) bytes (errno \(errno))") }
        return mapped
    }

    /// Returns a pooled buffer's pages to the system.
    private static func unmap(_ address: UInt, byteCount: Int) {
        munmap(UnsafeMutableRawPointer(bitPattern: address), byteCount)
    }
}

/// A counter that several threads may update (relaxed atomic), e.g. ``TensorStorage/liveBytes``.
public final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)

    func add(_ delta: Int) { value.wrappingAdd(delta, ordering: .relaxed) }

    /// The current value.
    public var current: Int { value.load(ordering: .relaxed) }
}
