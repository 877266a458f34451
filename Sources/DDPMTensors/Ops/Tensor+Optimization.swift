// In-place optimiser updates (Adam, Kingma & Ba 2015, Algorithm 1; exponential moving average), one pass per parameter.

/// The constants of one Adam step: lr, β₁, β₂, ε and the bias corrections 1 − β₁ᵗ, 1 − β₂ᵗ.
public struct AdamStepConstants: Sendable {
    /// The step size lr of this step (after any warm-up).
    public var learningRate: Double
    /// β₁, the decay of the first-moment (mean) estimate m.
    public var beta1: Double
    /// β₂, the decay of the second-moment (uncentred variance) estimate v.
    public var beta2: Double
    /// ε, added to √v̂ in the denominator.
    public var epsilon: Double
    /// c₁ = 1 − β₁ᵗ for step t (1-based): m̂ = m/c₁.
    public var correction1: Double
    /// c₂ = 1 − β₂ᵗ for step t (1-based): v̂ = v/c₂.
    public var correction2: Double

    /// The constants as given; the caller computes the corrections for its step count.
    public init(learningRate: Double, beta1: Double, beta2: Double, epsilon: Double, correction1: Double, correction2: Double) {
        (self.learningRate, self.beta1, self.beta2, self.epsilon) = (learningRate, beta1, beta2, epsilon)
        (self.correction1, self.correction2) = (correction1, correction2)
    }
}

/// One Adam step for one parameter, in place and without recording:
/// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·(m/c₁)/(√(v/c₂) + ε).
///
/// Each element's arithmetic is the same sequence of single roundings as the tensor-op form
/// (`m * β₁ + g * (1 − β₁)`, …, `θ − (m̂ / d) * lr`) with every constant rounded to the dtype
/// first, so the two agree to the last bit. The one trick: a single pass reads g, m, v, θ once and
/// writes m, v, θ once (the tensor-op form makes about ten passes and ten temporaries).
/// Storage shared with other tensors is copied first (copy-on-write), so callers holding the old
/// values keep them.
///
/// - Parameters:
///   - value: θ, updated in place.
///   - firstMoment: m, updated in place.
///   - secondMoment: v, updated in place.
///   - gradient: g; the same shape and dtype as the other three (a precondition).
///   - k: the step's constants.
public func adamStep(value: inout Tensor, firstMoment: inout Tensor, secondMoment: inout Tensor, gradient: Tensor, _ k: AdamStepConstants) {
    precondition(
        value.shape == gradient.shape && firstMoment.shape == gradient.shape && secondMoment.shape == gradient.shape,
        "adamStep: value \(value.shape), moments \(firstMoment.shape) \(secondMoment.shape), gradient \(gradient.shape) must agree")
    precondition(
        Set([value.dtype, firstMoment.dtype, secondMoment.dtype, gradient.dtype]).count == 1,
        "adamStep: dtypes differ")
    func run<T: TensorScalar>(_: T.Type) {
        gradient.withUnsafeBufferPointer(as: T.self) { g in
            value.withUnsafeMutableBufferPointer(as: T.self) { theta in
                firstMoment.withUnsafeMutableBufferPointer(as: T.self) { m in
                    secondMoment.withUnsafeMutableBufferPointer(as: T.self) { v in
                        if T.self == Float.self {
                            FastKernels.adamStep(
                                value: fm(theta.baseAddress!), firstMoment: fm(m.baseAddress!), secondMoment: fm(v.baseAddress!),
                                gradient: fp(g.baseAddress!), count: g.count, k)
                        } else {
                            ReferenceKernels.adamStep(
                                value: theta.baseAddress!, firstMoment: m.baseAddress!, secondMoment: v.baseAddress!,
                                gradient: g.baseAddress!, count: g.count, k)
                        }
                    }
                }
            }
        }
    }
    switch value.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    }
}

/// average ← decay·average + (1 − decay)·value in place, without recording (the same roundings
/// as `average * decay + value * (1 − decay)`): one step of an exponential moving average of the
/// weights. `average` and `value` must have the same shape and dtype.
public func movingAverageStep(_ average: inout Tensor, toward value: Tensor, decay: Double) {
    precondition(
        average.shape == value.shape && average.dtype == value.dtype,
        "movingAverageStep: average \(average.shape) \(average.dtype) vs value \(value.shape) \(value.dtype)")
    func run<T: TensorScalar>(_: T.Type) {
        let (a, b) = (T(decay), T(1 - decay))
        value.withUnsafeBufferPointer(as: T.self) { x in
            average.withUnsafeMutableBufferPointer(as: T.self) { y in
                let (count, x, y) = (x.count, x.baseAddress!, y.baseAddress!)
                parallelChunks(count, grain: FastKernels.elementwiseGrain) { range in
                    for i in range { y[i] = y[i] * a + x[i] * b }
                }
            }
        }
    }
    switch value.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    }
}

@inline(__always)
private func fp<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }

@inline(__always)
private func fm<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

extension ReferenceKernels {
    /// The plain loop of `adamStep` (the reference for `FastKernels.adamStep`).
    static func adamStep<T: TensorScalar>(
        value: UnsafeMutablePointer<T>, firstMoment m: UnsafeMutablePointer<T>, secondMoment v: UnsafeMutablePointer<T>,
        gradient g: UnsafePointer<T>, count: Int, _ k: AdamStepConstants
    ) {
        let (b1, c1) = (T(k.beta1), T(1 - k.beta1))
        let (b2, c2) = (T(k.beta2), T(1 - k.beta2))
        let (r1, r2) = (T(1 / k.correction1), T(1 / k.correction2))
        let (eps, lr) = (T(k.epsilon), T(k.learningRate))
        for i in 0..<count {
            let mi = m[i] * b1 + g[i] * c1
            let vi = v[i] * b2 + (g[i] * g[i]) * c2
            m[i] = mi
            v[i] = vi
            value[i] = value[i] - ((mi * r1) / ((vi * r2).squareRoot() + eps)) * lr
        }
    }
}

extension FastKernels {
    /// `adamStep` on SIMD16 vectors over parallel chunks; the same per-element arithmetic as the reference.
    static func adamStep(
        value: UnsafeMutablePointer<Float>, firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
        gradient g: UnsafePointer<Float>, count: Int, _ k: AdamStepConstants
    ) {
        typealias V = SIMD16<Float>
        let (b1, c1) = (V(repeating: Float(k.beta1)), V(repeating: Float(1 - k.beta1)))
        let (b2, c2) = (V(repeating: Float(k.beta2)), V(repeating: Float(1 - k.beta2)))
        let (r1, r2) = (V(repeating: Float(1 / k.correction1)), V(repeating: Float(1 / k.correction2)))
        let (eps, lr) = (V(repeating: Float(k.epsilon)), V(repeating: Float(k.learningRate)))
        parallelChunks(count, grain: elementwiseGrain) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                let gi = g.loadVector(at: i)
                let mi = m.loadVectorMutable(at: i) * b1 + gi * c1
                let vi = v.loadVectorMutable(at: i) * b2 + (gi * gi) * c2
                m.storeVector(mi, at: i)
                v.storeVector(vi, at: i)
                let step = ((mi * r1) / ((vi * r2).squareRoot() + eps)) * lr
                value.storeVector(value.loadVectorMutable(at: i) - step, at: i)
                i += 16
            }
            if i < range.upperBound {
                ReferenceKernels.adamStep(
                    value: value + i, firstMoment: m + i, secondMoment: v + i, gradient: g + i, count: range.upperBound - i, k)
            }
        }
    }
}
