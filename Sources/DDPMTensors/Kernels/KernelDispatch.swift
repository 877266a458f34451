// Chooses the kernel for each dtype: Float32 → fast kernels, Float64 → reference kernels.

/// The one place where ops pick a kernel. Float64 always runs the reference kernels (they are
/// what gradient checks differentiate); Float32 runs the fast ones. Under BFloat16 precision,
/// Float64 rounds the factors of the products that Float32 runs in BFloat16 (``BFloat16Emulation``).
enum KernelDispatch {
    static func matmul(_ a: Tensor, _ b: Tensor, _ c: inout Tensor, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, batch: Int)
    {
        switch a.dtype {
        case .float32:
            a.withUnsafeBufferPointer(as: Float.self) { a in
                b.withUnsafeBufferPointer(as: Float.self) { b in
                    c.withUnsafeMutableBufferPointer(as: Float.self) { c in
                        DNNLMatMul.matmul(
                            a.baseAddress!, b.baseAddress!, c.baseAddress!, m: m, n: n, k: k, transposeA: transposeA,
                            transposeB: transposeB, batch: batch)
                    }
                }
            }
        case .float64:
            let (a, b) = BFloat16Emulation.factors(a, b, rounded: BFloat16Emulation.roundsMatMul(batch: batch))
            a.withUnsafeBufferPointer(as: Double.self) { a in
                b.withUnsafeBufferPointer(as: Double.self) { b in
                    c.withUnsafeMutableBufferPointer(as: Double.self) { c in
                        ReferenceKernels.matmul(
                            a.baseAddress!, b.baseAddress!, c.baseAddress!, m: m, n: n, k: k, transposeA: transposeA,
                            transposeB: transposeB, batch: batch)
                    }
                }
            }
        }
    }

    static func conv2DForward(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ y: inout Tensor, _ g: Conv2DGeometry) {
        switch x.dtype {
        case .float32:
            let layouts = DNNLConvolution.ActivationLayouts(input: x.layout, output: y.layout)
            x.withUnsafeStoredElements(as: Float.self) { x in
                w.withUnsafeBufferPointer(as: Float.self) { w in
                    y.withUnsafeMutableStoredElements(as: Float.self) { y in
                        DNNLConvolution.forward(
                            input: x.baseAddress!, weight: w.baseAddress!, bias: bias?.elements(as: Float.self), output: y.baseAddress!,
                            geometry: g, layouts: layouts)
                    }
                }
            }
        case .float64:
            let (x, w) = BFloat16Emulation.factors(x, w, rounded: BFloat16Emulation.roundsConvolution(.forward, g))
            x.withUnsafeBufferPointer(as: Double.self) { x in
                w.withUnsafeBufferPointer(as: Double.self) { w in
                    y.withUnsafeMutableBufferPointer(as: Double.self) { y in
                        ReferenceKernels.conv2DForward(
                            input: x.baseAddress!, weight: w.baseAddress!, bias: bias?.elements(as: Double.self), output: y.baseAddress!,
                            geometry: g)
                    }
                }
            }
        }
    }

    static func conv2DBackwardData(_ dy: Tensor, _ w: Tensor, _ dx: inout Tensor, _ g: Conv2DGeometry) {
        switch dy.dtype {
        case .float32:
            let layouts = DNNLConvolution.ActivationLayouts(input: dx.layout, output: dy.layout)
            dy.withUnsafeStoredElements(as: Float.self) { dy in
                w.withUnsafeBufferPointer(as: Float.self) { w in
                    dx.withUnsafeMutableStoredElements(as: Float.self) { dx in
                        DNNLConvolution.backwardData(
                            outputGrad: dy.baseAddress!, weight: w.baseAddress!, inputGrad: dx.baseAddress!, geometry: g, layouts: layouts)
                    }
                }
            }
        case .float64:
            let (dy, w) = BFloat16Emulation.factors(dy, w, rounded: BFloat16Emulation.roundsConvolution(.backwardData, g))
            dy.withUnsafeBufferPointer(as: Double.self) { dy in
                w.withUnsafeBufferPointer(as: Double.self) { w in
                    dx.withUnsafeMutableBufferPointer(as: Double.self) { dx in
                        ReferenceKernels.conv2DBackwardData(
                            outputGrad: dy.baseAddress!, weight: w.baseAddress!, inputGrad: dx.baseAddress!, geometry: g)
                    }
                }
            }
        }
    }

