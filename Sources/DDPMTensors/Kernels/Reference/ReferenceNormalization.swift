// Plain reference kernels for group normalisation (NCHW) and softmax.

extension ReferenceKernels {
    /// Group normalisation over NCHW activations (Wu & He 2018).
    ///
    /// Channels are split into `groups` consecutive groups; for each sample n and group g, the
    /// mean μ and biased variance σ² are taken over the group's channels and all `spatial` = H·W
    /// positions: y = (x − μ)/√(σ² + eps) · gamma[c] + beta[c]. `mean` and `rstd` = 1/√(σ² + eps)
    /// receive batch × groups values for the backward pass.
    public static func groupNormForward<T: TensorScalar>(
        input x: UnsafePointer<T>, gamma: UnsafePointer<T>, beta: UnsafePointer<T>,
        output y: UnsafeMutablePointer<T>, mean: UnsafeMutablePointer<T>, rstd: UnsafeMutablePointer<T>,
        batch: Int, channels: Int, spatial: Int, groups: Int, eps: Double
    ) {
        let perGroup = channels / groups
        let count = Double(perGroup * spatial)
        for n in 0..<batch {
            for g in 0..<groups {
                let base = (n * channels + g * perGroup) * spatial
                var sum = 0.0
                for i in 0..<(perGroup * spatial) { sum += Double(x[base + i]) }
                let mu = sum / count
                var sq = 0.0
                for i in 0..<(perGroup * spatial) {
                    let d = Double(x[base + i]) - mu
                    sq += d * d
                }
                let r = 1 / (sq / count + eps).squareRoot()
                mean[n * groups + g] = T(mu)
                rstd[n * groups + g] = T(r)
                for c in 0..<perGroup {
                    let channel = g * perGroup + c
                    for s in 0..<spatial {
                        let i = base + c * spatial + s
                        y[i] = T((Double(x[i]) - mu) * r) * gamma[channel] + beta[channel]
                    }
                }
            }
        }
    }

    /// Backward of `groupNormForward`: with x̂ = (x − μ)·rstd and g = dy·gamma over a group of M
    /// elements, dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)); dgamma[c] = Σ dy·x̂, dbeta[c] = Σ dy
    /// over the batch and positions. `dgamma` and `dbeta` are overwritten.
    public static func groupNormBackward<T: TensorScalar>(
        input x: UnsafePointer<T>, gamma: UnsafePointer<T>, mean: UnsafePointer<T>, rstd: UnsafePointer<T>,
        outputGrad dy: UnsafePointer<T>, inputGrad dx: UnsafeMutablePointer<T>,
        gammaGrad dgamma: UnsafeMutablePointer<T>, betaGrad dbeta: UnsafeMutablePointer<T>,
        batch: Int, channels: Int, spatial: Int, groups: Int
    ) {
        let perGroup = channels / groups
        let count = Double(perGroup * spatial)
        var dg = [Double](repeating: 0, count: channels)
        var db = [Double](repeating: 0, count: channels)
        for n in 0..<batch {
            for g in 0..<groups {
                let mu = Double(mean[n * groups + g])
                let r = Double(rstd[n * groups + g])
                let base = (n * channels + g * perGroup) * spatial
                var sumG = 0.0
                var sumGX = 0.0
                for c in 0..<perGroup {
                    let channel = g * perGroup + c
                    for s in 0..<spatial {
                        let i = base + c * spatial + s
                        let xhat = (Double(x[i]) - mu) * r
                        let d = Double(dy[i])
                        dg[channel] += d * xhat
                        db[channel] += d
                        let gv = d * Double(gamma[channel])
                        sumG += gv
                        sumGX += gv * xhat
                    }
                }
                let meanG = sumG / count
                let meanGX = sumGX / count
                for c in 0..<perGroup {
                    let channel = g * perGroup + c
                    for s in 0..<spatial {
                        let i = base + c * spatial + s
                        let xhat = (Double(x[i]) - mu) * r
                        let gv = Double(dy[i]) * Double(gamma[channel])
                        dx[i] = T(r * (gv - meanG - xhat * meanGX))
                    }
                }
            }
        }
        for c in 0..<channels {
            dgamma[c] = T(dg[c])
            dbeta[c] = T(db[c])
        }
    }

