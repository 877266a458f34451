// Nearest ×2 upsampling and its adjoint on nChw16c activations: the row-major loops with 16-channel vectors for elements.

extension Tensor {
    /// `upsampleNearest2x` of a blocked tensor, blocked: each 16-channel vector is written to the
    /// four positions of its 2×2 block.
    func blockedUpsampledNearest2x() -> Tensor {
        precondition(layout == .channelBlocked16, "blockedUpsampledNearest2x: \(layout) input")
        let (h, w) = (shape[2], shape[3])
        var out = Tensor(uninitializedShape: [shape[0], shape[1], 2 * h, 2 * w], dtype: dtype, layout: .channelBlocked16)
        let rows = shape[0] * shape[1] / TensorLayout.block * h
        let row = 16 * w  // floats per input row of one block
        withUnsafeStoredElements(as: Float.self) { xb in
            out.withUnsafeMutableStoredElements(as: Float.self) { yb in
                let (x, y) = (xb.baseAddress!, yb.baseAddress!)
                parallelChunks(rows, grain: max(1, 8192 / max(row, 1))) { range in
                    for r in range {
                        let (src, dst) = (x + r * row, y + r * 4 * row)
                        for j in 0..<w {
                            let v = src.loadVector(at: 16 * j)
                            dst.storeVector(v, at: 32 * j)
                            dst.storeVector(v, at: 32 * j + 16)
                        }
                        (dst + 2 * row).update(from: dst, count: 2 * row)
                    }
                }
            }
        }
        return out
    }

    /// `summedOver2x2Blocks` of a blocked tensor [N, C, 2H, 2W], blocked: the four 16-channel
    /// vectors of each 2×2 block added.
    func blockedSummedOver2x2Blocks() -> Tensor {
        precondition(layout == .channelBlocked16, "blockedSummedOver2x2Blocks: \(layout) input")
        let (h, w) = (shape[2] / 2, shape[3] / 2)
        var out = Tensor(uninitializedShape: [shape[0], shape[1], h, w], dtype: dtype, layout: .channelBlocked16)
        let rows = shape[0] * shape[1] / TensorLayout.block * h
        let row = 16 * w  // floats per output row of one block
        withUnsafeStoredElements(as: Float.self) { xb in
            out.withUnsafeMutableStoredElements(as: Float.self) { yb in
                let (x, y) = (xb.baseAddress!, yb.baseAddress!)
                parallelChunks(rows, grain: max(1, 8192 / max(row, 1))) { range in
                    for r in range {
                        let (top, dst) = (x + r * 4 * row, y + r * row)
                        let bottom = top + 2 * row
                        for j in 0..<w {
                            let sum =
                                (top.loadVector(at: 32 * j) + top.loadVector(at: 32 * j + 16))
                                + (bottom.loadVector(at: 32 * j) + bottom.loadVector(at: 32 * j + 16))
                            dst.storeVector(sum, at: 16 * j)
                        }
                    }
                }
            }
        }
        return out
    }
}
