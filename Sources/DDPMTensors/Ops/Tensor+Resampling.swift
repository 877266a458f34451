// Nearest-neighbour ×2 upsampling of NCHW activations (DDPM's upsampling before its 3×3 conv) and
// bilinear resizing to any size (PyTorch's F.interpolate, inference only: FID's 299×299 input).

/// Nearest-neighbour ×2 upsampling: each pixel repeated into a 2×2 block,
/// [N, C, H, W] → [N, C, 2H, 2W] (NCHW).
///
/// DDPM's upsampling layer runs this before its 3×3 convolution. The derivative sums each 2×2
/// block of g.
public func upsampleNearest2x(_ input: Tensor) -> Tensor {
    precondition(input.rank == 4, "upsampleNearest2x: input must be NCHW, got \(input.shape)")
    let (h, w) = (input.shape[2], input.shape[3])
    if input.layout == .channelBlocked16 {
        var out = input.blockedUpsampledNearest2x()
        out.record(.upsampleNearest2x(inputShape: input.shape), inputs: [input])
        return out
    }
    var out = Tensor(uninitializedShape: [input.shape[0], input.shape[1], 2 * h, 2 * w], dtype: input.dtype)
    let planes = input.shape[0] * input.shape[1]
    func run<T: TensorScalar>(_: T.Type) {
        input.withUnsafeBufferPointer(as: T.self) { xb in
            out.withUnsafeMutableBufferPointer(as: T.self) { yb in
                let x = xb.baseAddress!, y = yb.baseAddress!
                parallelChunks(planes * h, grain: max(1, 8192 / max(w, 1))) { range in
                    for row in range {
                        let src = x + row * w
                        let dst = y + row * 4 * w
                        for j in 0..<w {
                            let v = src[j]
                            dst[2 * j] = v
                            dst[2 * j + 1] = v
                        }
                        (dst + 2 * w).update(from: dst, count: 2 * w)
                    }
                }
            }
        }
    }
    switch input.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    }
    out.record(.upsampleNearest2x(inputShape: input.shape), inputs: [input])
    return out
}

extension Tensor {
    /// Adjoint of `upsampleNearest2x`: each 2×2 block summed. `self` is [N, C, 2H, 2W].
    func summedOver2x2Blocks() -> Tensor {
        if layout == .channelBlocked16 { return blockedSummedOver2x2Blocks() }
        let (h, w) = (shape[2] / 2, shape[3] / 2)
        var out = Tensor(uninitializedShape: [shape[0], shape[1], h, w], dtype: dtype)
        let planes = shape[0] * shape[1]
        func run<T: TensorScalar>(_: T.Type) {
            withUnsafeBufferPointer(as: T.self) { xb in
                out.withUnsafeMutableBufferPointer(as: T.self) { yb in
                    let x = xb.baseAddress!, y = yb.baseAddress!
                    parallelChunks(planes * h, grain: max(1, 8192 / max(w, 1))) { range in
                        for row in range {
                            let top = x + row * 4 * w
                            let bottom = top + 2 * w
                            let dst = y + row * w
                            for j in 0..<w {
                                dst[j] = top[2 * j] + top[2 * j + 1] + bottom[2 * j] + bottom[2 * j + 1]
                            }
                        }
                    }
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        return out
    }
}

/// Bilinear resizing of NCHW images to `height` × `width`, as PyTorch's
/// `F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)` (no antialiasing,
/// also when shrinking).
///
/// Output pixel (p, q) reads the input at the source coordinates
/// s_y = max((p + ½)·H/height − ½, 0) and s_x likewise (pixel centres aligned, half-pixel offsets):
/// with i = ⌊s_y⌋, λ = s_y − i (and j, μ for x), the neighbour index clamped at the last row or
/// column, y = (1 − λ)·((1 − μ)·x[i, j] + μ·x[i, j+1]) + λ·((1 − μ)·x[i+1, j] + μ·x[i+1, j+1]).
/// Coordinates and weights are computed in the tensor's own precision as PyTorch's CPU kernel does,
/// s_y = fma(H/height, p + ½, −½) with one rounding (PyTorch's compiled kernel contracts it to a fused
/// multiply-add; rounding the product first moves λ by up to 1.5e-5 at H ≈ 300), so Float32 results
/// agree with PyTorch's to an ulp. (PyTorch with one thread and three channels takes another,
/// separable kernel, which differs from both by up to ~5e-6.)
///
/// Inference only: the input must not require gradients (a precondition); no derivative is recorded.
/// pytorch-fid resizes every image to 299 × 299 this way before its Inception network.
///
/// - Parameters:
///   - input: [N, C, H, W] (NCHW), H and W ≥ 1.
///   - height: the output height, ≥ 1.
///   - width: the output width, ≥ 1.
/// - Returns: [N, C, height, width].
public func resizeBilinear(_ input: Tensor, height: Int, width: Int) -> Tensor {
    precondition(
        input.rank == 4 && input.shape[2] >= 1 && input.shape[3] >= 1,
        "resizeBilinear: input must be NCHW with H, W ≥ 1, got \(input.shape)")
    precondition(height >= 1 && width >= 1, "resizeBilinear: output size \(height)×\(width) must be at least 1×1")
    precondition(!input.requiresGradient, "resizeBilinear: inference only; the input requires gradients")
    let (inHeight, inWidth) = (input.shape[2], input.shape[3])
    var out = Tensor(uninitializedShape: [input.shape[0], input.shape[1], height, width], dtype: input.dtype)
    let planes = input.shape[0] * input.shape[1]
    func run<T: TensorScalar>(_: T.Type) {
        let rows = BilinearTaps<T>(input: inHeight, output: height)
        let columns = BilinearTaps<T>(input: inWidth, output: width)
        input.withUnsafeBufferPointer(as: T.self) { xb in
            out.withUnsafeMutableBufferPointer(as: T.self) { yb in
                let (x, y) = (xb.baseAddress!, yb.baseAddress!)
                parallelChunks(planes * height, grain: max(1, 8192 / width)) { range in
                    for r in range {
                        let (plane, p) = r.quotientAndRemainder(dividingBy: height)
                        let top = x + plane * inHeight * inWidth + rows.first[p] * inWidth
                        let bottom = x + plane * inHeight * inWidth + rows.second[p] * inWidth
                        let (λ0, λ1) = (rows.firstWeight[p], rows.secondWeight[p])
                        let destination = y + r * width
                        for q in 0..<width {
                            let (j0, j1) = (columns.first[q], columns.second[q])
                            let (μ0, μ1) = (columns.firstWeight[q], columns.secondWeight[q])
                            destination[q] = λ0 * (μ0 * top[j0] + μ1 * top[j1]) + λ1 * (μ0 * bottom[j0] + μ1 * bottom[j1])
                        }
                    }
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

/// The two input indices and weights of each output index along one axis, PyTorch's
/// `compute_indices_weights_linear` with `align_corners=False`.
struct BilinearTaps<T: TensorScalar> {
    var first: [Int] = [], second: [Int] = [], firstWeight: [T] = [], secondWeight: [T] = []

    init(input: Int, output: Int) {
        let scale = T(input) / T(output)
        for i in 0..<output {
            let source = max((-T(0.5)).addingProduct(scale, T(i) + T(0.5)), 0)
            let index = min(Int(source.rounded(.down)), input - 1)
            let λ = min(max(source - T(index), 0), 1)
            first.append(index)
            second.append(index + (index < input - 1 ? 1 : 0))
            firstWeight.append(1 - λ)
            secondWeight.append(λ)
        }
    }
}
