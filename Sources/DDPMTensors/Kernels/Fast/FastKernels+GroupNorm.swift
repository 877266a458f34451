// Fast group normalisation over NCHW Float32 activations (Wu & He 2018), forward and backward.

extension FastKernels {
    /// Group normalisation, NCHW: the same contract as `ReferenceKernels.groupNormForward`.
    ///
    /// Channels are split into `groups` consecutive groups; for sample n and group g the
    /// M = (channels/groups)·spatial elements are contiguous in NCHW. With μ and σ² their mean and
    /// biased variance: y = (x − μ)/√(σ² + eps)·gamma[c] + beta[c]; `mean` and `rstd` receive
    /// batch × groups values.
    ///
    /// Statistics: two passes over the group. Sums are kept in `SIMD16<Float>` accumulators over
    /// blocks of 2048 elements (each lane adds at most 64 values) and each block's total is added in
    /// Double, so the Float32 error does not grow with M (groups of 65k elements and more are fine).
    /// The second pass sums d = x − μ_f (μ_f the Float mean) and d², and uses
    /// μ = μ_f + Σd/M and σ² = (Σd² − (Σd)²/M)/M, which correct for the error of μ_f; a large
    /// common offset (1000 + noise) therefore costs no accuracy. The output is
    /// (x − μ_f)·(rstd·gamma) + shift rather than x·scale + shift, for the same reason. Agrees with
    /// the reference (Double) to a few Float ulp (tests: mean 4e-7 relative, rstd 2e-6, y 2e-6).
    ///
    /// The trick: a group of a U-Net layer is a few hundred KiB at most, so after the first pass
    /// streams it from memory the other two passes read it from L2 (1 MiB per core here); the
    /// kernel moves about as many bytes as a copy. Larger groups still work but stream three times. Work is split over (n, g) pairs; when there are fewer pairs than 2 × threads and the
    /// groups are large, each group is split over the threads instead.
    public static func groupNormForward(
        input x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        output y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, groups: Int, eps: Double
    ) {
        groupNormForward(
            x, gamma, beta, y, mean, rstd, batch: batch, channels: channels, spatial: spatial,
            groups: groups, eps: eps, silu: false)
    }

    /// Group normalisation followed by SiLU, y = silu(groupNorm(x)), NCHW: `groupNormForward` with
    /// SiLU applied to each normalised vector before it is stored (the contract of the reference
    /// composition; `mean` and `rstd` are the group norm's). The one trick: the activation costs no
    /// pass of its own over memory, and the normalised values are never stored.
    public static func groupNormSiLUForward(
        input x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        output y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, groups: Int, eps: Double
    ) {
        groupNormForward(
            x, gamma, beta, y, mean, rstd, batch: batch, channels: channels, spatial: spatial,
            groups: groups, eps: eps, silu: true)
    }

