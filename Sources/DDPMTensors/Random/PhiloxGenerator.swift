// Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"): a counter-based generator.
import Foundation

/// A seedable, counter-based random number generator: Philox4x32 with 10 rounds.
///
/// Block i of the stream is Philox(key = seed, counter = i): 128 bits from integer arithmetic
/// alone, so a seed gives the same bits on every run and every machine. The whole state is the
/// seed, the block counter and the position in the current block (`state`), which checkpoints
/// save so that a resumed run draws the same numbers as an uninterrupted one.
public struct PhiloxGenerator: RandomNumberGenerator, Sendable {
    /// Everything needed to continue the stream exactly.
    public struct State: Codable, Equatable, Sendable {
        /// The key of the stream.
        public var seed: UInt64
        /// The index of the next block to compute (one more than the current block's).
        public var counter: UInt64
        /// How many of the current block's two 64-bit words have been drawn: 0, 1 or 2 (2: the
        /// block is used up, or none was computed yet).
        public var position: Int

        /// The state `position` draws (0, 1 or 2) into block `counter − 1` of `seed`'s stream
        /// (position 2: the next draw starts block `counter`).
        public init(seed: UInt64, counter: UInt64, position: Int) {
            (self.seed, self.counter, self.position) = (seed, counter, position)
        }
    }

    /// Where the stream stands; `PhiloxGenerator(state:)` continues from it.
    public private(set) var state: State
    private var block: (UInt64, UInt64) = (0, 0)

    /// A generator at the start of the stream for `seed`.
    public init(seed: UInt64) {
        self.init(state: State(seed: seed, counter: 0, position: 2))
    }

    /// A generator that continues from a saved `state`.
    public init(state: State) {
        self.state = state
        if state.position < 2 {
            block = Self.block(seed: state.seed, counter: state.counter &- 1)
        }
    }

    /// The next 64 random bits: alternately the low and the high word of the current 128-bit
    /// block, computing block `counter` when the current one is used up.
    public mutating func next() -> UInt64 {
        if state.position >= 2 {
            block = Self.block(seed: state.seed, counter: state.counter)
            state.counter &+= 1
            state.position = 0
        }
        defer { state.position += 1 }
        return state.position == 0 ? block.0 : block.1
    }

    /// Hands `body` the next `count` draws of `next()`, as `body(i, draw)` for i in 0..<count, and
    /// leaves the generator exactly where `count` calls of `next()` would.
    ///
    /// The one trick: Philox is counter-based, so block k of the stream is computed directly from
    /// its counter and the blocks are split over threads; `body` is called concurrently for
    /// distinct i (each i once) and must only write state of its own element.
    public mutating func forEachDraw(count: Int, _ body: (Int, UInt64) -> Void) {
        var i = 0
        while i < count && state.position < 2 {  // the rest of the current block
            body(i, next())
            i += 1
        }
        let remaining = count - i
        guard remaining > 0 else { return }
        let (seed, first, start) = (state.seed, state.counter, i)
        let blocks = (remaining + 1) / 2
        parallelChunks(blocks, grain: 16_384) { range in
            var b = range.lowerBound
            while b + 16 <= range.upperBound {  // 16 blocks at a time, one per SIMD lane
                let (low, high) = Self.blocks16(seed: seed, counter: first &+ UInt64(b))
                for lane in 0..<16 {
                    let j = start + 2 * (b + lane)
                    body(j, low[lane])
                    if j + 1 < count { body(j + 1, high[lane]) }
                }
                b += 16
            }
            while b < range.upperBound {
                let (low, high) = Self.block(seed: seed, counter: first &+ UInt64(b))
                let j = start + 2 * b
                body(j, low)
                if j + 1 < count { body(j + 1, high) }
                b += 1
            }
        }
        state.counter = first &+ UInt64(blocks)
        block = Self.block(seed: seed, counter: first &+ UInt64(blocks - 1))
        state.position = remaining % 2 == 0 ? 2 : 1
    }

    /// The uniform double in [0, 1) that `nextUniform()` makes of a draw.
    @inline(__always)
    public static func uniform(_ draw: UInt64) -> Double {
        Double(draw >> 11) * 0x1p-53
    }

