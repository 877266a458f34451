// Chooses the kernel for each dtype: Float32 → fast kernels, Float64 → reference kernels.

/// The one place where ops pick a kernel. Float64 always runs the reference kernels (they are
/// what gradient checks differentiate); Float32 runs the fast ones.
enum KernelDispatch {
    static func matmul(_ a: Tensor, _ b: Tensor, _ c: inout Tensor, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, batch: Int) {
        switch a.dtype {
        case .float32:
            a.withUnsafeBufferPointer(as: Float.self) { a in
                b.withUnsafeBufferPointer(as: Float.self) { b in
                    c.withUnsafeMutableBufferPointer(as: Float.self) { c in
                        ReferenceKernels.matmul(a.baseAddress!, b.baseAddress!, c.baseAddress!, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, batch: batch)
                    }
                }
            }
        case .float64:
            a.withUnsafeBufferPointer(as: Double.self) { a in
                b.withUnsafeBufferPointer(as: Double.self) { b in
                    c.withUnsafeMutableBufferPointer(as: Double.self) { c in
                        ReferenceKernels.matmul(a.baseAddress!, b.baseAddress!, c.baseAddress!, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, batch: batch)
                    }
                }
            }
        }
    }

    static func conv2DForward(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ y: inout Tensor, _ g: Conv2DGeometry) {
        func run<T: TensorScalar>(_: T.Type) {
            x.withUnsafeBufferPointer(as: T.self) { x in
                w.withUnsafeBufferPointer(as: T.self) { w in
                    y.withUnsafeMutableBufferPointer(as: T.self) { y in
                        if let bias {
                            bias.withUnsafeBufferPointer(as: T.self) { b in
                                ReferenceKernels.conv2DForward(input: x.baseAddress!, weight: w.baseAddress!, bias: b.baseAddress!, output: y.baseAddress!, geometry: g)
                            }
                        } else {
                            ReferenceKernels.conv2DForward(input: x.baseAddress!, weight: w.baseAddress!, bias: nil, output: y.baseAddress!, geometry: g)
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

    static func conv2DBackwardData(_ dy: Tensor, _ w: Tensor, _ dx: inout Tensor, _ g: Conv2DGeometry) {
        func run<T: TensorScalar>(_: T.Type) {
            dy.withUnsafeBufferPointer(as: T.self) { dy in
                w.withUnsafeBufferPointer(as: T.self) { w in
                    dx.withUnsafeMutableBufferPointer(as: T.self) { dx in
                        ReferenceKernels.conv2DBackwardData(outputGrad: dy.baseAddress!, weight: w.baseAddress!, inputGrad: dx.baseAddress!, geometry: g)
                    }
                }
            }
        }
        switch dy.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
    }

    static func conv2DBackwardWeights(_ x: Tensor, _ dy: Tensor, _ dw: inout Tensor, _ g: Conv2DGeometry) {
        func run<T: TensorScalar>(_: T.Type) {
            x.withUnsafeBufferPointer(as: T.self) { x in
                dy.withUnsafeBufferPointer(as: T.self) { dy in
                    dw.withUnsafeMutableBufferPointer(as: T.self) { dw in
                        ReferenceKernels.conv2DBackwardWeights(input: x.baseAddress!, outputGrad: dy.baseAddress!, weightGrad: dw.baseAddress!, geometry: g)
                    }
                }
            }
        }
        switch x.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
    }

    static func groupNormForward(_ x: Tensor, _ gamma: Tensor, _ beta: Tensor, _ y: inout Tensor, _ mean: inout Tensor, _ rstd: inout Tensor, groups: Int, eps: Double) {
        let (n, c) = (x.shape[0], x.shape[1])
        let spatial = x.scalarCount / max(n * c, 1)
        func run<T: TensorScalar>(_: T.Type) {
            x.withUnsafeBufferPointer(as: T.self) { x in
                gamma.withUnsafeBufferPointer(as: T.self) { gamma in
                    beta.withUnsafeBufferPointer(as: T.self) { beta in
                        y.withUnsafeMutableBufferPointer(as: T.self) { y in
                            mean.withUnsafeMutableBufferPointer(as: T.self) { mean in
                                rstd.withUnsafeMutableBufferPointer(as: T.self) { rstd in
                                    ReferenceKernels.groupNormForward(
                                        input: x.baseAddress!, gamma: gamma.baseAddress!, beta: beta.baseAddress!, output: y.baseAddress!,
                                        mean: mean.baseAddress!, rstd: rstd.baseAddress!, batch: n, channels: c, spatial: spatial, groups: groups, eps: eps)
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

    static func groupNormBackward(_ x: Tensor, _ gamma: Tensor, _ mean: Tensor, _ rstd: Tensor, _ dy: Tensor, _ dx: inout Tensor, _ dgamma: inout Tensor, _ dbeta: inout Tensor, groups: Int) {
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
                                            ReferenceKernels.groupNormBackward(
                                                input: x.baseAddress!, gamma: gamma.baseAddress!, mean: mean.baseAddress!, rstd: rstd.baseAddress!,
                                                outputGrad: dy.baseAddress!, inputGrad: dx.baseAddress!, gammaGrad: dgamma.baseAddress!, betaGrad: dbeta.baseAddress!,
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
        switch x.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
    }

    static func softmaxForward(_ x: Tensor, _ y: inout Tensor, outer: Int, axis: Int, inner: Int) {
        func run<T: TensorScalar>(_: T.Type) {
            x.withUnsafeBufferPointer(as: T.self) { x in
                y.withUnsafeMutableBufferPointer(as: T.self) { y in
                    ReferenceKernels.softmaxForward(input: x.baseAddress!, output: y.baseAddress!, outer: outer, axis: axis, inner: inner)
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
                        ReferenceKernels.softmaxBackward(output: y.baseAddress!, outputGrad: dy.baseAddress!, inputGrad: dx.baseAddress!, outer: outer, axis: axis, inner: inner)
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
