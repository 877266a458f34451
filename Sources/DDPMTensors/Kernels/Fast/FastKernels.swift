// Fast Float32 kernels: the namespace, vector load/store helpers and the parallel drivers they share.

/// Vectorised, multithreaded Float32 kernels for elementwise maps, group normalisation and softmax.
///
/// Every kernel here has a plain reference beside it (`ReferenceKernels`, or the C math library
/// for the unary functions) and is tested against it in `FastKernelTests`.
///
/// The one trick shared by all of them: work is done on `SIMD16<Float>` values loaded straight
/// from hoisted pointers, so that with `-target-cpu native` (the Makefile's default) each vector
/// is one AVX-512 register, and no trapping conversion, checked index arithmetic or
/// scalar floating-point reduction stands in the way of the compiler. Polynomials are evaluated
/// with separate multiplies and adds, not `addingProduct`: a build for baseline x86-64 (no FMA)
/// would otherwise call `fmaf` for every lane (about 0.7 GB/s for SiLU). The price in the native
/// build: `addingProduct` in the exp polynomial alone measured +20% on cache-resident exp and SiLU
/// (one thread, 2.7 → 3.25 G elements/s), which matters little once data streams from memory.
/// Getting both would need the polynomials in a C target with per-function target attributes. Large inputs are split over `ComputeThreads.count` threads with
/// `parallelChunks`; small ones stay on the calling thread.
///
/// Input and output may be the same buffer (each element is read before it is written), but
/// must not otherwise overlap.
public enum FastKernels {
    /// Elements below which an elementwise map stays on the calling thread (256 KiB of input):
    /// dispatching to a second thread costs a few microseconds, about the time to stream that much.
    static let elementwiseGrain = 65_536
}

extension UnsafePointer where Pointee == Float {
    /// Loads 16 floats starting at `self + offset` (no alignment needed).
    @inline(__always)
    func loadVector(at offset: Int) -> SIMD16<Float> {
        UnsafeRawPointer(self + offset).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Loads the `count` (< 16) floats starting at `self + offset`; other lanes get `padding`.
    @inline(__always)
    func loadPartialVector(at offset: Int, count: Int, padding: Float) -> SIMD16<Float> {
        var v = SIMD16<Float>(repeating: padding)
        for j in 0..<count { v[j] = self[offset + j] }
        return v
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// Loads 16 floats starting at `self + offset` (no alignment needed).
    @inline(__always)
    func loadVectorMutable(at offset: Int) -> SIMD16<Float> {
        UnsafeRawPointer(self + offset).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Stores 16 floats starting at `self + offset` (no alignment needed).
    @inline(__always)
    func storeVector(_ v: SIMD16<Float>, at offset: Int) {
        UnsafeMutableRawPointer(self + offset).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// Stores the first `count` (< 16) lanes of `v` starting at `self + offset`.
    @inline(__always)
    func storePartialVector(_ v: SIMD16<Float>, at offset: Int, count: Int) {
        for j in 0..<count { self[offset + j] = v[j] }
    }
}

/// A lane-wise function of one vector, as a type: `FastKernels.map` is specialised for each
/// conforming type and its `apply` inlined into the loop. (A closure argument is not inlined: it
/// was called once per vector, with the vector split into four xmm registers for the call.)
protocol UnaryVectorFunction {
    static func apply(_ x: SIMD16<Float>) -> SIMD16<Float>
}

/// A lane-wise function of two vectors, as a type (see `UnaryVectorFunction`).
protocol BinaryVectorFunction {
    static func apply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float>
}

extension FastKernels {
    /// Applies `F` to every element: output[i] = F(input[i]) lane by lane, in parallel chunks.
    /// The tail (count mod 16) goes through the same function with zero padding, so every element
    /// gets the same arithmetic.
    @inline(__always)
    static func map<F: UnaryVectorFunction>(
        _: F.Type, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int
    ) {
        parallelChunks(count, grain: elementwiseGrain) { range in
            var i = range.lowerBound
            let end = range.upperBound
            // Two independent vectors per iteration: the polynomial chains are long and serial.
            while i + 32 <= end {
                let y0 = F.apply(input.loadVector(at: i)), y1 = F.apply(input.loadVector(at: i + 16))
                output.storeVector(y0, at: i)
                output.storeVector(y1, at: i + 16)
                i += 32
            }
            while i + 16 <= end {
                output.storeVector(F.apply(input.loadVector(at: i)), at: i)
                i += 16
            }
            if i < end {
                let rest = end - i
                output.storePartialVector(F.apply(input.loadPartialVector(at: i, count: rest, padding: 0)), at: i, count: rest)
            }
        }
    }

    /// Two-input version of `map`: output[i] = F(a[i], b[i]).
    @inline(__always)
    static func map<F: BinaryVectorFunction>(
        _: F.Type, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int
    ) {
        parallelChunks(count, grain: elementwiseGrain) { range in
            var i = range.lowerBound
            let end = range.upperBound
            while i + 32 <= end {
                let y0 = F.apply(a.loadVector(at: i), b.loadVector(at: i))
                let y1 = F.apply(a.loadVector(at: i + 16), b.loadVector(at: i + 16))
                output.storeVector(y0, at: i)
                output.storeVector(y1, at: i + 16)
                i += 32
            }
            while i + 16 <= end {
                output.storeVector(F.apply(a.loadVector(at: i), b.loadVector(at: i)), at: i)
                i += 16
            }
            if i < end {
                let rest = end - i
                let va = a.loadPartialVector(at: i, count: rest, padding: 0)
                let vb = b.loadPartialVector(at: i, count: rest, padding: 0)
                output.storePartialVector(F.apply(va, vb), at: i, count: rest)
            }
        }
    }

    /// Runs `body(piece, range)` for `pieces` contiguous pieces of `0..<count`, in parallel.
    /// Unlike `parallelChunks`, each call knows its piece number, so it can write a private partial
    /// result (race-free reductions, combined afterwards in piece order: deterministic for a given
    /// thread count).
    static func parallelPieces(_ count: Int, pieces: Int, _ body: (Int, Range<Int>) -> Void) {
        let chunk = (count + pieces - 1) / max(pieces, 1)
        parallelChunks(pieces, grain: 1) { pieceRange in
            for p in pieceRange {
                let start = min(count, p * chunk)
                let end = min(count, start + chunk)
                body(p, start..<end)
            }
        }
    }
}
