// Group normalisation (and its SiLU form) over nChw16c Float32 activations, forward and backward.

extension FastKernels {
    /// Whether the blocked group norm handles `channels` in `groups`: the channels split into units
    /// of lcm(channels/groups, 16) channels, each whole groups and whole 16-channel blocks (true
    /// whenever 16 and `groups` divide `channels`).
    static func blockedGroupNormSupports(channels: Int, groups: Int) -> Bool {
        guard groups > 0, channels % groups == 0, channels % TensorLayout.block == 0 else { return false }
        return channels % BlockedGroupUnits.unitChannels(perGroup: channels / groups) == 0
    }

    /// The contract of `groupNormForward` (and with `silu`, `groupNormSiLUForward`) for x and y in
    /// ``TensorLayout/channelBlocked16``: the same statistics (two passes, the second about the
    /// first's Float mean μ_f, block totals in Double) and the same output y = F((x − μ_f)·scale + offset).
    ///
    /// The trick: in nChw16c a vector of 16 lanes is 16 channels at one position, so every pass is
    /// one vector operation per position with per-lane constants (each lane's group mean, scale and
    /// offset), and the per-channel sums are lane sums: no position-by-position split into channels.
    /// Work is split over units of whole groups: a 16-channel block of one image, or the blocks of
    /// one group when a group spans several.
    static func blockedGroupNormForward(
        input x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        output y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, groups: Int, eps: Double, silu: Bool
    ) {
        precondition(
            blockedGroupNormSupports(channels: channels, groups: groups),
            "blockedGroupNormForward: \(channels) channels in \(groups) groups are not whole groups of 16-channel blocks")
        let units = BlockedGroupUnits(batch: batch, channels: channels, spatial: spatial, groups: groups)
        guard units.count > 0, spatial > 0 else { return }
        parallelChunks(units.count, grain: max(1, elementwiseGrain / units.elements)) { range in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * units.channels) { sums in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * units.channels) { lanes in
                    let (sum, squares) = (sums.baseAddress!, sums.baseAddress! + units.channels)
                    let (shift, scale, offset) = (
                        lanes.baseAddress!, lanes.baseAddress! + units.channels, lanes.baseAddress! + 2 * units.channels
                    )
                    for unit in range {
                        let base = unit * units.elements
                        let firstChannel = units.firstChannel(of: unit)
                        // Pass 1: per-channel Σx, then each group's Float mean μ_f as every lane's shift.
                        shift.update(repeating: 0, count: units.channels)
                        units.laneSums(x + base, shift: shift, sum: sum, squares: nil)
                        for g in 0..<units.groups {
                            let total = (0..<units.perGroup).reduce(0.0) { $0 + sum[g * units.perGroup + $1] }
                            let mu = Float(total / Double(units.groupElements))
                            (shift + g * units.perGroup).update(repeating: mu, count: units.perGroup)
                        }
                        // Pass 2: Σ(x − μ_f) and Σ(x − μ_f)² per channel, combined per group.
                        units.laneSums(x + base, shift: shift, sum: sum, squares: squares)
                        for g in 0..<units.groups {
                            let p = units.pair(of: unit, group: g)
                            var s = 0.0, q = 0.0
                            for c in 0..<units.perGroup { s += sum[g * units.perGroup + c]; q += squares[g * units.perGroup + c] }
                            let m = Double(units.groupElements)
                            let variance = max(0, (q - s * s / m) / m)
                            let meanFloat = shift[g * units.perGroup]
                            let refined = Double(meanFloat) + s / m
                            mean[p] = Float(refined)
                            rstd[p] = Float(1 / (variance + eps).squareRoot())
                            for c in 0..<units.perGroup {
                                let lane = g * units.perGroup + c
                                let (a, b) = affine(
                                    gamma: gamma[firstChannel + lane], beta: beta[firstChannel + lane], meanFloat: meanFloat, mean: refined,
                                    rstd: Double(rstd[p]))
                                (scale[lane], offset[lane]) = (a, b)
                            }
                        }
                        // Pass 3: y = F((x − μ_f)·scale + offset), lane constants per block.
                        for block in 0..<units.blocks {
                            let at = base + block * units.blockElements
                            let lane = block * TensorLayout.block
                            if silu {
                                laneAffineMap(
                                    SiLUFunction.self, x + at, y + at, positions: spatial, shift + lane, scale + lane, offset + lane)
                            } else {
                                laneAffineMap(
                                    IdentityFunction.self, x + at, y + at, positions: spatial, shift + lane, scale + lane, offset + lane)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The contract of `groupNormBackward` (with `siluBeta`, `groupNormSiLUBackward`) for x, dy and dx
    /// in ``TensorLayout/channelBlocked16``: dz = dy·silu′(z) first when `siluBeta` is given (written
    /// into dx), then per channel Σdz and Σdz·(x − μ), the dx coefficients of each group, and
    /// dx = A_c·dz + B·(x − μ) + C as vector operations with per-lane A, B, C. dgamma and dbeta
    /// are summed per piece of units in Double and combined in piece order.
    static func blockedGroupNormBackward(
        input x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, siluBeta: UnsafePointer<Float>?,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        outputGrad dy: UnsafePointer<Float>, inputGrad dx: UnsafeMutablePointer<Float>,
        gammaGrad dgamma: UnsafeMutablePointer<Float>, betaGrad dbeta: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, groups: Int
    ) {
        precondition(
            blockedGroupNormSupports(channels: channels, groups: groups),
            "blockedGroupNormBackward: \(channels) channels in \(groups) groups are not whole groups of 16-channel blocks")
        let units = BlockedGroupUnits(batch: batch, channels: channels, spatial: spatial, groups: groups)
        let pieces = max(1, min(ComputeThreads.count, units.count * units.elements / elementwiseGrain))
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: 2 * channels * pieces)
        partial.initialize(repeating: 0, count: 2 * channels * pieces)
        defer { partial.deallocate() }
        if units.count > 0 && spatial > 0 {
            parallelPieces(units.count, pieces: pieces) { piece, range in
                let accumulator = partial + 2 * channels * piece
                withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * units.channels) { sums in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 * units.channels) { lanes in
                        let (sumDy, sumDyD) = (sums.baseAddress!, sums.baseAddress! + units.channels)
                        let l = lanes.baseAddress!
                        let (shift, scale, offset) = (l, l + units.channels, l + 2 * units.channels)
                        let (a, b, c) = (l + 3 * units.channels, l + 4 * units.channels, l + 5 * units.channels)
                        for unit in range {
                            let base = unit * units.elements
                            let firstChannel = units.firstChannel(of: unit)
                            for g in 0..<units.groups {
                                let p = units.pair(of: unit, group: g)
                                for k in 0..<units.perGroup {
                                    let lane = g * units.perGroup + k
                                    shift[lane] = mean[p]
                                    if let siluBeta {
                                        (scale[lane], offset[lane]) = affine(
                                            gamma: gamma[firstChannel + lane], beta: siluBeta[firstChannel + lane], meanFloat: mean[p],
                                            mean: Double(mean[p]), rstd: Double(rstd[p]))
                                    }
                                }
                            }
                            var dyBase = dy + base
                            if siluBeta != nil {
                                for block in 0..<units.blocks {
                                    let at = base + block * units.blockElements
                                    let lane = block * TensorLayout.block
                                    laneSiLUGradient(
                                        x + at, dy + at, dx + at, positions: spatial, shift + lane, scale + lane, offset + lane)
                                }
                                dyBase = UnsafePointer(dx + base)
                            }
                            units.laneGradientSums(x + base, dyBase, shift: shift, sumDy: sumDy, sumDyD: sumDyD)
                            for g in 0..<units.groups {
                                let p = units.pair(of: unit, group: g)
                                let r = Double(rstd[p])
                                var sumG = 0.0, sumGX = 0.0
                                for k in 0..<units.perGroup {
                                    let lane = g * units.perGroup + k
                                    let channel = firstChannel + lane
                                    let dyXhat = r * sumDyD[lane]
                                    accumulator[channel] += dyXhat
                                    accumulator[channels + channel] += sumDy[lane]
                                    sumG += Double(gamma[channel]) * sumDy[lane]
                                    sumGX += Double(gamma[channel]) * dyXhat
                                }
                                let m = Double(units.groupElements)
                                let bg = -r * r * sumGX / m
                                let cg = -r * sumG / m
                                for k in 0..<units.perGroup {
                                    let lane = g * units.perGroup + k
                                    (a[lane], b[lane], c[lane]) = (Float(r) * gamma[firstChannel + lane], Float(bg), Float(cg))
                                }
                            }
                            for block in 0..<units.blocks {
                                let at = base + block * units.blockElements
                                let lane = block * TensorLayout.block
                                laneInputGradient(
                                    x + at, (dyBase - base) + at, dx + at, positions: spatial, shift + lane, a + lane, b + lane, c + lane)
                            }
                        }
                    }
                }
            }
        }
        combineChannelPartials(partial, channels: channels, slots: pieces, dgamma: dgamma, dbeta: dbeta)
    }

    // MARK: - Lane kernels (not inlined, pointers and scalars only: see `affineMap`)

    /// y = F((x − shift)·scale + offset) at each of `positions` 16-lane vectors, the constants per lane.
    @inline(never)
    static func laneAffineMap<F: UnaryVectorFunction>(
        _: F.Type, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, positions: Int,
        _ shift: UnsafePointer<Float>, _ scale: UnsafePointer<Float>, _ offset: UnsafePointer<Float>
    ) {
        let s = shift.loadVector(at: 0), a = scale.loadVector(at: 0), b = offset.loadVector(at: 0)
        for i in 0..<positions {
            y.storeVector(F.apply((x.loadVector(at: 16 * i) - s) * a + b), at: 16 * i)
        }
    }

    /// dz = dy·silu′((x − shift)·scale + offset) at each of `positions` 16-lane vectors.
    @inline(never)
    static func laneSiLUGradient(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dz: UnsafeMutablePointer<Float>, positions: Int,
        _ shift: UnsafePointer<Float>, _ scale: UnsafePointer<Float>, _ offset: UnsafePointer<Float>
    ) {
        let s = shift.loadVector(at: 0), a = scale.loadVector(at: 0), b = offset.loadVector(at: 0)
        for i in 0..<positions {
            dz.storeVector(SiLUBackwardFunction.apply((x.loadVector(at: 16 * i) - s) * a + b, dy.loadVector(at: 16 * i)), at: 16 * i)
        }
    }

    /// dx = a·dy + b·(x − shift) + c at each of `positions` 16-lane vectors.
    @inline(never)
    static func laneInputGradient(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, positions: Int,
        _ shift: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>
    ) {
        let s = shift.loadVector(at: 0), va = a.loadVector(at: 0), vb = b.loadVector(at: 0), vc = c.loadVector(at: 0)
        for i in 0..<positions {
            dx.storeVector(va * dy.loadVector(at: 16 * i) + vb * (x.loadVector(at: 16 * i) - s) + vc, at: 16 * i)
        }
    }

    /// Per lane Σ(x − shift) and, when `squares` is given, Σ(x − shift)² over `positions` vectors,
    /// added into `sum[0..<16]` and `squares[0..<16]`; Float sums over at most 64 positions per lane,
    /// then added in Double.
    @inline(never)
    static func laneSums(
        _ x: UnsafePointer<Float>, positions: Int, _ shift: UnsafePointer<Float>,
        _ sum: UnsafeMutablePointer<Double>, _ squares: UnsafeMutablePointer<Double>?
    ) {
        let s = shift.loadVector(at: 0)
        var i = 0
        while i < positions {
            let end = min(positions, i + 64)
            var total = SIMD16<Float>(), totalSquares = SIMD16<Float>()
            while i < end {
                let d = x.loadVector(at: 16 * i) - s
                total += d
                totalSquares += d * d
                i += 1
            }
            for lane in 0..<16 {
                sum[lane] += Double(total[lane])
                squares?[lane] += Double(totalSquares[lane])
            }
        }
    }

    /// Per lane Σdy and Σdy·(x − shift) over `positions` vectors into `sumDy[0..<16]`,
    /// `sumDyD[0..<16]`, blocked into Double as `laneSums`.
    @inline(never)
    static func laneGradientSums(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, positions: Int, _ shift: UnsafePointer<Float>,
        _ sumDy: UnsafeMutablePointer<Double>, _ sumDyD: UnsafeMutablePointer<Double>
    ) {
        let s = shift.loadVector(at: 0)
        var i = 0
        while i < positions {
            let end = min(positions, i + 64)
            var a = SIMD16<Float>(), b = SIMD16<Float>()
            while i < end {
                let g = dy.loadVector(at: 16 * i)
                a += g
                b += g * (x.loadVector(at: 16 * i) - s)
                i += 1
            }
            for lane in 0..<16 {
                sumDy[lane] += Double(a[lane])
                sumDyD[lane] += Double(b[lane])
            }
        }
    }
}

/// The units of work of the blocked group norm: lcm(perGroup, 16) channels of one image, whole
/// groups in whole 16-channel blocks (one block of 16/perGroup groups, the perGroup/16 blocks of one
/// group, or e.g. 3 blocks of 8 groups of 6); a unit's elements are consecutive in nChw16c.
struct BlockedGroupUnits {
    /// Channels per group, groups per unit, blocks per unit, positions (H·W).
    let perGroup: Int, groups: Int, blocks: Int, spatial: Int
    /// Units in the batch, units per image, groups per image.
    let count: Int, perImage: Int, imageGroups: Int

    init(batch: Int, channels: Int, spatial: Int, groups imageGroups: Int) {
        let block = TensorLayout.block
        perGroup = channels / imageGroups
        blocks = Self.unitChannels(perGroup: perGroup) / block
        groups = blocks * block / perGroup
        perImage = channels / (blocks * block)
        count = batch * perImage
        self.spatial = spatial
        self.imageGroups = imageGroups
    }

    /// lcm(perGroup, 16): the channels of a unit.
    static func unitChannels(perGroup: Int) -> Int {
        var (a, b) = (perGroup, TensorLayout.block)
        while b != 0 { (a, b) = (b, a % b) }
        return perGroup / a * TensorLayout.block
    }

    /// Channels (lanes) per unit.
    var channels: Int { blocks * TensorLayout.block }
    /// Elements per block and per unit, and per group.
    var blockElements: Int { spatial * TensorLayout.block }
    var elements: Int { blocks * blockElements }
    var groupElements: Int { perGroup * spatial }

    /// The image channel of the unit's lane 0.
    func firstChannel(of unit: Int) -> Int { (unit % perImage) * channels }

    /// The (image, group) pair index (into mean and rstd) of group `g` of the unit.
    func pair(of unit: Int, group g: Int) -> Int { (unit / perImage) * imageGroups + (unit % perImage) * groups + g }

    /// Adds the unit's per-lane sums (and squares) about `shift` into `sum` and `squares` (zeroed first).
    func laneSums(
        _ x: UnsafePointer<Float>, shift: UnsafePointer<Float>, sum: UnsafeMutablePointer<Double>, squares: UnsafeMutablePointer<Double>?
    ) {
        sum.update(repeating: 0, count: channels)
        squares?.update(repeating: 0, count: channels)
        for block in 0..<blocks {
            let lane = block * TensorLayout.block
            FastKernels.laneSums(x + block * blockElements, positions: spatial, shift + lane, sum + lane, squares.map { $0 + lane })
        }
    }

    /// The unit's per-lane Σdy and Σdy·(x − shift) into `sumDy` and `sumDyD` (zeroed first).
    func laneGradientSums(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, shift: UnsafePointer<Float>, sumDy: UnsafeMutablePointer<Double>,
        sumDyD: UnsafeMutablePointer<Double>
    ) {
        sumDy.update(repeating: 0, count: channels)
        sumDyD.update(repeating: 0, count: channels)
        for block in 0..<blocks {
            let lane = block * TensorLayout.block
            let at = block * blockElements
            FastKernels.laneGradientSums(x + at, dy + at, positions: spatial, shift + lane, sumDy + lane, sumDyD + lane)
        }
    }
}
