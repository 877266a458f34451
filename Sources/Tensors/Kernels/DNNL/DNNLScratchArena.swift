// Grow-only aligned buffers that hold oneDNN's blocked copies and scratchpads from one call to the next.

#if canImport(Glibc)
import Glibc
#endif

/// Buffers for the data that lives only during one oneDNN call: activations and weights reordered
/// into a primitive's blocked layout, and the primitive's scratchpad.
///
/// Slot `i` is one buffer that grows to the largest size any plan has asked of it and is never
/// shrunk, so steady-state calls allocate nothing. All plans share the slots, which is safe
/// because calls are serialised by `DNNLEngine.withLock`; the contents do not survive a call.
final class DNNLScratchArena {
    private var buffers: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []

    /// Page alignment: more than oneDNN's 64-byte requirement, and large buffers start on a fresh page.
    private static let alignment = 4096

    /// A buffer of at least `bytes` bytes for slot `slot`; its contents are unspecified.
    func buffer(slot: Int, bytes: Int) -> UnsafeMutableRawPointer {
        while buffers.count <= slot {
            buffers.append((UnsafeMutableRawPointer.allocate(byteCount: Self.alignment, alignment: Self.alignment), Self.alignment))
        }
        if buffers[slot].bytes < bytes {
            buffers[slot].pointer.deallocate()
            let rounded = (bytes + Self.alignment - 1) / Self.alignment * Self.alignment
            buffers[slot] = (UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: Self.alignment), rounded)
        }
        return buffers[slot].pointer
    }

    /// Bytes held across all slots (for diagnostics).
    var totalBytes: Int { buffers.reduce(0) { $0 + $1.bytes } }
}
