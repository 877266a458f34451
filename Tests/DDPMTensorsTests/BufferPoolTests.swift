import DDPMTensors
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The buffer pool behind tensors: reuse by size, reuse of a larger buffer, and the bound on held
/// plus cached bytes (each test uses a pool of its own, not the shared one).
@Suite("Buffer pool")
struct BufferPoolTests {
    static let mebibyte = 1 << 20

    /// Fills a buffer and reads it back, so that a buffer handed out twice or unmapped would show.
    func fillAndCheck(_ p: UnsafeMutableRawPointer, bytes: Int, value: UInt8) {
        memset(p, Int32(value), bytes)
        let view = p.assumingMemoryBound(to: UInt8.self)
        #expect(view[0] == value && view[bytes / 2] == value && view[bytes - 1] == value)
    }

    @Test func aFreedBufferIsHandedOutAgainForItsSize() {
        let pool = BufferPool()
        let (a, capacity) = pool.allocate(byteCount: 3 * Self.mebibyte)
        #expect(capacity == 3 * Self.mebibyte)
        #expect(Int(bitPattern: a) % 64 == 0)
        fillAndCheck(a, bytes: capacity, value: 1)
        pool.deallocate(a, capacity: capacity)
        #expect(pool.cachedBytes == 3 * Self.mebibyte && pool.heldBytes == 0)
        let (b, again) = pool.allocate(byteCount: 3 * Self.mebibyte)
        #expect(b == a && again == capacity)
        #expect(pool.cachedBytes == 0 && pool.heldBytes == 3 * Self.mebibyte)
        pool.deallocate(b, capacity: again)
        pool.drain()
        #expect(pool.cachedBytes == 0)
    }

    @Test func aLargerCachedBufferUpToTwiceTheRequestIsReused() {
        let pool = BufferPool()
        let (big, bigCapacity) = pool.allocate(byteCount: 5 * Self.mebibyte)
        pool.deallocate(big, capacity: bigCapacity)
        // Twice the request is still reused (with its capacity reported) …
        let (p, capacity) = pool.allocate(byteCount: 5 * Self.mebibyte / 2)
        #expect(p == big && capacity == 5 * Self.mebibyte)
        fillAndCheck(p, bytes: capacity, value: 2)
        pool.deallocate(p, capacity: capacity)
        // … more than twice is not.
        let (q, small) = pool.allocate(byteCount: 2 * Self.mebibyte)
        #expect(q != big && small == 2 * Self.mebibyte)
        #expect(pool.cachedBytes == 5 * Self.mebibyte)
        pool.deallocate(q, capacity: small)
        pool.drain()
    }

    /// Four 1 MiB buffers set the high-water mark at 4 MiB; after they are freed, a 3 MiB request
    /// (no cached buffer fits it) may map a new buffer only once the cached ones above the bound
    /// are released: with headroom 0, 3 of the 4; with 0.5 (bound 6 MiB), 1; with 1 (8 MiB), none.
    @Test(arguments: [(0.0, 1), (0.5, 3), (1.0, 4)])
    func mappingPastTheHighWaterMarkReleasesCachedBuffers(headroom: Double, keptMebibytes: Int) {
        let pool = BufferPool(headroom: headroom)
        let buffers = (0..<4).map { _ in pool.allocate(byteCount: Self.mebibyte) }
        #expect(pool.highWaterBytes == 4 * Self.mebibyte)
        for (p, capacity) in buffers { pool.deallocate(p, capacity: capacity) }
        #expect(pool.cachedBytes == 4 * Self.mebibyte)
        let (p, capacity) = pool.allocate(byteCount: 3 * Self.mebibyte)
        fillAndCheck(p, bytes: capacity, value: 3)
        #expect(pool.cachedBytes == keptMebibytes * Self.mebibyte)
        #expect(pool.heldBytes + pool.cachedBytes <= Int(Double(pool.highWaterBytes) * (1 + headroom)))
        #expect(pool.highWaterBytes == 4 * Self.mebibyte)
        // What stays cached is still handed out intact.
        let (q, qCapacity) = pool.allocate(byteCount: Self.mebibyte)
        #expect(buffers.contains { $0.pointer == q } && qCapacity == Self.mebibyte)
        fillAndCheck(q, bytes: qCapacity, value: 4)
        pool.deallocate(q, capacity: qCapacity)
        pool.deallocate(p, capacity: capacity)
        pool.drain()
    }

    /// The release takes the smallest buffer that alone makes room (a 1 MiB one, not the 16 MiB
    /// one), so a small overshoot does not cost a large buffer.
    @Test func theSmallestBufferThatMakesRoomIsReleased() {
        let pool = BufferPool(headroom: 0.1)
        let sizes = [16, 2, 1, 1].map { $0 * Self.mebibyte }
        let buffers = sizes.map { pool.allocate(byteCount: $0) }  // high water 20 MiB, bound 22 MiB
        for (p, capacity) in buffers { pool.deallocate(p, capacity: capacity) }
        // No cached buffer fits 3 MiB (none in (3, 6] MiB); 20 + 3 MiB is 1 MiB past the bound.
        let (p, capacity) = pool.allocate(byteCount: 3 * Self.mebibyte)
        #expect(pool.cachedBytes == 19 * Self.mebibyte)
        let (q, qCapacity) = pool.allocate(byteCount: 16 * Self.mebibyte)
        #expect(q == buffers[0].pointer && qCapacity == 16 * Self.mebibyte)
        pool.deallocate(q, capacity: qCapacity)
        pool.deallocate(p, capacity: capacity)
        pool.drain()
    }

    @Test func theLimitCapsCachedBytes() {
        let pool = BufferPool(limitBytes: 2 * Self.mebibyte)
        let buffers = (0..<3).map { _ in pool.allocate(byteCount: Self.mebibyte) }
        for (p, capacity) in buffers { pool.deallocate(p, capacity: capacity) }
        #expect(pool.cachedBytes == 2 * Self.mebibyte)
        pool.setLimit(bytes: Self.mebibyte)
        #expect(pool.cachedBytes == Self.mebibyte)
        pool.drain()
        #expect(pool.cachedBytes == 0)
    }

    @Test func smallBuffersAreLeftToMalloc() {
        let pool = BufferPool()
        let (p, capacity) = pool.allocate(byteCount: 100)
        #expect(capacity == 100 && Int(bitPattern: p) % 64 == 0)
        fillAndCheck(p, bytes: capacity, value: 5)
        pool.deallocate(p, capacity: capacity)
        #expect(pool.cachedBytes == 0 && pool.heldBytes == 0 && pool.highWaterBytes == 0)
    }
}