    private static func groupNormForward(
        _ x: UnsafePointer<Float>, _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>,
        _ y: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, groups: Int, eps: Double, silu: Bool
    ) {
        precondition(
            groups > 0 && channels % groups == 0,
            "groupNormForward: channels \(channels) must be divisible by groups \(groups)")
        let perGroup = channels / groups
        let m = perGroup * spatial
        let pairs = batch * groups
        guard pairs > 0, m > 0 else { return }

        // Statistics of pair p from its two passes' sums.
        // The first pass's mean μ_f is refined by the second pass: μ = μ_f + Σd/M.
        func finish(_ p: Int, meanFloat: Float, shifted: (sum: Double, squares: Double)) -> Double {
            let variance = max(0, (shifted.squares - shifted.sum * shifted.sum / Double(m)) / Double(m))
            let refined = Double(meanFloat) + shifted.sum / Double(m)
            mean[p] = Float(refined)
            rstd[p] = Float(1 / (variance + eps).squareRoot())
            return refined
        }

        if splitWithinGroups(pairs: pairs, groupSize: m) {
            let pieces = ComputeThreads.count
            let partial = UnsafeMutablePointer<Double>.allocate(capacity: 2 * pieces)
            defer { partial.deallocate() }
            for p in 0..<pairs {
                let base = x + p * m
                parallelPieces(m, pieces: pieces) { piece, r in
                    partial[piece] = shiftedSums(base + r.lowerBound, count: r.count, shift: 0).sum
                }
                let sum = (0..<pieces).reduce(0.0) { $0 + partial[$1] }
                let mu = Float(sum / Double(m))
                parallelPieces(m, pieces: pieces) { piece, r in
                    let s = shiftedSums(base + r.lowerBound, count: r.count, shift: mu)
                    partial[2 * piece] = s.sum
                    partial[2 * piece + 1] = s.squares
                }
                var shifted = (sum: 0.0, squares: 0.0)
                for piece in 0..<pieces { shifted.sum += partial[2 * piece]; shifted.squares += partial[2 * piece + 1] }
                let refined = finish(p, meanFloat: mu, shifted: shifted)
                let g = p % groups
                parallelChunks(m, grain: elementwiseGrain) { r in
                    normalise(
                        x: base, y: y + p * m, range: r, spatial: spatial, gamma: gamma + g * perGroup,
                        beta: beta + g * perGroup, meanFloat: mu, mean: refined, rstd: Double(rstd[p]), silu: silu)
                }
            }
            return
        }

        parallelChunks(pairs, grain: max(1, elementwiseGrain / m)) { pairRange in
            for p in pairRange {
                let base = x + p * m
                let sum = shiftedSums(base, count: m, shift: 0).sum
                let mu = Float(sum / Double(m))
                let shifted = shiftedSums(base, count: m, shift: mu)
                let refined = finish(p, meanFloat: mu, shifted: shifted)
                let g = p % groups
                normalise(
                    x: base, y: y + p * m, range: 0..<m, spatial: spatial, gamma: gamma + g * perGroup,
                    beta: beta + g * perGroup, meanFloat: mu, mean: refined, rstd: Double(rstd[p]), silu: silu)
            }
        }
    }

    /// Backward of `groupNormForward`, NCHW, with the contract of `ReferenceKernels.groupNormBackward`:
    /// with x̂ = (x − μ)·rstd and gᵢ = dyᵢ·gamma[c] over a group of M elements,
    /// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)); dgamma[c] = Σ dy·x̂ and dbeta[c] = Σ dy over the batch
    /// and positions (overwritten).
    ///
    /// Pass 1 per channel: Σdy and Σdy·(x − μ_f) (SIMD, blocked into Double as in the forward
    /// pass; x − μ_f keeps a large mean from cancelling). Pass 2 per channel:
    /// dx = A_c·dy + B·(x − μ_f) + C with A_c = rstd·gamma[c], B = −rstd²·mean(g·x̂),
    /// C = −rstd·mean(g) + B·(μ_f − μ), so the second pass is one multiply-add chain per element
    /// over data still in cache. dgamma/dbeta are race-free: each thread sums
    /// its (n, g) pairs into its own per-channel partials (Double), combined in thread order
    /// afterwards (deterministic for a given thread count).
    public static func groupNormBackward(
        input x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        outputGrad dy: UnsafePointer<Float>, inputGrad dx: UnsafeMutablePointer<Float>,
        gammaGrad dgamma: UnsafeMutablePointer<Float>, betaGrad dbeta: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, groups: Int
    ) {
        groupNormBackward(
            x, gamma, nil, mean, rstd, dy, dx, dgamma, dbeta, batch: batch, channels: channels, spatial: spatial, groups: groups)
    }

    /// Backward of `groupNormSiLUForward`: with z = groupNorm(x) recomputed from x, `mean`, `rstd`,
    /// gamma and beta, dz = dy·silu′(z), then `groupNormBackward` of dz. The one trick: dz is
    /// written into `inputGrad` one group at a time, while the group is still in cache, and the
    /// group norm's two passes read it from there (the last overwrites it with dx), so neither z
    /// nor dz ever exists as a tensor.
    public static func groupNormSiLUBackward(
        input x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        outputGrad dy: UnsafePointer<Float>, inputGrad dx: UnsafeMutablePointer<Float>,
        gammaGrad dgamma: UnsafeMutablePointer<Float>, betaGrad dbeta: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, groups: Int
    ) {
        groupNormBackward(
            x, gamma, beta, mean, rstd, dy, dx, dgamma, dbeta, batch: batch, channels: channels, spatial: spatial, groups: groups)
    }

