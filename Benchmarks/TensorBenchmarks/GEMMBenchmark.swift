// SGEMM throughput benchmark (2048³ through DNNLMatMul), the yardstick for the other figures, and the timing helpers they share.
import DDPMTensors

/// Runs `body` `warmUp` times untimed, then times it until `minimumRuns` runs and `minimumSeconds`
/// have passed (at most `maximumRuns`), and returns the fastest run in seconds. The best run is
/// the least disturbed by other work on a shared machine.
func bestOfRuns(
    warmUp: Int = 2, minimumRuns: Int = 5, maximumRuns: Int = 50, minimumSeconds: Double = 0.5,
    _ body: () -> Void
) -> Double {
    for _ in 0..<warmUp { body() }
    let clock = ContinuousClock()
    var best = Double.infinity
    var total = 0.0
    var runs = 0
    while runs < maximumRuns && (runs < minimumRuns || total < minimumSeconds) {
        let elapsed = clock.measure(body)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        best = min(best, seconds)
        total += seconds
        runs += 1
    }
    return best
}

/// A buffer of `count` pseudo-random floats in [−1, 1); the caller deallocates it.
func randomBuffer(_ count: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
    var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
    for index in 0..<count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        buffer[index] = Float(state >> 40) / Float(1 << 23) - 1
    }
    return buffer
}

/// Prints and returns the GFLOPS of a 2048×2048×2048 single-precision GEMM through
/// `DNNLMatMul.matmul` (`dnnl_sgemm`), best of several runs after warm-up.
func runGEMMBenchmark() -> Double {
    let size = 2048
    let a = randomBuffer(size * size, seed: 1), b = randomBuffer(size * size, seed: 2), c = randomBuffer(size * size, seed: 3)
    defer { a.deallocate(); b.deallocate(); c.deallocate() }
    let seconds = bestOfRuns(minimumRuns: 10) { DNNLMatMul.matmul(a, b, c, m: size, n: size, k: size) }
    let gflops = 2 * Double(size * size * size) / seconds / 1e9
    print("SGEMM \(size)³ (DNNLMatMul, dnnl_sgemm): \(format(gflops, 1)) GFLOPS (best run \(format(seconds * 1e3, 2)) ms)")
    return gflops
}

/// `value` with `digits` decimals, right-aligned in `width` characters.
func format(_ value: Double, _ digits: Int, width: Int = 0) -> String {
    var scaled = (value * pow10(digits)).rounded() / pow10(digits)
    if scaled == 0 { scaled = 0 }
    var text = "\(scaled)"
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if digits == 0 {
            text = String(text[..<dot])
        } else if decimals < digits {
            text += String(repeating: "0", count: digits - decimals)
        }
    }
    return String(repeating: " ", count: max(0, width - text.count)) + text
}

private func pow10(_ digits: Int) -> Double { (0..<digits).reduce(1) { value, _ in value * 10 } }