    /// dw and, when `db` is given, the bias gradient Σ_{n,p,q} dy (oneDNN computes both in one pass).
    static func conv2DBackwardWeights(_ x: Tensor, _ dy: Tensor, _ dw: inout Tensor, _ db: inout Tensor?, _ g: Conv2DGeometry) {
        switch x.dtype {
        case .float32:
            let layouts = DNNLConvolution.ActivationLayouts(input: x.layout, output: dy.layout)
            x.withUnsafeStoredElements(as: Float.self) { x in
                dy.withUnsafeStoredElements(as: Float.self) { dy in
                    dw.withUnsafeMutableBufferPointer(as: Float.self) { dw in
                        if db != nil {
                            db!.withUnsafeMutableBufferPointer(as: Float.self) { db in
                                DNNLConvolution.backwardWeights(
                                    input: x.baseAddress!, outputGrad: dy.baseAddress!, weightGrad: dw.baseAddress!,
                                    biasGrad: db.baseAddress!, geometry: g, layouts: layouts)
                            }
                        } else {
                            DNNLConvolution.backwardWeights(
                                input: x.baseAddress!, outputGrad: dy.baseAddress!, weightGrad: dw.baseAddress!, biasGrad: nil, geometry: g,
                                layouts: layouts)
                        }
                    }
                }
            }
        case .float64:
            let (x, dy) = BFloat16Emulation.factors(x, dy, rounded: BFloat16Emulation.roundsConvolution(.backwardWeights, g))
            x.withUnsafeBufferPointer(as: Double.self) { x in
                dy.withUnsafeBufferPointer(as: Double.self) { dy in
                    dw.withUnsafeMutableBufferPointer(as: Double.self) { dw in
                        ReferenceKernels.conv2DBackwardWeights(
                            input: x.baseAddress!, outputGrad: dy.baseAddress!, weightGrad: dw.baseAddress!, geometry: g)
                    }
                }
            }
            if db != nil { db = dy.summed(toShape: [1, g.outChannels, 1, 1]).reshaped([g.outChannels]) }
        }
    }

