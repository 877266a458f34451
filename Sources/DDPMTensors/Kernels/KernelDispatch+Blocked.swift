// The kernels of blocked (nChw16c) activations, picked by layout.

extension KernelDispatch {
    /// The layout of a group norm's output (and of its input gradient) for input `x`: blocked when
    /// `x` is and the blocked kernel handles its groups, else row-major.
    static func groupNormLayout(_ x: Tensor, groups: Int) -> TensorLayout {
        x.layout == .channelBlocked16 && FastKernels.blockedGroupNormSupports(channels: x.shape[1], groups: groups)
            ? .channelBlocked16 : .rowMajor
    }

    /// `groupNormForward` for a blocked x and y.
    static func blockedGroupNormForward(
        _ x: Tensor, _ gamma: Tensor, _ beta: Tensor, _ y: inout Tensor, _ mean: inout Tensor, _ rstd: inout Tensor, groups: Int,
        eps: Double, silu: Bool
    ) {
        precondition(x.layout == .channelBlocked16 && y.layout == .channelBlocked16, "blockedGroupNormForward: x and y must be nChw16c")
        let (n, c) = (x.shape[0], x.shape[1])
        let spatial = x.scalarCount / max(1, n * c)
        x.withUnsafeStoredElements(as: Float.self) { x in
            gamma.withUnsafeBufferPointer(as: Float.self) { gamma in
                beta.withUnsafeBufferPointer(as: Float.self) { beta in
                    y.withUnsafeMutableStoredElements(as: Float.self) { y in
                        mean.withUnsafeMutableBufferPointer(as: Float.self) { mean in
                            rstd.withUnsafeMutableBufferPointer(as: Float.self) { rstd in
                                FastKernels.blockedGroupNormForward(
                                    input: x.baseAddress!, gamma: gamma.baseAddress!, beta: beta.baseAddress!, output: y.baseAddress!,
                                    mean: mean.baseAddress!, rstd: rstd.baseAddress!, batch: n, channels: c, spatial: spatial,
                                    groups: groups,
                                    eps: eps, silu: silu)
                            }
                        }
                    }
                }
            }
        }
    }

    /// `groupNormBackward` for a blocked x and dx (dy is reordered to nChw16c if it is not).
    static func blockedGroupNormBackward(
        _ x: Tensor, _ gamma: Tensor, _ siluBeta: Tensor?, _ mean: Tensor, _ rstd: Tensor, _ dy: Tensor, _ dx: inout Tensor,
        _ dgamma: inout Tensor, _ dbeta: inout Tensor, groups: Int
    ) {
        precondition(x.layout == .channelBlocked16 && dx.layout == .channelBlocked16, "blockedGroupNormBackward: x and dx must be nChw16c")
        let dy = dy.inLayout(.channelBlocked16)
        let beta = siluBeta?.scalars(as: Float.self)
        let (n, c) = (x.shape[0], x.shape[1])
        let spatial = x.scalarCount / max(1, n * c)
        x.withUnsafeStoredElements(as: Float.self) { x in
            gamma.withUnsafeBufferPointer(as: Float.self) { gamma in
                mean.withUnsafeBufferPointer(as: Float.self) { mean in
                    rstd.withUnsafeBufferPointer(as: Float.self) { rstd in
                        dy.withUnsafeStoredElements(as: Float.self) { dy in
                            dx.withUnsafeMutableStoredElements(as: Float.self) { dx in
                                dgamma.withUnsafeMutableBufferPointer(as: Float.self) { dgamma in
                                    dbeta.withUnsafeMutableBufferPointer(as: Float.self) { dbeta in
                                        beta.withUnsafeBufferPointerIfPresent { beta in
                                            FastKernels.blockedGroupNormBackward(
                                                input: x.baseAddress!, gamma: gamma.baseAddress!, siluBeta: beta,
                                                mean: mean.baseAddress!, rstd: rstd.baseAddress!, outputGrad: dy.baseAddress!,
                                                inputGrad: dx.baseAddress!, gammaGrad: dgamma.baseAddress!, betaGrad: dbeta.baseAddress!,
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
}

extension Optional where Wrapped == [Float] {
    /// `body` with the array's base address, or nil when there is no array.
    fileprivate func withUnsafeBufferPointerIfPresent<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let array): array.withUnsafeBufferPointer { body($0.baseAddress!) }
        case .none: body(nil)
        }
    }
}
