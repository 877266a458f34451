// Max and average pooling of NCHW activations (inference only; PyTorch's max_pool2d and avg_pool2d).

/// Max pooling of NCHW activations, as PyTorch's `F.max_pool2d(x, kernel, stride, padding)`
/// (`ceil_mode=False`, no dilation): y[n,c,p,q] = max over the window rows p·sH − top … + kH − 1 and
/// columns q·sW − left … + kW − 1 that fall inside the image (padding never wins: it is −∞).
///
/// Inference only: the input must not require gradients (a precondition); no derivative is recorded.
/// InceptionV3 reduces its stem with 3×3 stride-2 max pools, and FID's Mixed_7c pools its fourth
/// branch with a 3×3 stride-1 max pool padded by one.
///
/// - Parameters:
///   - input: [N, C, H, W] (NCHW).
///   - kernel: (kH, kW), each ≥ 1.
///   - stride: (sH, sW), each ≥ 1.
///   - padding: rows and columns of −∞ around the image; each side at most half the kernel (as PyTorch requires).
/// - Returns: [N, C, ⌊(H + top + bottom − kH)/sH⌋ + 1, ⌊(W + left + right − kW)/sW⌋ + 1].
public func maxPool2D(_ input: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: Padding2D = .zero) -> Tensor {
    let window = PoolingWindow(input, kernel: kernel, stride: stride, padding: padding, "maxPool2D")
    var out = Tensor(uninitializedShape: window.outputShape, dtype: input.dtype)
    func run<T: TensorScalar>(_: T.Type) {
        input.withUnsafeBufferPointer(as: T.self) { x in
            out.withUnsafeMutableBufferPointer(as: T.self) { y in
                window.forEachOutput(x.baseAddress!, y.baseAddress!) { plane, _, rows, _, columns in
                    var best = -T.infinity
                    for a in rows {
                        let row = plane + a * window.width
                        for b in columns where row[b] > best || row[b].isNaN { best = row[b] }
                    }
                    return best
                }
            }
        }
    }
    switch input.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    }
    return out
}

/// Average pooling of NCHW activations, as PyTorch's
/// `F.avg_pool2d(x, kernel, stride, padding, count_include_pad=…)` (`ceil_mode=False`): the sum over
/// the window's pixels inside the image, divided by the number of those pixels when
/// `countingPadding` is false (TensorFlow's 'SAME' average pool, which pytorch-fid's FID
/// Inception blocks reproduce), or by the window's area clipped to the padded image when it is true
/// (PyTorch's default).
///
/// Inference only: the input must not require gradients (a precondition); no derivative is recorded.
///
/// - Parameters:
///   - input: [N, C, H, W] (NCHW).
///   - kernel: (kH, kW), each ≥ 1.
///   - stride: (sH, sW), each ≥ 1.
///   - padding: zeros around the image; each side at most half the kernel (as PyTorch requires).
///   - countingPadding: whether padded zeros count in the divisor (`count_include_pad`).
/// - Returns: [N, C, ⌊(H + top + bottom − kH)/sH⌋ + 1, ⌊(W + left + right − kW)/sW⌋ + 1].
public func averagePool2D(
    _ input: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: Padding2D = .zero, countingPadding: Bool
) -> Tensor {
    let window = PoolingWindow(input, kernel: kernel, stride: stride, padding: padding, "averagePool2D")
    var out = Tensor(uninitializedShape: window.outputShape, dtype: input.dtype)
    func run<T: TensorScalar>(_: T.Type) {
        input.withUnsafeBufferPointer(as: T.self) { x in
            out.withUnsafeMutableBufferPointer(as: T.self) { y in
                let (paddedRows, paddedColumns) = (window.paddedExtents(vertical: true), window.paddedExtents(vertical: false))
                window.forEachOutput(x.baseAddress!, y.baseAddress!) { plane, p, rows, q, columns in
                    var sum = T.zero
                    for a in rows {
                        let row = plane + a * window.width
                        for b in columns { sum += row[b] }
                    }
                    let count = countingPadding ? paddedRows[p] * paddedColumns[q] : rows.count * columns.count
                    return sum / T(count)
                }
            }
        }
    }
    switch input.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    }
    return out
}

