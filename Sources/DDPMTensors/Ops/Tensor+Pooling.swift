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
                window.reduce(x.baseAddress!, y.baseAddress!, MaximumPooling.self, rowCounts: [], columnCounts: [])
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
    // The divisor of output (p, q) is rowCounts[p] · columnCounts[q] either way.
    let rowCounts = countingPadding ? window.paddedExtents(vertical: true) : window.insideExtents(vertical: true)
    let columnCounts = countingPadding ? window.paddedExtents(vertical: false) : window.insideExtents(vertical: false)
    func run<T: TensorScalar>(_: T.Type) {
        input.withUnsafeBufferPointer(as: T.self) { x in
            out.withUnsafeMutableBufferPointer(as: T.self) { y in
                window.reduce(x.baseAddress!, y.baseAddress!, AveragePooling.self, rowCounts: rowCounts, columnCounts: columnCounts)
            }
        }
    }
    switch input.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    }
    return out
}

/// How a pool combines its window: a pairwise combination and a final step given the divisor.
protocol PoolingOperation {
    static func combine<T: TensorScalar>(_ a: T, _ b: T) -> T
    static func finish<T: TensorScalar>(_ value: T, count: Int) -> T
}

/// The maximum; NaN wins, as in PyTorch.
enum MaximumPooling: PoolingOperation {
    @inline(__always) static func combine<T: TensorScalar>(_ a: T, _ b: T) -> T { b > a || b.isNaN ? b : a }
    @inline(__always) static func finish<T: TensorScalar>(_ value: T, count: Int) -> T { value }
}

/// The sum, divided by the count.
enum AveragePooling: PoolingOperation {
    @inline(__always) static func combine<T: TensorScalar>(_ a: T, _ b: T) -> T { a + b }
    @inline(__always) static func finish<T: TensorScalar>(_ value: T, count: Int) -> T { value / T(count) }
}

/// The geometry both pools share: sizes, the window of each output pixel clipped to the image.
struct PoolingWindow {
    let planes: Int, height: Int, width: Int
    let kernel: (Int, Int), stride: (Int, Int), padding: Padding2D
    let outHeight: Int, outWidth: Int

    init(_ input: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: Padding2D, _ op: String) {
        precondition(input.rank == 4, "\(op): input must be NCHW, got \(input.shape)")
        precondition(!input.requiresGradient, "\(op): inference only; the input requires gradients")
        precondition(
            kernel.0 >= 1 && kernel.1 >= 1 && stride.0 >= 1 && stride.1 >= 1, "\(op): kernel \(kernel) and stride \(stride) must be ≥ 1")
        precondition(
            [padding.top, padding.bottom].allSatisfy { $0 >= 0 && 2 * $0 <= kernel.0 }
                && [padding.left, padding.right].allSatisfy { $0 >= 0 && 2 * $0 <= kernel.1 },
            "\(op): padding \(padding) must be at most half of kernel \(kernel)")
        (planes, height, width) = (input.shape[0] * input.shape[1], input.shape[2], input.shape[3])
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
        let paddedHeight = height + padding.top + padding.bottom, paddedWidth = width + padding.left + padding.right
        precondition(
            paddedHeight >= kernel.0 && paddedWidth >= kernel.1, "\(op): kernel \(kernel) larger than the padded input \(input.shape)")
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
        let (count, k, s, before, after, size) =
            vertical
            ? (outHeight, kernel.0, stride.0, padding.top, padding.bottom, height)
            : (outWidth, kernel.1, stride.1, padding.left, padding.right, width)
        return (0..<count).map { p in
            let start = p * s - before
            return min(start + k, size + after) - start
        }
    }

    /// For each output row (`vertical`) or column: how many of its window's rows (columns) lie in the image.
    func insideExtents(vertical: Bool) -> [Int] {
        let (count, k, s, before, size) =
            vertical
            ? (outHeight, kernel.0, stride.0, padding.top, height) : (outWidth, kernel.1, stride.1, padding.left, width)
        return (0..<count).map { Self.clipped($0, kernel: k, stride: s, before: before, extent: size).count }
    }

    /// y[plane, p, q] = Op.finish(Op.combine over the window's image pixels, count: rowCounts[p] ·
    /// columnCounts[q]), planes split over threads. The trick: for each output row, the window's rows
    /// are first combined column by column into one row (a contiguous loop the compiler vectorises),
    /// then each output pixel combines its window's columns of that row — k_H + k_W operations per
    /// pixel instead of k_H·k_W, in an order (down the columns, then across) that can differ from
    /// PyTorch's row-major sum by an ulp.
    func reduce<T: TensorScalar, Op: PoolingOperation>(
        _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _: Op.Type, rowCounts: [Int], columnCounts: [Int]
    ) {
        let (inPlane, outPlane, width, outWidth, outHeight) = (height * width, outHeight * outWidth, width, outWidth, outHeight)
        let columnStarts = (0..<outWidth).map {
            Self.clipped($0, kernel: kernel.1, stride: stride.1, before: padding.left, extent: width).lowerBound
        }
        let columnEnds = (0..<outWidth).map {
            Self.clipped($0, kernel: kernel.1, stride: stride.1, before: padding.left, extent: width).upperBound
        }
        let counts = !rowCounts.isEmpty
        parallelChunks(planes * outHeight, grain: max(1, 16_384 / max(width * kernel.0, 1))) { range in
            let line = UnsafeMutablePointer<T>.allocate(capacity: width)
            defer { line.deallocate() }
            columnStarts.withUnsafeBufferPointer { starts in
                columnEnds.withUnsafeBufferPointer { ends in
                    for r in range {
                        let (plane, p) = r.quotientAndRemainder(dividingBy: outHeight)
                        let rows = Self.clipped(p, kernel: kernel.0, stride: stride.0, before: padding.top, extent: height)
                        let source = x + plane * inPlane
                        // 1. The window's rows combined, column by column.
                        line.update(from: source + rows.lowerBound * width, count: width)
                        var a = rows.lowerBound + 1
                        while a < rows.upperBound {
                            let row = source + a * width
                            for b in 0..<width { line[b] = Op.combine(line[b], row[b]) }
                            a += 1
                        }
                        // 2. Each output pixel: its window's columns of that line.
                        let destination = y + plane * outPlane + p * outWidth
                        let rowCount = counts ? rowCounts[p] : 1
                        for q in 0..<outWidth {
                            var value = line[starts[q]]
                            var b = starts[q] + 1
                            while b < ends[q] {
                                value = Op.combine(value, line[b])
                                b += 1
                            }
                            destination[q] = Op.finish(value, count: counts ? rowCount * columnCounts[q] : 1)
                        }
                    }
                }
            }
        }
    }
}
