// One grow-only aligned buffer that holds oneDNN's blocked copies and scratchpads during a call.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The buffer for data that lives only during one oneDNN call: activations and weights reordered
/// into a primitive's blocked layout, and the primitive's scratchpad.
///
/// Each plan lays its pieces out one after another (`DNNLScratchArena.layout`), and the buffer
/// grows to the largest plan's total and is never shrunk, so steady-state calls allocate nothing
/// and the memory held is one plan's worth, not the sum of the largest pieces of different plans.
/// All plans share it, which is safe because calls are serialised by `DNNLEngine.withLock`; the
/// contents do not survive a call.
final class DNNLScratchArena {
    private var pointer: UnsafeMutableRawPointer
    private(set) var bytes: Int

    /// Page alignment: more than oneDNN's 64-byte requirement, and each piece starts on a fresh page.
    static let alignment = 4096

    init() {
        bytes = Self.alignment
        pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.alignment)
    }

    deinit { pointer.deallocate() }

    /// Offsets of pieces of `sizes` bytes laid out one after another on page boundaries, and the total.
    static func layout(_ sizes: [Int]) -> (offsets: [Int], total: Int) {
        var offsets: [Int] = []
        var total = 0
        for size in sizes {
            offsets.append(total)
            total += (size + alignment - 1) / alignment * alignment
        }
        return (offsets, total)
    }

    /// The buffer, at least `total` bytes long; its contents are unspecified.
    func buffer(bytes total: Int) -> UnsafeMutableRawPointer {
        if bytes < total {
            pointer.deallocate()
            bytes = (total + Self.alignment - 1) / Self.alignment * Self.alignment
            pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.alignment)
        }
        return pointer
    }
}
