// Throughput of the fast elementwise and normalisation kernels against a parallel copy of the same size.
import DDPMTensors

/// Prints GB/s for the copy baseline, SiLU forward/backward, exp and GroupNorm forward/backward
/// on two threads, each with its percentage of the copy baseline at the same tensor size.
///
/// GB/s counts the bytes the kernel must read plus the bytes it writes (10⁹ bytes per second):
/// copy, SiLU, exp and GroupNorm forward move 8 bytes per element (x in, y out); SiLU backward and
/// GroupNorm backward move 12 (x and dy in, dx out). Small per-channel vectors and statistics are
/// not counted. Each figure is the best of `runs` timed runs after two warm-up runs; the machine
/// is shared, so run it more than once.
func runElementwiseBenchmarks(runs: Int = 9) {
    ComputeThreads.set(2)
    print("Elementwise kernels, \(ComputeThreads.count) threads; GB/s = (bytes read + bytes written) / time, best of \(runs)")
    for shape in [[64, 128, 32, 32], [16, 256, 64, 64]] {
        let (batch, channels, spatial) = (shape[0], shape[1], shape[2] * shape[3])
        let groups = 32
        let count = batch * channels * spatial
        let x = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let dy = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let gamma = UnsafeMutablePointer<Float>.allocate(capacity: channels)
        let beta = UnsafeMutablePointer<Float>.allocate(capacity: channels)
        let dgamma = UnsafeMutablePointer<Float>.allocate(capacity: channels)
        let dbeta = UnsafeMutablePointer<Float>.allocate(capacity: channels)
        let mean = UnsafeMutablePointer<Float>.allocate(capacity: batch * groups)
        let rstd = UnsafeMutablePointer<Float>.allocate(capacity: batch * groups)
        defer { for p in [x, dy, out, gamma, beta, dgamma, dbeta, mean, rstd] { p.deallocate() } }
        var state: UInt32 = 12_345
        for i in 0..<count {
            state = state &* 1_664_525 &+ 1_013_904_223
            x[i] = Float(state >> 8) / Float(1 << 24) * 8 - 4
            dy[i] = Float(state & 0xFFFF) / 65_536 - 0.5
        }
        for c in 0..<channels { gamma[c] = 1 + Float(c % 7) * 0.1; beta[c] = Float(c % 5) * 0.1 }

        let megabytes = count * 4 / 1_000_000
        print("\nShape \(shape) (\(count) floats, \(megabytes) MB per tensor), GroupNorm with \(groups) groups")
        let copy = throughput(bytes: 8 * count, runs: runs) { FastKernels.copy(from: x, to: out, count: count) }
        report("copy (baseline)", copy, baseline: copy)
        report(
            "SiLU forward",
            throughput(bytes: 8 * count, runs: runs) {
                FastKernels.silu(input: x, output: out, count: count)
            }, baseline: copy)
        report(
            "SiLU backward",
            throughput(bytes: 12 * count, runs: runs) {
                FastKernels.siluBackward(input: x, outputGrad: dy, inputGrad: out, count: count)
            }, baseline: copy)
        report(
            "exp",
            throughput(bytes: 8 * count, runs: runs) {
                FastKernels.exp(input: x, output: out, count: count)
            }, baseline: copy)
        report(
            "GroupNorm forward",
            throughput(bytes: 8 * count, runs: runs) {
                FastKernels.groupNormForward(
                    input: x, gamma: gamma, beta: beta, output: out, mean: mean, rstd: rstd,
                    batch: batch, channels: channels, spatial: spatial, groups: groups, eps: 1e-5)
            }, baseline: copy)
        report(
            "GroupNorm backward",
            throughput(bytes: 12 * count, runs: runs) {
                FastKernels.groupNormBackward(
                    input: x, gamma: gamma, mean: mean, rstd: rstd, outputGrad: dy, inputGrad: out,
                    gammaGrad: dgamma, betaGrad: dbeta,
                    batch: batch, channels: channels, spatial: spatial, groups: groups)
            }, baseline: copy)
    }
}

/// Best GB/s of `runs` timed calls of `body` (after two untimed warm-up calls), counting `bytes` per call.
private func throughput(bytes: Int, runs: Int, _ body: () -> Void) -> Double {
    body()
    body()
    let clock = ContinuousClock()
    var best = Duration.seconds(1_000)
    for _ in 0..<runs {
        best = min(best, clock.measure(body))
    }
    let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) * 1e-18
    return Double(bytes) / seconds / 1e9
}

private func report(_ name: String, _ gigabytesPerSecond: Double, baseline: Double) {
    let rate = (gigabytesPerSecond * 10).rounded() / 10
    let percent = Int((100 * gigabytesPerSecond / baseline).rounded())
    let label = name + String(repeating: " ", count: max(0, 20 - name.count))
    print("  \(label) \(rate) GB/s   \(percent)% of copy")
}