    /// y = groupNorm(x), or silu(groupNorm(x)) when `silu`.
    static func groupNormForward(
        _ x: Tensor, _ gamma: Tensor, _ beta: Tensor, _ y: inout Tensor, _ mean: inout Tensor, _ rstd: inout Tensor, groups: Int,
        eps: Double, silu: Bool
    ) {
        if y.layout == .channelBlocked16 {
            return blockedGroupNormForward(x, gamma, beta, &y, &mean, &rstd, groups: groups, eps: eps, silu: silu)
        }
        let (n, c) = (x.shape[0], x.shape[1])
        let spatial = x.scalarCount / max(n * c, 1)
        func run<T: TensorScalar>(_: T.Type) {
            x.withUnsafeBufferPointer(as: T.self) { x in
                gamma.withUnsafeBufferPointer(as: T.self) { gamma in
                    beta.withUnsafeBufferPointer(as: T.self) { beta in
                        y.withUnsafeMutableBufferPointer(as: T.self) { y in
                            mean.withUnsafeMutableBufferPointer(as: T.self) { mean in
                                rstd.withUnsafeMutableBufferPointer(as: T.self) { rstd in
                                    if T.self == Float.self && silu {
                                        FastKernels.groupNormSiLUForward(
                                            input: f(x.baseAddress!), gamma: f(gamma.baseAddress!), beta: f(beta.baseAddress!),
                                            output: f(y.baseAddress!),
                                            mean: f(mean.baseAddress!), rstd: f(rstd.baseAddress!), batch: n, channels: c, spatial: spatial,
                                            groups: groups, eps: eps)
                                    } else if T.self == Float.self {
                                        FastKernels.groupNormForward(
                                            input: f(x.baseAddress!), gamma: f(gamma.baseAddress!), beta: f(beta.baseAddress!),
                                            output: f(y.baseAddress!),
                                            mean: f(mean.baseAddress!), rstd: f(rstd.baseAddress!), batch: n, channels: c, spatial: spatial,
                                            groups: groups, eps: eps)
                                    } else {
                                        ReferenceKernels.groupNormForward(
                                            input: x.baseAddress!, gamma: gamma.baseAddress!, beta: beta.baseAddress!,
                                            output: y.baseAddress!,
                                            mean: mean.baseAddress!, rstd: rstd.baseAddress!, batch: n, channels: c, spatial: spatial,
                                            groups: groups, eps: eps)
                                        if silu { ReferenceKernels.siluInPlace(y.baseAddress!, count: y.count) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        switch x.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
    }

    /// Backward of `groupNormForward`; with `siluBeta` (the forward pass's beta) the backward of its SiLU form.
    static func groupNormBackward(
        _ x: Tensor, _ gamma: Tensor, _ siluBeta: Tensor?, _ mean: Tensor, _ rstd: Tensor, _ dy: Tensor, _ dx: inout Tensor,
        _ dgamma: inout Tensor, _ dbeta: inout Tensor, groups: Int
    ) {
        if dx.layout == .channelBlocked16 {
            return blockedGroupNormBackward(x, gamma, siluBeta, mean, rstd, dy, &dx, &dgamma, &dbeta, groups: groups)
        }
        let (n, c) = (x.shape[0], x.shape[1])
        let spatial = x.scalarCount / max(n * c, 1)
        func run<T: TensorScalar>(_: T.Type) {
            x.withUnsafeBufferPointer(as: T.self) { x in
                gamma.withUnsafeBufferPointer(as: T.self) { gamma in
                    mean.withUnsafeBufferPointer(as: T.self) { mean in
                        rstd.withUnsafeBufferPointer(as: T.self) { rstd in
                            dy.withUnsafeBufferPointer(as: T.self) { dy in
                                dx.withUnsafeMutableBufferPointer(as: T.self) { dx in
                                    dgamma.withUnsafeMutableBufferPointer(as: T.self) { dgamma in
                                        dbeta.withUnsafeMutableBufferPointer(as: T.self) { dbeta in
                                            if T.self == Float.self, let siluBeta {
                                                siluBeta.withUnsafeBufferPointer(as: Float.self) { beta in
                                                    FastKernels.groupNormSiLUBackward(
                                                        input: f(x.baseAddress!), gamma: f(gamma.baseAddress!), beta: beta.baseAddress!,
                                                        mean: f(mean.baseAddress!), rstd: f(rstd.baseAddress!),
                                                        outputGrad: f(dy.baseAddress!), inputGrad: f(dx.baseAddress!),
                                                        gammaGrad: f(dgamma.baseAddress!), betaGrad: f(dbeta.baseAddress!),
                                                        batch: n, channels: c, spatial: spatial, groups: groups)
                                                }
                                            } else if T.self == Float.self {
                                                FastKernels.groupNormBackward(
                                                    input: f(x.baseAddress!), gamma: f(gamma.baseAddress!), mean: f(mean.baseAddress!),
                                                    rstd: f(rstd.baseAddress!),
                                                    outputGrad: f(dy.baseAddress!), inputGrad: f(dx.baseAddress!),
                                                    gammaGrad: f(dgamma.baseAddress!), betaGrad: f(dbeta.baseAddress!),
                                                    batch: n, channels: c, spatial: spatial, groups: groups)
                                            } else if let siluBeta {
                                                siluBeta.withUnsafeBufferPointer(as: T.self) { beta in
                                                    ReferenceKernels.groupNormSiLUBackward(
                                                        input: x.baseAddress!, gamma: gamma.baseAddress!, beta: beta.baseAddress!,
                                                        mean: mean.baseAddress!, rstd: rstd.baseAddress!,
                                                        outputGrad: dy.baseAddress!, inputGrad: dx.baseAddress!,
                                                        gammaGrad: dgamma.baseAddress!, betaGrad: dbeta.baseAddress!,
                                                        batch: n, channels: c, spatial: spatial, groups: groups)
                                                }
                                            } else {
                                                ReferenceKernels.groupNormBackward(
                                                    input: x.baseAddress!, gamma: gamma.baseAddress!, mean: mean.baseAddress!,
                                                    rstd: rstd.baseAddress!,
                                                    outputGrad: dy.baseAddress!, inputGrad: dx.baseAddress!, gammaGrad: dgamma.baseAddress!,
                                                    betaGrad: dbeta.baseAddress!,
                                                    batch: n, channels: c, spatial: spatial, groups: groups)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        switch x.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
    }

    static func softmaxForward(_ x: Tensor, _ y: inout Tensor, outer: Int, axis: Int, inner: Int) {
        func run<T: TensorScalar>(_: T.Type) {
            x.withUnsafeBufferPointer(as: T.self) { x in
                y.withUnsafeMutableBufferPointer(as: T.self) { y in
                    if T.self == Float.self {
                        FastKernels.softmaxForward(
                            input: f(x.baseAddress!), output: f(y.baseAddress!), outer: outer, axis: axis, inner: inner)
                    } else {
                        ReferenceKernels.softmaxForward(
                            input: x.baseAddress!, output: y.baseAddress!, outer: outer, axis: axis, inner: inner)
                    }
                }
            }
        }
        switch x.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
    }

    static func softmaxBackward(_ y: Tensor, _ dy: Tensor, _ dx: inout Tensor, outer: Int, axis: Int, inner: Int) {
        func run<T: TensorScalar>(_: T.Type) {
            y.withUnsafeBufferPointer(as: T.self) { y in
                dy.withUnsafeBufferPointer(as: T.self) { dy in
                    dx.withUnsafeMutableBufferPointer(as: T.self) { dx in
                        if T.self == Float.self {
                            FastKernels.softmaxBackward(
                                output: f(y.baseAddress!), outputGrad: f(dy.baseAddress!), inputGrad: f(dx.baseAddress!), outer: outer,
                                axis: axis, inner: inner)
                        } else {
                            ReferenceKernels.softmaxBackward(
                                output: y.baseAddress!, outputGrad: dy.baseAddress!, inputGrad: dx.baseAddress!, outer: outer, axis: axis,
                                inner: inner)
                        }
                    }
                }
            }
        }
        switch y.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
    }
}

/// The same pointer seen as Float (callers check `T.self == Float.self` first).
@inline(__always)
private func f<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }

@inline(__always)
private func f<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

extension Tensor {
    /// Read-only pointer to the elements, valid while the tensor is alive (the caller holds it).
    fileprivate func elements<T: TensorScalar>(as type: T.Type) -> UnsafePointer<T> {
        precondition(T.dtype == dtype, "Tensor: elements are \(dtype), not \(T.dtype)")
        return UnsafePointer(storage.pointer.assumingMemoryBound(to: T.self))
    }
}
