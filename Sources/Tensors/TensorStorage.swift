// Reference-counted, 64-byte-aligned element buffer behind a tensor (copy-on-write is in Tensor).
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A contiguous, 64-byte-aligned buffer of `byteCount` bytes.
///
/// Tensors share a storage until one of them is mutated (copy-on-write). The alignment lets the
/// vector kernels and oneDNN load full cache lines.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int

    /// Allocates uninitialised memory.
    public init(byteCount: Int) {
        self.byteCount = byteCount
        var raw: UnsafeMutableRawPointer? = nil
        let status = posix_memalign(&raw, 64, max(byteCount, 64))
        precondition(status == 0 && raw != nil, "TensorStorage: cannot allocate \(byteCount) bytes")
        pointer = raw!
        TensorStorage.liveBytes.add(byteCount)
    }

    deinit {
        free(pointer)
        TensorStorage.liveBytes.add(-byteCount)
    }

    /// Bytes held by all live storages (tests use it to check that memory does not grow).
    public static let liveBytes = AtomicCounter()
}

/// A counter that several threads may update.
public final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)

    func add(_ delta: Int) { value.wrappingAdd(delta, ordering: .relaxed) }

    /// The current value.
    public var current: Int { value.load(ordering: .relaxed) }
}
