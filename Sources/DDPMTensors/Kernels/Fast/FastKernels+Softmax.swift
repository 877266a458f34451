// Fast softmax over contiguous rows (attention), forward and backward; other layouts use the reference kernel.

extension FastKernels {
    /// Softmax along an axis of extent `axis` of a tensor viewed as [outer, axis, inner]:
    /// y = exp(x − max) / Σ exp(x − max), the contract of `ReferenceKernels.softmaxForward`.
    ///
    /// When `inner == 1` the rows are contiguous (attention scores): three vector passes per row —
    /// max, exp and sum (writing the exponentials), scale by 1/sum — with rows spread over threads.
    /// Subtracting the max keeps large logits finite; a row of all −inf gives NaN as in the
    /// reference. Error a few ulp (`VectorMath.exp` ≤ 2 ulp, one reciprocal). Other layouts run the
    /// reference kernel. Trick: the row stays in L1/L2 between the passes, so only the first
    /// read and the last write touch memory.
    public static func softmaxForward(
        input x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, outer: Int, axis: Int, inner: Int
    ) {
        guard inner == 1, axis > 0 else {
            ReferenceKernels.softmaxForward(input: x, output: y, outer: outer, axis: axis, inner: inner)
            return
        }
        parallelChunks(outer, grain: max(1, elementwiseGrain / axis)) { rows in
            for row in rows {
                let xr = x + row * axis, yr = y + row * axis
                // 1. Row maximum.
                var m0 = SIMD16<Float>(repeating: -.infinity), m1 = m0
                var i = 0
                while i + 32 <= axis {
                    m0 = larger(m0, xr.loadVector(at: i))
                    m1 = larger(m1, xr.loadVector(at: i + 16))
                    i += 32
                }
                while i < axis {
                    let n = min(16, axis - i)
                    m0 = larger(m0, n == 16 ? xr.loadVector(at: i) : xr.loadPartialVector(at: i, count: n, padding: -.infinity))
                    i += n
                }
                let rowMax = larger(m0, m1).max()
                // 2. Exponentials and their sum.
                let shift = SIMD16<Float>(repeating: rowMax)
                var sum = SIMD16<Float>()
                i = 0
                while i + 16 <= axis {
                    let e = VectorMath.exp(xr.loadVector(at: i) - shift)
                    yr.storeVector(e, at: i)
                    sum += e
                    i += 16
                }
                if i < axis {
                    let n = axis - i
                    let e = VectorMath.exp(xr.loadPartialVector(at: i, count: n, padding: -.infinity) - shift)
                    yr.storePartialVector(e, at: i, count: n)
                    sum += e
                }
                // 3. Normalise.
                let scale = SIMD16<Float>(repeating: 1 / sum.sum())
                i = 0
                while i + 16 <= axis {
                    yr.storeVector(yr.loadVectorMutable(at: i) * scale, at: i)
                    i += 16
                }
                while i < axis {
                    yr[i] *= scale[0]
                    i += 1
                }
            }
        }
    }

    /// The lane-wise maximum as a compare and a blend (one instruction each). `pointwiseMax` is
    /// compiled lane by lane with scalar compares for its NaN rules; here a NaN lane may be dropped
    /// from the maximum, since its exponential makes the row's sum, and so every output, NaN anyway.
    @inline(__always)
    private static func larger(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        a.replacing(with: b, where: b .> a)
    }

    /// Backward of softmax from its output y: dx = y·(dy − Σ_axis dy·y), the contract of
    /// `ReferenceKernels.softmaxBackward`. Fast path for `inner == 1` (a vector dot product and a
    /// vector update per row, rows over threads); other layouts run the reference kernel.
    public static func softmaxBackward(
        output y: UnsafePointer<Float>, outputGrad dy: UnsafePointer<Float>, inputGrad dx: UnsafeMutablePointer<Float>,
        outer: Int, axis: Int, inner: Int
    ) {
        guard inner == 1, axis > 0 else {
            ReferenceKernels.softmaxBackward(output: y, outputGrad: dy, inputGrad: dx, outer: outer, axis: axis, inner: inner)
            return
        }
        parallelChunks(outer, grain: max(1, elementwiseGrain / axis)) { rows in
            for row in rows {
                let yr = y + row * axis, gr = dy + row * axis, dxr = dx + row * axis
                var d0 = SIMD16<Float>(), d1 = SIMD16<Float>()
                var i = 0
                while i + 32 <= axis {
                    d0 += yr.loadVector(at: i) * gr.loadVector(at: i)
                    d1 += yr.loadVector(at: i + 16) * gr.loadVector(at: i + 16)
                    i += 32
                }
                while i < axis {
                    let n = min(16, axis - i)
                    let a = n == 16 ? yr.loadVector(at: i) : yr.loadPartialVector(at: i, count: n, padding: 0)
                    let b = n == 16 ? gr.loadVector(at: i) : gr.loadPartialVector(at: i, count: n, padding: 0)
                    d0 += a * b
                    i += n
                }
                let dot = SIMD16<Float>(repeating: (d0 + d1).sum())
                i = 0
                while i + 16 <= axis {
                    dxr.storeVector(yr.loadVector(at: i) * (gr.loadVector(at: i) - dot), at: i)
                    i += 16
                }
                if i < axis {
                    let n = axis - i
                    let a = yr.loadPartialVector(at: i, count: n, padding: 0)
                    let b = gr.loadPartialVector(at: i, count: n, padding: 0)
                    dxr.storePartialVector(a * (b - dot), at: i, count: n)
                }
            }
        }
    }
}
