// Max/average pooling, bilinear resizing and ReLU against plain reference loops written from PyTorch's definitions.
import DDPMTestSupport
import Testing
import DDPMTensors

/// Deterministic test values in [−1, 1) with a few exact ties (64-bit LCG, Knuth's MMIX constants).
private func values(_ count: Int, seed: UInt64) -> [Double] {
    var state = seed
    return (0..<count).map { i in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return i % 7 == 3 ? 0.25 : Double(state >> 11) / Double(1 << 52) - 1
    }
}

/// PyTorch's pooling, written out: window of output (p, q) over padded coordinates, clipped to the image.
private func referencePool(
    _ x: [Double], _ shape: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), max isMax: Bool, countPad: Bool
) -> (values: [Double], shape: [Int]) {
    let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
    let oh = (h + 2 * padding.0 - kernel.0) / stride.0 + 1, ow = (w + 2 * padding.1 - kernel.1) / stride.1 + 1
    var out: [Double] = []
    for plane in 0..<planes {
        for p in 0..<oh {
            for q in 0..<ow {
                let (h0, w0) = (p * stride.0 - padding.0, q * stride.1 - padding.1)
                let (h1, w1) = (min(h0 + kernel.0, h + padding.0), min(w0 + kernel.1, w + padding.1))
                let poolSize = (h1 - h0) * (w1 - w0)
                var best = -Double.infinity, sum = 0.0, count = 0
                for a in max(h0, 0)..<min(h1, h) {
                    for b in max(w0, 0)..<min(w1, w) {
                        let v = x[plane * h * w + a * w + b]
                        best = max(best, v)
                        sum += v
                        count += 1
                    }
                }
                out.append(isMax ? best : sum / Double(countPad ? poolSize : count))
            }
        }
    }
    return (out, [shape[0], shape[1], oh, ow])
}

/// PyTorch's bilinear interpolation (align_corners=False), written out: source coordinates in `T`
/// (PyTorch computes them in the tensor's precision, so Float32 positions carry Float32 rounding),
/// the interpolation in Float64.
private func referenceResize<T: BinaryFloatingPoint>(_ x: [Double], _ shape: [Int], height: Int, width: Int, coordinates: T.Type)
    -> [Double]
{
    let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
    func taps(_ i: Int, _ input: Int, _ output: Int) -> (Int, Int, Double) {
        let scale = T(input) / T(output)
        let source = max((-T(0.5)).addingProduct(scale, T(i) + T(0.5)), 0)  // one rounding, as PyTorch's compiled kernel
        let i0 = min(Int(source.rounded(.down)), input - 1)
        return (i0, min(i0 + 1, input - 1), Double(source - T(i0)))
    }
    var out: [Double] = []
    for plane in 0..<planes {
        for p in 0..<height {
            let (a0, a1, λ) = taps(p, h, height)
            for q in 0..<width {
                let (b0, b1, μ) = taps(q, w, width)
                func at(_ a: Int, _ b: Int) -> Double { x[plane * h * w + a * w + b] }
                out.append((1 - λ) * ((1 - μ) * at(a0, b0) + μ * at(a0, b1)) + λ * ((1 - μ) * at(a1, b0) + μ * at(a1, b1)))
            }
        }
    }
    return out
}

/// Shapes (N, C, H, W) and windows (kernel, stride, padding) swept by the pooling tests.
private let poolCases: [(shape: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int))] = [
    ([1, 1, 5, 5], (3, 3), (1, 1), (1, 1)), ([2, 3, 7, 6], (3, 3), (2, 2), (0, 0)), ([1, 2, 8, 8], (3, 3), (1, 1), (0, 0)),
    ([1, 1, 4, 9], (2, 3), (2, 1), (1, 1)), ([2, 1, 3, 3], (3, 3), (1, 1), (1, 1)), ([1, 4, 35, 35], (3, 3), (1, 1), (1, 1)),
    ([1, 1, 1, 1], (1, 1), (1, 1), (0, 0)), ([1, 2, 17, 17], (3, 3), (2, 2), (0, 0)), ([1, 1, 6, 5], (4, 2), (3, 2), (2, 1)),
]