    /// Both backward passes; `siluBeta` is nil for the plain group norm.
    private static func groupNormBackward(
        _ x: UnsafePointer<Float>, _ gamma: UnsafePointer<Float>, _ siluBeta: UnsafePointer<Float>?,
        _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
        _ outputGrad: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
        _ dgamma: UnsafeMutablePointer<Float>, _ dbeta: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, groups: Int
    ) {
        precondition(
            groups > 0 && channels % groups == 0,
            "groupNormBackward: channels \(channels) must be divisible by groups \(groups)")
        let perGroup = channels / groups
        let m = perGroup * spatial
        let pairs = batch * groups
        let threads = ComputeThreads.count
        // Per-piece partial dgamma, dbeta (channels each).
        let pieces = max(1, min(threads, pairs * m / elementwiseGrain))
        let split = splitWithinGroups(pairs: pairs, groupSize: m)
        let slots = split ? threads : pieces
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: 2 * channels * slots)
        partial.initialize(repeating: 0, count: 2 * channels * slots)
        defer { partial.deallocate() }
        // Per-piece per-channel sums of one group when a group is split over threads.
        let groupPartial = UnsafeMutablePointer<Double>.allocate(capacity: 2 * perGroup * slots)
        defer { groupPartial.deallocate() }

        // Combines one group's per-channel sums (Σdy, Σdy·(x − μ_f)) into the dx coefficients and
        // adds its dgamma/dbeta contributions to `accumulator`.
        func coefficients(
            p: Int, sumDy: (Int) -> Double, sumDyD: (Int) -> Double, meanFloat: Float,
            accumulator: UnsafeMutablePointer<Double>
        ) -> (b: Double, c: Double) {
            let g = p % groups
            let mu = Double(mean[p]), r = Double(rstd[p])
            let delta = Double(meanFloat) - mu  // x − μ = (x − μ_f) + delta
            var sumG = 0.0, sumGX = 0.0
            for c in 0..<perGroup {
                let channel = g * perGroup + c
                let a = sumDy(c)
                let dyXhat = r * (sumDyD(c) + delta * a)
                accumulator[channel] += dyXhat
                accumulator[channels + channel] += a
                sumG += Double(gamma[channel]) * a
                sumGX += Double(gamma[channel]) * dyXhat
            }
            let meanG = sumG / Double(m), meanGX = sumGX / Double(m)
            let b = -r * r * meanGX
            return (b, -r * meanG + b * delta)
        }

