// Nearest-neighbour ×2 upsampling of NCHW activations (DDPM's upsampling before its 3×3 conv).

/// Nearest-neighbour ×2 upsampling: each pixel repeated into a 2×2 block,
/// [N, C, H, W] → [N, C, 2H, 2W] (NCHW).
///
/// DDPM's upsampling layer runs this before its 3×3 convolution. The derivative sums each 2×2
/// block of g.
public func upsampleNearest2x(_ input: Tensor) -> Tensor {
    precondition(input.rank == 4, "upsampleNearest2x: input must be NCHW, got \(input.shape)")
    let (h, w) = (input.shape[2], input.shape[3])
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
