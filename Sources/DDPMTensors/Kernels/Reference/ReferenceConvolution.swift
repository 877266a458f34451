// Plain reference kernels for 2-D convolution (NCHW, OIHW): the specification the fast ones must match.

/// The plain kernels every fast kernel is tested against. Direct loops, no tricks.
public enum ReferenceKernels {}

extension ReferenceKernels {
    /// y[n,o,p,q] = bias[o] + Σ_{i,a,b} x[n,i,p·sh − padTop + a, q·sw − padLeft + b] · w[o,i,a,b]
    /// (zero outside the image). `bias` may be nil.
    public static func conv2DForward<T: TensorScalar>(
        input x: UnsafePointer<T>, weight w: UnsafePointer<T>, bias: UnsafePointer<T>?,
        output y: UnsafeMutablePointer<T>, geometry g: Conv2DGeometry
    ) {
        let (oh, ow) = (g.outHeight, g.outWidth)
        for n in 0..<g.batch {
            for o in 0..<g.outChannels {
                for p in 0..<oh {
                    for q in 0..<ow {
                        var sum: T = bias?[o] ?? 0
                        for i in 0..<g.inChannels {
                            for a in 0..<g.kernelHeight {
                                let ih = p * g.strideHeight - g.padTop + a
                                if ih < 0 || ih >= g.height { continue }
                                for b in 0..<g.kernelWidth {
                                    let iw = q * g.strideWidth - g.padLeft + b
                                    if iw < 0 || iw >= g.width { continue }
                                    sum +=
                                        x[((n * g.inChannels + i) * g.height + ih) * g.width + iw]
                                        * w[((o * g.inChannels + i) * g.kernelHeight + a) * g.kernelWidth + b]
                                }
                            }
                        }
                        y[((n * g.outChannels + o) * oh + p) * ow + q] = sum
                    }
                }
            }
        }
    }

    /// dx = ∂L/∂x given dy = ∂L/∂y: dx[n,i,ih,iw] = Σ dy[n,o,p,q] · w[o,i,a,b] over the taps that read x[n,i,ih,iw].
    public static func conv2DBackwardData<T: TensorScalar>(
        outputGrad dy: UnsafePointer<T>, weight w: UnsafePointer<T>,
        inputGrad dx: UnsafeMutablePointer<T>, geometry g: Conv2DGeometry
    ) {
        let (oh, ow) = (g.outHeight, g.outWidth)
        dx.update(repeating: 0, count: g.batch * g.inChannels * g.height * g.width)
        for n in 0..<g.batch {
            for o in 0..<g.outChannels {
                for p in 0..<oh {
                    for q in 0..<ow {
                        let d = dy[((n * g.outChannels + o) * oh + p) * ow + q]
                        for i in 0..<g.inChannels {
                            for a in 0..<g.kernelHeight {
                                let ih = p * g.strideHeight - g.padTop + a
                                if ih < 0 || ih >= g.height { continue }
                                for b in 0..<g.kernelWidth {
                                    let iw = q * g.strideWidth - g.padLeft + b
                                    if iw < 0 || iw >= g.width { continue }
                                    dx[((n * g.inChannels + i) * g.height + ih) * g.width + iw] +=
                                        d * w[((o * g.inChannels + i) * g.kernelHeight + a) * g.kernelWidth + b]
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// dw[o,i,a,b] = Σ_{n,p,q} dy[n,o,p,q] · x[n,i,p·sh − padTop + a, q·sw − padLeft + b].
    public static func conv2DBackwardWeights<T: TensorScalar>(
        input x: UnsafePointer<T>, outputGrad dy: UnsafePointer<T>,
        weightGrad dw: UnsafeMutablePointer<T>, geometry g: Conv2DGeometry
    ) {
        let (oh, ow) = (g.outHeight, g.outWidth)
        for o in 0..<g.outChannels {
            for i in 0..<g.inChannels {
                for a in 0..<g.kernelHeight {
                    for b in 0..<g.kernelWidth {
                        var sum: T = 0
                        for n in 0..<g.batch {
                            for p in 0..<oh {
                                let ih = p * g.strideHeight - g.padTop + a
                                if ih < 0 || ih >= g.height { continue }
                                for q in 0..<ow {
                                    let iw = q * g.strideWidth - g.padLeft + b
                                    if iw < 0 || iw >= g.width { continue }
                                    sum +=
                                        dy[((n * g.outChannels + o) * oh + p) * ow + q]
                                        * x[((n * g.inChannels + i) * g.height + ih) * g.width + iw]
                                }
                            }
                        }
                        dw[((o * g.inChannels + i) * g.kernelHeight + a) * g.kernelWidth + b] = sum
                    }
                }
            }
        }
    }
}