@Suite struct PoolingResizeTests {
    @Test(arguments: 0..<poolCases.count)
    func poolsMatchTheReferenceLoops(caseIndex: Int) {
        let c = poolCases[caseIndex]
        let x = values(c.shape.reduce(1, *), seed: UInt64(caseIndex + 1))
        let padding = Padding2D(top: c.padding.0, bottom: c.padding.0, left: c.padding.1, right: c.padding.1)
        for dtype in DType.allCases {
            let input = Tensor(x, shape: c.shape, dtype: dtype)
            let tolerance = dtype == .float64 ? 1e-15 : 1e-6
            let label = "case \(caseIndex) \(c.shape) kernel \(c.kernel) stride \(c.stride) padding \(c.padding) \(dtype)"
            let maxRef = referencePool(x, c.shape, kernel: c.kernel, stride: c.stride, padding: c.padding, max: true, countPad: false)
            let maxOut = maxPool2D(input, kernel: c.kernel, stride: c.stride, padding: padding)
            #expect(maxOut.shape == maxRef.shape, "\(label)")
            expectClose(maxOut.doubles, maxRef.values, relative: tolerance, absolute: tolerance, "max pool \(label)")
            for countPad in [false, true] {
                let ref = referencePool(x, c.shape, kernel: c.kernel, stride: c.stride, padding: c.padding, max: false, countPad: countPad)
                let out = averagePool2D(input, kernel: c.kernel, stride: c.stride, padding: padding, countingPadding: countPad)
                #expect(out.shape == ref.shape, "\(label)")
                expectClose(
                    out.doubles, ref.values, relative: tolerance, absolute: tolerance,
                    "average pool (count_include_pad \(countPad)) \(label)")
            }
        }
    }

    /// pytorch-fid's case by hand: a 3×3 average with padding 1 at a corner of a 2×2 image of ones
    /// is 1 without padded zeros (TensorFlow) and 4/9 with them (PyTorch's default).
    @Test func averagePoolCornerDivisors() {
        let ones = Tensor(repeating: 1, shape: [1, 1, 2, 2])
        let tf = averagePool2D(ones, kernel: (3, 3), stride: (1, 1), padding: Padding2D(1), countingPadding: false)
        let pt = averagePool2D(ones, kernel: (3, 3), stride: (1, 1), padding: Padding2D(1), countingPadding: true)
        #expect(tf.floats == [1, 1, 1, 1])
        #expect(pt.floats == [Float](repeating: 4 / 9, count: 4))
    }

    /// Every size class: up and down in each axis, odd factors, 1 pixel, identity, FID's 299.
    @Test(arguments: [
        ([1, 1, 1, 1], 3, 2), ([1, 2, 4, 4], 8, 8), ([2, 1, 5, 7], 3, 11), ([1, 1, 28, 28], 299, 299),
        ([1, 3, 32, 32], 299, 299), ([1, 1, 311, 37], 299, 299), ([1, 1, 6, 6], 6, 6), ([1, 1, 9, 4], 4, 9),
    ])
    func resizeMatchesTheReferenceLoop(shape: [Int], height: Int, width: Int) {
        let x = values(shape.reduce(1, *), seed: 99)
        for dtype in DType.allCases {
            let reference =
                dtype == .float64
                ? referenceResize(x, shape, height: height, width: width, coordinates: Double.self)
                : referenceResize(x, shape, height: height, width: width, coordinates: Float.self)
            let out = resizeBilinear(Tensor(x, shape: shape, dtype: dtype), height: height, width: width)
            #expect(out.shape == [shape[0], shape[1], height, width])
            let tolerance = dtype == .float64 ? 1e-14 : 2e-6
            expectClose(out.doubles, reference, relative: 0, absolute: tolerance, "resize \(shape) → \(height)×\(width) \(dtype)")
        }
    }

    /// Same size: every weight is 0 or 1, so the resize returns its input exactly.
    @Test func resizeToTheSameSizeIsTheIdentity() {
        let x = Tensor(values(2 * 3 * 5 * 4, seed: 5), shape: [2, 3, 5, 4], dtype: .float32)
        #expect(resizeBilinear(x, height: 5, width: 4).floats == x.floats)
    }

    @Test func reluIsMaxWithZeroAndDifferentiatesAsAClamp() {
        let xs: [Double] = [-2, -0.5, 0, 0.25, 3, -1e-30]
        for dtype in DType.allCases {
            let x = Tensor(xs, shape: [6], dtype: dtype)
            #expect(x.relu().doubles == xs.map { max($0, 0) })
            let leaf = x.requiringGradient()
            let g = gradients(of: leaf.relu().sum(), withRespectTo: [leaf])[0]
            #expect(g.doubles == [0, 0, 1, 1, 1, 0])
        }
        #expect(Tensor([Float.nan], shape: [1]).relu().floats[0].isNaN)
    }
}