/// The geometry both pools share: sizes, the window of each output pixel clipped to the image.
struct PoolingWindow {
    let planes: Int, height: Int, width: Int
    let kernel: (Int, Int), stride: (Int, Int), padding: Padding2D
    let outHeight: Int, outWidth: Int

    init(_ input: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: Padding2D, _ op: String) {
        precondition(input.rank == 4, "\(op): input must be NCHW, got \(input.shape)")
        precondition(!input.requiresGradient, "\(op): inference only; the input requires gradients")
        precondition(kernel.0 >= 1 && kernel.1 >= 1 && stride.0 >= 1 && stride.1 >= 1, "\(op): kernel \(kernel) and stride \(stride) must be ≥ 1")
        precondition(
            [padding.top, padding.bottom].allSatisfy { $0 >= 0 && 2 * $0 <= kernel.0 }
                && [padding.left, padding.right].allSatisfy { $0 >= 0 && 2 * $0 <= kernel.1 },
            "\(op): padding \(padding) must be at most half of kernel \(kernel)")
        (planes, height, width) = (input.shape[0] * input.shape[1], input.shape[2], input.shape[3])
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
        let paddedHeight = height + padding.top + padding.bottom, paddedWidth = width + padding.left + padding.right
        precondition(paddedHeight >= kernel.0 && paddedWidth >= kernel.1, "\(op): kernel \(kernel) larger than the padded input \(input.shape)")
        outHeight = (paddedHeight - kernel.0) / stride.0 + 1
        outWidth = (paddedWidth - kernel.1) / stride.1 + 1
        outputShape = [input.shape[0], input.shape[1], outHeight, outWidth]
    }

    let outputShape: [Int]

    /// Rows (or columns) of the window of output index `p` that lie inside the image.
    @inline(__always)
    static func clipped(_ p: Int, kernel: Int, stride: Int, before: Int, extent: Int) -> Range<Int> {
        let start = p * stride - before
        return max(start, 0)..<min(start + kernel, extent)
    }

    /// For each output row (`vertical`) or column: the window's extent clipped to the padded image,
    /// not to the image (PyTorch's divisor with count_include_pad: min(start + k, size + after) − start).
    func paddedExtents(vertical: Bool) -> [Int] {
        let (count, k, s, before, after, size) = vertical
            ? (outHeight, kernel.0, stride.0, padding.top, padding.bottom, height)
            : (outWidth, kernel.1, stride.1, padding.left, padding.right, width)
        return (0..<count).map { p in
            let start = p * s - before
            return min(start + k, size + after) - start
        }
    }

    /// y[plane, p, q] = reduce(plane's pixels, p, window rows, q, window columns), planes split over threads.
    @inline(__always)
    func forEachOutput<T: TensorScalar>(
        _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>,
        _ reduce: (UnsafePointer<T>, Int, Range<Int>, Int, Range<Int>) -> T
    ) {
        let (inPlane, outPlane) = (height * width, outHeight * outWidth)
        let columnRanges = (0..<outWidth).map {
            Self.clipped($0, kernel: kernel.1, stride: stride.1, before: padding.left, extent: width)
        }
        parallelChunks(planes, grain: max(1, 16_384 / max(outPlane, 1))) { range in
            for plane in range {
                let source = x + plane * inPlane, destination = y + plane * outPlane
                for p in 0..<outHeight {
                    let rows = Self.clipped(p, kernel: kernel.0, stride: stride.0, before: padding.top, extent: height)
                    for q in 0..<outWidth {
                        destination[p * outWidth + q] = reduce(source, p, rows, q, columnRanges[q])
                    }
                }
            }
        }
    }
}