    /// y ← y·σ(y) in place (SiLU; the reference for the SiLU half of `groupNormSiLUForward`).
    public static func siluInPlace<T: TensorScalar>(_ y: UnsafeMutablePointer<T>, count: Int) {
        for i in 0..<count {
            let v = Double(y[i])
            y[i] = T(v / (1 + Double.exp(-v)))
        }
    }

    /// Backward of SiLU ∘ group norm, by composition: z = (x − μ)·rstd·gamma[c] + beta[c] from the
    /// forward pass's statistics, dz = dy·σ(z)·(1 + z·(1 − σ(z))), then `groupNormBackward` of dz.
    public static func groupNormSiLUBackward<T: TensorScalar>(
        input x: UnsafePointer<T>, gamma: UnsafePointer<T>, beta: UnsafePointer<T>, mean: UnsafePointer<T>, rstd: UnsafePointer<T>,
        outputGrad dy: UnsafePointer<T>, inputGrad dx: UnsafeMutablePointer<T>,
        gammaGrad dgamma: UnsafeMutablePointer<T>, betaGrad dbeta: UnsafeMutablePointer<T>,
        batch: Int, channels: Int, spatial: Int, groups: Int
    ) {
        let perGroup = channels / groups
        let count = batch * channels * spatial
        let dz = UnsafeMutablePointer<T>.allocate(capacity: count)
        defer { dz.deallocate() }
        for i in 0..<count {
            let channel = (i / spatial) % channels
            let pair = (i / spatial) / channels * groups + channel / perGroup
            let z = (Double(x[i]) - Double(mean[pair])) * Double(rstd[pair]) * Double(gamma[channel]) + Double(beta[channel])
            let s = 1 / (1 + Double.exp(-z))
            dz[i] = T(Double(dy[i]) * s * (1 + z * (1 - s)))
        }
        groupNormBackward(
            input: x, gamma: gamma, mean: mean, rstd: rstd, outputGrad: dz, inputGrad: dx,
            gammaGrad: dgamma, betaGrad: dbeta, batch: batch, channels: channels, spatial: spatial, groups: groups)
    }

    /// Softmax along an axis of extent `axis`, for a tensor viewed as [outer, axis, inner]:
    /// y = exp(x − max) / Σ exp(x − max).
    public static func softmaxForward<T: TensorScalar>(
        input x: UnsafePointer<T>, output y: UnsafeMutablePointer<T>, outer: Int, axis: Int, inner: Int
    ) {
        for o in 0..<outer {
            for j in 0..<inner {
                let base = o * axis * inner + j
                var m = -T.infinity
                for a in 0..<axis { m = max(m, x[base + a * inner]) }
                var sum: T = 0
                for a in 0..<axis {
                    let e = T.exp(x[base + a * inner] - m)
                    y[base + a * inner] = e
                    sum += e
                }
                for a in 0..<axis { y[base + a * inner] /= sum }
            }
        }
    }

    /// Backward of softmax from its output y: dx = y · (dy − Σ_axis dy·y).
    public static func softmaxBackward<T: TensorScalar>(
        output y: UnsafePointer<T>, outputGrad dy: UnsafePointer<T>, inputGrad dx: UnsafeMutablePointer<T>,
        outer: Int, axis: Int, inner: Int
    ) {
        for o in 0..<outer {
            for j in 0..<inner {
                let base = o * axis * inner + j
                var dot: T = 0
                for a in 0..<axis { dot += dy[base + a * inner] * y[base + a * inner] }
                for a in 0..<axis {
                    let i = base + a * inner
                    dx[i] = y[i] * (dy[i] - dot)
                }
            }
        }
    }
}