        if split {
            for p in 0..<pairs {
                let g = p % groups
                let xBase = x + p * m
                let mu = mean[p]
                var dyBase = outputGrad + p * m
                if let siluBeta {
                    let r = Double(rstd[p])
                    parallelChunks(m, grain: elementwiseGrain) { range in
                        siluGradient(
                            x: xBase, dy: dyBase, dz: dx + p * m, range: range, spatial: spatial, gamma: gamma + g * perGroup,
                            beta: siluBeta + g * perGroup, meanFloat: mu, mean: Double(mu), rstd: r)
                    }
                    dyBase = UnsafePointer(dx + p * m)
                }
                groupPartial.initialize(repeating: 0, count: 2 * perGroup * threads)
                parallelPieces(m, pieces: threads) { piece, r in
                    channelGradientSums(
                        x: xBase, dy: dyBase, range: r, spatial: spatial, meanFloat: mu,
                        sumDy: groupPartial + 2 * perGroup * piece,
                        sumDyD: groupPartial + 2 * perGroup * piece + perGroup)
                }
                let (b, c) = coefficients(
                    p: p,
                    sumDy: { c in (0..<threads).reduce(0.0) { $0 + groupPartial[2 * perGroup * $1 + c] } },
                    sumDyD: { c in (0..<threads).reduce(0.0) { $0 + groupPartial[2 * perGroup * $1 + perGroup + c] } },
                    meanFloat: mu, accumulator: partial)
                let r = rstd[p]
                parallelChunks(m, grain: elementwiseGrain) { range in
                    inputGradient(
                        x: xBase, dy: dyBase, dx: dx + p * m, range: range, spatial: spatial,
                        gamma: gamma + g * perGroup, rstd: r, meanFloat: mu, b: Float(b), c: Float(c))
                }
            }
        } else {
            parallelPieces(pairs, pieces: pieces) { piece, pairRange in
                let accumulator = partial + 2 * channels * piece
                let sums = groupPartial + 2 * perGroup * piece
                for p in pairRange {
                    let g = p % groups
                    let xBase = x + p * m
                    let mu = mean[p]
                    var dyBase = outputGrad + p * m
                    if let siluBeta {
                        siluGradient(
                            x: xBase, dy: dyBase, dz: dx + p * m, range: 0..<m, spatial: spatial, gamma: gamma + g * perGroup,
                            beta: siluBeta + g * perGroup, meanFloat: mu, mean: Double(mu), rstd: Double(rstd[p]))
                        dyBase = UnsafePointer(dx + p * m)
                    }
                    sums.initialize(repeating: 0, count: 2 * perGroup)
                    channelGradientSums(
                        x: xBase, dy: dyBase, range: 0..<m, spatial: spatial, meanFloat: mu,
                        sumDy: sums, sumDyD: sums + perGroup)
                    let (b, c) = coefficients(
                        p: p, sumDy: { sums[$0] }, sumDyD: { sums[perGroup + $0] },
                        meanFloat: mu, accumulator: accumulator)
                    inputGradient(
                        x: xBase, dy: dyBase, dx: dx + p * m, range: 0..<m, spatial: spatial,
                        gamma: gamma + g * perGroup, rstd: rstd[p], meanFloat: mu, b: Float(b), c: Float(c))
                }
            }
        }
        combineChannelPartials(partial, channels: channels, slots: slots, dgamma: dgamma, dbeta: dbeta)
    }

    /// dgamma[c] and dbeta[c] from per-slot Double partials (slot s holds `channels` dgamma terms,
    /// then `channels` dbeta terms), added in slot order: deterministic for a given thread count.
    static func combineChannelPartials(
        _ partial: UnsafePointer<Double>, channels: Int, slots: Int, dgamma: UnsafeMutablePointer<Float>,
        dbeta: UnsafeMutablePointer<Float>
    ) {
        for channel in 0..<channels {
            var dg = 0.0, db = 0.0
            for slot in 0..<slots {
                dg += partial[2 * channels * slot + channel]
                db += partial[2 * channels * slot + channels + channel]
            }
            dgamma[channel] = Float(dg)
            dbeta[channel] = Float(db)
        }
    }

    // MARK: - Pieces

    /// Whether to split each group over the threads rather than handing whole groups to them:
    /// too few (n, g) pairs to balance, and groups big enough to be worth splitting.
    private static func splitWithinGroups(pairs: Int, groupSize: Int) -> Bool {
        let threads = ComputeThreads.count
        return threads > 1 && pairs < 2 * threads && groupSize >= 2 * elementwiseGrain
    }

    /// Elements per block whose Float SIMD sums are added into Double (64 per lane at most).
    private static let sumBlock = 2048

    /// (Σ(x − shift), Σ(x − shift)²) over `count` elements: two pairs of SIMD16 accumulators
    /// within blocks of `sumBlock` elements, block totals added in Double.
    @inline(__always)
    private static func shiftedSums(_ x: UnsafePointer<Float>, count: Int, shift: Float) -> (sum: Double, squares: Double) {
        let s = SIMD16<Float>(repeating: shift)
        var total = 0.0, totalSquares = 0.0
        var i = 0
        while i < count {
            let blockEnd = min(count, i + sumBlock)
            var sum0 = SIMD16<Float>(), sum1 = SIMD16<Float>(), squares0 = SIMD16<Float>(), squares1 = SIMD16<Float>()
            while i + 32 <= blockEnd {
                let d0 = x.loadVector(at: i) - s, d1 = x.loadVector(at: i + 16) - s
                sum0 += d0; sum1 += d1
                squares0 += d0 * d0; squares1 += d1 * d1
                i += 32
            }
            while i < blockEnd {
                let n = min(16, blockEnd - i)
                let d = (n == 16 ? x.loadVector(at: i) : x.loadPartialVector(at: i, count: n, padding: shift)) - s
                sum0 += d
                squares0 += d * d
                i += n
            }
            let sum = sum0 + sum1, squares = squares0 + squares1
            for j in 0..<16 {
                total += Double(sum[j])
                totalSquares += Double(squares[j])
            }
        }
        return (total, totalSquares)
    }

    /// (Σ dy, Σ dy·(x − shift)) over `count` elements, blocked like `shiftedSums`.
    @inline(__always)
    private static func gradientSums(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, count: Int, shift: Float
    ) -> (sumDy: Double, sumDyD: Double) {
        let s = SIMD16<Float>(repeating: shift)
        var totalDy = 0.0, totalDyD = 0.0
        var i = 0
        while i < count {
            let blockEnd = min(count, i + sumBlock)
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), b0 = SIMD16<Float>(), b1 = SIMD16<Float>()
            while i + 32 <= blockEnd {
                let g0 = dy.loadVector(at: i), g1 = dy.loadVector(at: i + 16)
                a0 += g0; a1 += g1
                b0 += g0 * (x.loadVector(at: i) - s); b1 += g1 * (x.loadVector(at: i + 16) - s)
                i += 32
            }
            while i < blockEnd {
                let n = min(16, blockEnd - i)
                let g = n == 16 ? dy.loadVector(at: i) : dy.loadPartialVector(at: i, count: n, padding: 0)
                let v = n == 16 ? x.loadVector(at: i) : x.loadPartialVector(at: i, count: n, padding: shift)
                a0 += g
                b0 += g * (v - s)
                i += n
            }
            let a = a0 + a1, b = b0 + b1
            for j in 0..<16 {
                totalDy += Double(a[j])
                totalDyD += Double(b[j])
            }
        }
        return (totalDy, totalDyD)
    }

    /// Calls `body(c, segment)` for each channel c of a group that meets `range` (element offsets
    /// within the group), with the part of `range` inside channel c.
    @inline(__always)
    private static func forEachChannel(in range: Range<Int>, spatial: Int, _ body: (Int, Range<Int>) -> Void) {
        guard !range.isEmpty else { return }
        for c in (range.lowerBound / spatial)...((range.upperBound - 1) / spatial) {
            body(c, max(range.lowerBound, c * spatial)..<min(range.upperBound, (c + 1) * spatial))
        }
    }

    /// y = (x − μ_f)·(rstd·gamma[c]) + (beta[c] − (μ − μ_f)·rstd·gamma[c]) over `range` of one group.
    @inline(__always)
    private static func normalise(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, range: Range<Int>, spatial: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, meanFloat: Float, mean: Double, rstd: Double, silu: Bool
    ) {
        forEachChannel(in: range, spatial: spatial) { c, segment in
            let (scale, offset) = affine(gamma: gamma[c], beta: beta[c], meanFloat: meanFloat, mean: mean, rstd: rstd)
            let start = segment.lowerBound
            if silu {
                affineMap(SiLUFunction.self, x + start, y + start, count: segment.count, shift: meanFloat, scale: scale, offset: offset)
            } else {
                affineMap(IdentityFunction.self, x + start, y + start, count: segment.count, shift: meanFloat, scale: scale, offset: offset)
            }
        }
    }

    /// y[i] = F((x[i] − shift)·scale + offset) over `count` elements. Not inlined, and with only
    /// scalars in its signature: inlined into the closures above, the compiler split each 16-lane
    /// vector into pieces and divided lane by lane (measured 3–5× slower).
    @inline(never)
    private static func affineMap<F: UnaryVectorFunction>(
        _: F.Type, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, shift: Float, scale: Float, offset: Float
    ) {
        let s = SIMD16<Float>(repeating: shift), a = SIMD16<Float>(repeating: scale), b = SIMD16<Float>(repeating: offset)
        var i = 0
        while i + 16 <= count {
            y.storeVector(F.apply((x.loadVector(at: i) - s) * a + b), at: i)
            i += 16
        }
        if i < count {
            let n = count - i
            y.storePartialVector(F.apply((x.loadPartialVector(at: i, count: n, padding: 0) - s) * a + b), at: i, count: n)
        }
    }

    /// The per-channel scale rstd·gamma and offset beta − (μ − μ_f)·rstd·gamma of the normalisation
    /// z = (x − μ_f)·scale + offset (shared by the forward pass and the SiLU backward's recomputation).
    @inline(__always)
    static func affine(gamma: Float, beta: Float, meanFloat: Float, mean: Double, rstd: Double) -> (scale: Float, offset: Float) {
        let scaleValue = rstd * Double(gamma)
        let delta = mean - Double(meanFloat)
        return (Float(scaleValue), Float(Double(beta) - delta * scaleValue))
    }

    /// dz = dy·silu′(z) over `range` of one group, with z = (x − μ)·rstd·gamma + beta recomputed from
    /// the stored statistics (equal to the forward pass's z up to a few Float roundings).
    @inline(__always)
    private static func siluGradient(
        x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dz: UnsafeMutablePointer<Float>, range: Range<Int>, spatial: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, meanFloat: Float, mean: Double, rstd: Double
    ) {
        forEachChannel(in: range, spatial: spatial) { c, segment in
            let (scale, offset) = affine(gamma: gamma[c], beta: beta[c], meanFloat: meanFloat, mean: mean, rstd: rstd)
            let start = segment.lowerBound
            siluGradient(x + start, dy + start, dz + start, count: segment.count, shift: meanFloat, scale: scale, offset: offset)
        }
    }

    /// dz[i] = dy[i]·silu′((x[i] − shift)·scale + offset) over `count` elements; not inlined, for
    /// the reason given at `affineMap`.
    @inline(never)
    private static func siluGradient(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dz: UnsafeMutablePointer<Float>, count: Int,
        shift: Float, scale: Float, offset: Float
    ) {
        let s = SIMD16<Float>(repeating: shift), a = SIMD16<Float>(repeating: scale), b = SIMD16<Float>(repeating: offset)
        var i = 0
        while i + 16 <= count {
            dz.storeVector(SiLUBackwardFunction.apply((x.loadVector(at: i) - s) * a + b, dy.loadVector(at: i)), at: i)
            i += 16
        }
        if i < count {
            let n = count - i
            let z = (x.loadPartialVector(at: i, count: n, padding: 0) - s) * a + b
            dz.storePartialVector(SiLUBackwardFunction.apply(z, dy.loadPartialVector(at: i, count: n, padding: 0)), at: i, count: n)
        }
    }

    /// Adds Σdy and Σdy·(x − μ_f) per channel over `range` of one group into sumDy[c], sumDyD[c].
    @inline(__always)
    private static func channelGradientSums(
        x: UnsafePointer<Float>, dy: UnsafePointer<Float>, range: Range<Int>, spatial: Int, meanFloat: Float,
        sumDy: UnsafeMutablePointer<Double>, sumDyD: UnsafeMutablePointer<Double>
    ) {
        forEachChannel(in: range, spatial: spatial) { c, segment in
            let s = gradientSums(x + segment.lowerBound, dy + segment.lowerBound, count: segment.count, shift: meanFloat)
            sumDy[c] += s.sumDy
            sumDyD[c] += s.sumDyD
        }
    }

    /// dx = (rstd·gamma[c])·dy + b·(x − μ_f) + c over `range` of one group.
    @inline(__always)
    private static func inputGradient(
        x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, range: Range<Int>,
        spatial: Int, gamma: UnsafePointer<Float>, rstd: Float, meanFloat: Float, b: Float, c: Float
    ) {
        let shift = SIMD16<Float>(repeating: meanFloat)
        let bv = SIMD16<Float>(repeating: b), cv = SIMD16<Float>(repeating: c)
        forEachChannel(in: range, spatial: spatial) { channel, segment in
            let a = SIMD16<Float>(repeating: rstd * gamma[channel])
            var i = segment.lowerBound
            while i + 16 <= segment.upperBound {
                dx.storeVector(a * dy.loadVector(at: i) + bv * (x.loadVector(at: i) - shift) + cv, at: i)
                i += 16
            }
            if i < segment.upperBound {
                let n = segment.upperBound - i
                let g = dy.loadPartialVector(at: i, count: n, padding: 0)
                let v = x.loadPartialVector(at: i, count: n, padding: 0)
                dx.storePartialVector(a * g + bv * (v - shift) + cv, at: i, count: n)
            }
        }
    }
}