    /// A uniform integer in 0..<bound (Lemire's multiply-and-reject; pinned here so results never
    /// depend on the standard library's implementation).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "PhiloxGenerator.nextInt: bound must be positive, got \(bound)")
        let b = UInt64(bound)
        let threshold = (0 &- b) % b
        while true {
            let (high, low) = next().multipliedFullWidth(by: b)
            if low >= threshold { return Int(high) }
        }
    }

    /// A uniform double in [0, 1) with 53 random bits: the top 53 bits of ``next()`` times 2⁻⁵³.
    public mutating func nextUniform() -> Double {
        Self.uniform(next())
    }

    /// The generator of the stream named by `key` under `seed`, e.g. key (step, example) for one
    /// example's noise in one training step: its seed is Philox(key = seed, counter = key), so every
    /// key gives an independent stream that is found directly, without drawing the streams before it.
    public init(seed: UInt64, key: (UInt64, UInt64)) {
        let r = philox4x32(
            counter: (
                UInt32(truncatingIfNeeded: key.0), UInt32(truncatingIfNeeded: key.0 >> 32),
                UInt32(truncatingIfNeeded: key.1), UInt32(truncatingIfNeeded: key.1 >> 32)
            ),
            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        self.init(seed: UInt64(r.0) | UInt64(r.1) << 32 ^ (UInt64(r.2) | UInt64(r.3) << 32) << 1)
    }

    /// A generator for an independent stream derived from this one's next output (for giving
    /// parallel workers or sub-tasks their own streams).
    public mutating func split() -> PhiloxGenerator {
        PhiloxGenerator(seed: next())
    }

    /// Philox4x32-10 of counter (lo, hi, 0, 0) under key (seed lo, seed hi).
    static func block(seed: UInt64, counter: UInt64) -> (UInt64, UInt64) {
        let r = philox4x32(
            counter: (UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32), 0, 0),
            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        return (UInt64(r.0) | UInt64(r.1) << 32, UInt64(r.2) | UInt64(r.3) << 32)
    }
}

extension PhiloxGenerator {
    /// `block(seed:counter:)` of the 16 counters counter, counter + 1, …, counter + 15, one per
    /// SIMD lane (the same rounds as `philox4x32` on vectors: 32×32 → 64-bit products in 64-bit lanes).
    static func blocks16(seed: UInt64, counter: UInt64) -> (low: SIMD16<UInt64>, high: SIMD16<UInt64>) {
        let m0 = SIMD16<UInt64>(repeating: 0xD251_1F53), m1 = SIMD16<UInt64>(repeating: 0xCD9E_8D57)
        let counters = SIMD16<UInt64>(repeating: counter) &+ SIMD16<UInt64>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        var c0 = SIMD16<UInt32>(truncatingIfNeeded: counters)
        var c1 = SIMD16<UInt32>(truncatingIfNeeded: counters &>> 32)
        var c2 = SIMD16<UInt32>(repeating: 0), c3 = SIMD16<UInt32>(repeating: 0)
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for round in 0..<10 {
            if round > 0 {
                k0 &+= 0x9E37_79B9
                k1 &+= 0xBB67_AE85
            }
            let p0 = m0 &* SIMD16<UInt64>(truncatingIfNeeded: c0)
            let p1 = m1 &* SIMD16<UInt64>(truncatingIfNeeded: c2)
            (c0, c1, c2, c3) = (
                SIMD16<UInt32>(truncatingIfNeeded: p1 &>> 32) ^ c1 ^ SIMD16(repeating: k0), SIMD16<UInt32>(truncatingIfNeeded: p1),
                SIMD16<UInt32>(truncatingIfNeeded: p0 &>> 32) ^ c3 ^ SIMD16(repeating: k1), SIMD16<UInt32>(truncatingIfNeeded: p0)
            )
        }
        return (
            SIMD16<UInt64>(truncatingIfNeeded: c0) | SIMD16<UInt64>(truncatingIfNeeded: c1) &<< 32,
            SIMD16<UInt64>(truncatingIfNeeded: c2) | SIMD16<UInt64>(truncatingIfNeeded: c3) &<< 32
        )
    }
}

/// The Philox4x32-10 bijection (Random123's `philox4x32_R(10, ctr, key)`).
public func philox4x32(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
    let m0: UInt32 = 0xD251_1F53, m1: UInt32 = 0xCD9E_8D57
    let w0: UInt32 = 0x9E37_79B9, w1: UInt32 = 0xBB67_AE85
    var c = counter
    var k = key
    for round in 0..<10 {
        if round > 0 {
            k.0 &+= w0
            k.1 &+= w1
        }
        let p0 = UInt64(m0) * UInt64(c.0)
        let p1 = UInt64(m1) * UInt64(c.2)
        c = (
            UInt32(truncatingIfNeeded: p1 >> 32) ^ c.1 ^ k.0, UInt32(truncatingIfNeeded: p1),
            UInt32(truncatingIfNeeded: p0 >> 32) ^ c.3 ^ k.1, UInt32(truncatingIfNeeded: p0)
        )
    }
    return c
}
