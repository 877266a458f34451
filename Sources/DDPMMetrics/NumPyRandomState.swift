// numpy.random.RandomState's Mersenne Twister (MT19937) and its legacy permutation: the subsets torch-fidelity's KID draws.

/// numpy's legacy `RandomState(seed)`: the MT19937 generator seeded as `init_genrand`, and
/// `choice(n, size, replace=False)` (= `permutation(n)[:size]`, a Fisher–Yates shuffle from the
/// top with numpy's masked rejection sampling), bit for bit — so that KID's random subsets are
/// torch-fidelity's (`RandomState(2020)`).
public struct NumPyRandomState: Sendable {
    private var key = [UInt32](repeating: 0, count: 624)
    private var position = 624

    /// `numpy.random.RandomState(seed)`.
    public init(seed: UInt32) {
        var s = seed
        for i in 0..<624 {
            key[i] = s
            s = 1_812_433_253 &* (s ^ (s >> 30)) &+ UInt32(i + 1)
        }
    }

    /// The next 32-bit output (MT19937 `genrand_int32`).
    public mutating func nextUInt32() -> UInt32 {
        if position == 624 { reload() }
        var y = key[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func reload() {
        func twist(_ i: Int, _ next: Int, _ far: Int) {
            let y = (key[i] & 0x8000_0000) | (key[next] & 0x7FFF_FFFF)
            key[i] = key[far] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
        }
        for i in 0..<227 { twist(i, i + 1, i + 397) }
        for i in 227..<623 { twist(i, i + 1, i - 227) }
        twist(623, 0, 396)
        position = 0
    }

    /// A uniform integer in 0…`max` (numpy's `random_interval`: the smallest all-ones mask ≥ max,
    /// 32-bit draws rejected while above max).
    public mutating func interval(_ max: UInt32) -> UInt32 {
        if max == 0 { return 0 }
        var mask = max
        for shift in [1, 2, 4, 8, 16] as [UInt32] { mask |= mask >> shift }
        while true {
            let value = nextUInt32() & mask
            if value <= max { return value }
        }
    }

    /// `permutation(n)`: 0..<n shuffled as numpy's legacy `shuffle` does (for i from n − 1 down to
    /// 1, swap i with `interval(i)`).
    public mutating func permutation(_ n: Int) -> [Int] {
        precondition(n >= 0 && n <= Int(UInt32.max), "NumPyRandomState.permutation: n = \(n) out of range")
        var values = Array(0..<n)
        var i = n - 1
        while i >= 1 {
            values.swapAt(i, Int(interval(UInt32(i))))
            i -= 1
        }
        return values
    }

    /// `choice(n, size, replace=False)`: the first `size` entries of ``permutation(_:)``.
    public mutating func choice(_ n: Int, size: Int) -> [Int] {
        precondition(size >= 0 && size <= n, "NumPyRandomState.choice: \(size) of \(n) without replacement")
        return Array(permutation(n).prefix(size))
    }
}
