// Fast Float32 2-D convolution (NCHW activations, OIHW weights) through oneDNN's blocked-layout JIT kernels.
import CDNNL

/// 2-D convolution forward and backward passes on the CPU through oneDNN, with exactly the semantics
/// of `ReferenceKernels.conv2DForward`, `conv2DBackwardData` and `conv2DBackwardWeights`.
///
/// Layout: the caller's activations are contiguous NCHW or nChw16c (``ActivationLayouts``, what
/// ``TensorLayout`` describes), weights contiguous OIHW
/// (`[outChannels, inChannels, kernelHeight, kernelWidth]`), as everywhere in this package.
///
/// Two tricks. First, oneDNN is asked for `dnnl_format_tag_any`, so it picks its blocked layouts
/// (activations `nChw16c`, weights `OIhw16i16o`, on AVX-512 the `jit:avx512_core` kernels), and the
/// caller's buffers are reordered into and out of them around each call where their layout
/// differs (NCHW activations, OIHW weights; nChw16c activations pass as they are). On this
/// project's machine that beats both im2col + SGEMM and oneDNN's own plain-layout path on every
/// U-Net shape; the activation reorders, 10–13 % of a training step with NCHW activations, are
/// what blocked activations remove. Second, with `Algorithm.winograd` (the
/// default) every pass that oneDNN can run as Winograd F(4×4, 3×3) (`jit_wino_4x3`: 3×3 kernels,
/// stride 1, on AVX-512) does so where the output is at least `winogradMinimumSide` wide and
/// high: 4× fewer multiplications than the direct sum (36 instead of 144 per 4×4 output tile and
/// channel pair) in exchange for transforms of the tiles, 1.7× faster U-Net training steps and 1.5× faster sampling steps here.
/// Its rounding differs from the direct sum's but stays within the same Float32 error bound in
/// the tests (`Tests/DDPMTensorsTests/DNNLKernelTests.swift`); `.direct` switches it off.
///
/// Each (geometry, pass, bias or not, thread count) gets one plan, created on first use and cached:
/// kernel JIT compilation is paid once per shape. Blocked copies and scratchpads live in buffers that
/// are reused from call to call. Calls are serialised process-wide (each already uses every thread).
public enum DNNLConvolution {
    /// A pass of the convolution, named for diagnostics such as `implementationName(of:geometry:)`.
    public enum Pass: Hashable, Sendable, CustomStringConvertible {
        /// `forward`: y from x and w (and the bias); `backwardData`: dx = ∂L/∂x from dy and w;
        /// `backwardWeights`: dw = ∂L/∂w (and the bias gradient) from x and dy.
        case forward, backwardData, backwardWeights

        /// The pass's name in messages: `forward`, `backward-data` or `backward-weights`.
        public var description: String {
            switch self {
            case .forward: "forward"
            case .backwardData: "backward-data"
            case .backwardWeights: "backward-weights"
            }
        }
    }

    /// How oneDNN computes a convolution.
    public enum Algorithm: Hashable, Sendable {
        /// The direct sum over the taps.
        case direct
        /// Winograd F(4×4, 3×3) where oneDNN has it for the shape and pass and the output is at
        /// least `winogradMinimumSide` pixels each way, else direct.
        case winograd
    }

    /// The precision of the products.
    public enum Precision: String, Hashable, Sendable, CaseIterable {
        /// Float32 throughout.
        case float32
        /// x, w (forward), dy (backward) rounded to BFloat16 (8 significant bits) inside oneDNN, the
        /// products summed in Float32, every output Float32 (`avx512_core_bf16` kernels). Direct
        /// sums only (oneDNN has no BF16 Winograd): with ``Algorithm/winograd``, a convolution whose
        /// Winograd tiles cover its output exactly runs Float32 Winograd instead
        /// (``winogradTilesCoverExactly(_:)``). The caller's buffers stay Float32.
        ///
        /// Error bound per output element, for a sum of n products with u = 2⁻⁸ (BFloat16's unit
        /// roundoff) and γₙ = n·2⁻²⁴/(1 − n·2⁻²⁴): |ŷ − y| ≤ (2u + u² + γₙ(1 + u)²)·Σ|x||w|: each
        /// factor is rounded once (relative error ≤ u), the Float32 sum adds γₙ.
        case bfloat16
    }

    /// The precision of calls that name none (`ddpm --precision`). Check
    /// ``CPUFeatures/hasBFloat16`` before choosing `.bfloat16`.
    nonisolated(unsafe) public static var defaultPrecision = Precision.float32

    /// The smallest output height and width that `.winograd` runs as Winograd. Measured here
    /// (U-Net shapes, all three passes): Winograd is 1.4–2.7× faster from 7×7 outputs up, but
    /// at 4×4 and 2×2, one mostly padded 4×4 tile per image, up to 7× slower than direct.
    public static let winogradMinimumSide = 7

    /// How the caller's activations lie in memory: x (and dx) in `input`, y (and dy) in `output`,
    /// each row-major NCHW or ``TensorLayout/channelBlocked16`` (no reorder where oneDNN computes in
    /// that layout).
    public struct ActivationLayouts: Hashable, Sendable {
        /// The layout of x (forward, backward-weights) or dx (backward-data).
        public var input: TensorLayout
        /// The layout of y (forward) or dy (backward passes).
        public var output: TensorLayout

        /// The layouts of the input side and the output side.
        public init(input: TensorLayout, output: TensorLayout) { (self.input, self.output) = (input, output) }

        /// Both row-major NCHW.
        public static let rowMajor = ActivationLayouts(input: .rowMajor, output: .rowMajor)
    }

    /// Whether Winograd F(4×4, 3×3)'s 4×4 output tiles cover `geometry`'s output exactly (height and
    /// width multiples of 4). Under ``Precision/bfloat16`` with ``Algorithm/winograd`` such a 3×3
    /// convolution runs Float32 Winograd rather than BF16 direct: with no tile partly padding, its 4×
    /// fewer products beat BF16's doubled rate and the conversions to BFloat16 (measured per layer
    /// and pass on the U-Net presets: Float32 Winograd faster on every 32×32, 16×16 and 28×28 layer
    /// of `cifar10` and `fashion`, even at 8×8; BF16 direct faster at 14×14 and 7×7, where 23 % of
    /// each tile is padding, and on everything Winograd does not cover). The results are Float32's,
    /// within the Float32 bound.
    public static func winogradTilesCoverExactly(_ geometry: Conv2DGeometry) -> Bool {
        geometry.outHeight % 4 == 0 && geometry.outWidth % 4 == 0
    }

    /// The algorithm of calls that name none (`ddpm --convolution`).
    nonisolated(unsafe) public static var defaultAlgorithm = Algorithm.winograd

    private struct Key: Hashable {
        var geometry: Conv2DGeometry
        var pass: Pass
        var hasBias: Bool
        var threads: Int
        var algorithm: Algorithm
        var precision: Precision
        var layouts: ActivationLayouts
    }

    private static let plans = DNNLPlanCache<Key>()

    /// y = x ⋆ w + bias: y[n,o,p,q] = bias[o] + Σ_{i,a,b} x[n,i,p·sh − padTop + a, q·sw − padLeft + b] · w[o,i,a,b],
    /// zero outside the image.
    ///
    /// - Parameters:
    ///   - input: x, `geometry.inputShape` (NCHW).
    ///   - weight: w, `geometry.weightShape` (OIHW).
    ///   - bias: `[outChannels]`, or nil for none.
    ///   - output: y, `geometry.outputShape` (NCHW); overwritten.
    ///   - geometry: the sizes, strides and padding; must be valid (``Conv2DGeometry/isValid``).
    ///   - algorithm: direct or Winograd (where oneDNN has it); by default ``defaultAlgorithm``.
    ///   - precision: Float32 or BFloat16 products; by default ``defaultPrecision``.
    ///   - layouts: how the activations lie in memory (NCHW or nChw16c each side); by default NCHW.
    public static func forward(
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, geometry: Conv2DGeometry, algorithm: Algorithm = defaultAlgorithm,
        precision: Precision = defaultPrecision, layouts: ActivationLayouts = .rowMajor
    ) {
        precondition(geometry.isValid, "DNNLConvolution.forward: invalid geometry \(geometry)")
        if geometry.batch == 0 { return }
        var buffers = [UnsafeMutableRawPointer(mutating: input), UnsafeMutableRawPointer(mutating: weight)]
        if let bias { buffers.append(UnsafeMutableRawPointer(mutating: bias)) }
        buffers.append(UnsafeMutableRawPointer(output))
        run(.forward, geometry, hasBias: bias != nil, algorithm, precision, layouts, buffers)
    }

    /// dx = ∂L/∂x from dy = ∂L/∂y: dx[n,i,h,w] = Σ dy[n,o,p,q] · w[o,i,a,b] over the taps (p,q,a,b) that read x[n,i,h,w].
    ///
    /// - Parameters:
    ///   - outputGrad: dy, `geometry.outputShape` (NCHW).
    ///   - weight: w, `geometry.weightShape` (OIHW).
    ///   - inputGrad: dx, `geometry.inputShape` (NCHW); overwritten.
    ///   - geometry: the sizes, strides and padding; must be valid (``Conv2DGeometry/isValid``).
    ///   - algorithm: direct or Winograd (where oneDNN has it); by default ``defaultAlgorithm``.
    ///   - precision: Float32 or BFloat16 products; by default ``defaultPrecision``.
    ///   - layouts: how the activations lie in memory (NCHW or nChw16c each side); by default NCHW.
    public static func backwardData(
        outputGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        inputGrad: UnsafeMutablePointer<Float>, geometry: Conv2DGeometry, algorithm: Algorithm = defaultAlgorithm,
        precision: Precision = defaultPrecision, layouts: ActivationLayouts = .rowMajor
    ) {
        precondition(geometry.isValid, "DNNLConvolution.backwardData: invalid geometry \(geometry)")
        if geometry.batch == 0 { return }
        let buffers = [
            UnsafeMutableRawPointer(mutating: outputGrad), UnsafeMutableRawPointer(mutating: weight),
            UnsafeMutableRawPointer(inputGrad),
        ]
        run(.backwardData, geometry, hasBias: false, algorithm, precision, layouts, buffers)
    }

    /// dw = ∂L/∂w and db = ∂L/∂bias from x and dy:
    /// dw[o,i,a,b] = Σ_{n,p,q} dy[n,o,p,q] · x[n,i,p·sh − padTop + a, q·sw − padLeft + b], db[o] = Σ_{n,p,q} dy[n,o,p,q].
    ///
    /// - Parameters:
    ///   - input: x, `geometry.inputShape` (NCHW).
    ///   - outputGrad: dy, `geometry.outputShape` (NCHW).
    ///   - weightGrad: dw, `geometry.weightShape` (OIHW); overwritten (zero when the batch is empty).
    ///   - biasGrad: db, `[outChannels]`, or nil when there is no bias; overwritten.
    ///   - geometry: the sizes, strides and padding; must be valid (``Conv2DGeometry/isValid``).
    ///   - algorithm: direct or Winograd (where oneDNN has it); by default ``defaultAlgorithm``.
    ///   - precision: Float32 or BFloat16 products; by default ``defaultPrecision``.
    ///   - layouts: how the activations lie in memory (NCHW or nChw16c each side); by default NCHW.
    public static func backwardWeights(
        input: UnsafePointer<Float>, outputGrad: UnsafePointer<Float>,
        weightGrad: UnsafeMutablePointer<Float>, biasGrad: UnsafeMutablePointer<Float>?,
        geometry: Conv2DGeometry, algorithm: Algorithm = defaultAlgorithm, precision: Precision = defaultPrecision,
        layouts: ActivationLayouts = .rowMajor
    ) {
        precondition(geometry.isValid, "DNNLConvolution.backwardWeights: invalid geometry \(geometry)")
        if geometry.batch == 0 {
            weightGrad.update(repeating: 0, count: geometry.weightShape.reduce(1, *))
            biasGrad?.update(repeating: 0, count: geometry.outChannels)
            return
        }
        var buffers = [
            UnsafeMutableRawPointer(mutating: input), UnsafeMutableRawPointer(mutating: outputGrad),
            UnsafeMutableRawPointer(weightGrad),
        ]
        if let biasGrad { buffers.append(UnsafeMutableRawPointer(biasGrad)) }
        run(.backwardWeights, geometry, hasBias: biasGrad != nil, algorithm, precision, layouts, buffers)
    }

    /// oneDNN's name for the implementation it runs for `pass` at `geometry` (with bias for the
    /// forward and backward-weights passes), e.g. `jit:avx512_core` or `jit_wino_4x3:avx512_core`;
    /// creates the plan if needed.
    public static func implementationName(
        of pass: Pass, geometry: Conv2DGeometry, algorithm: Algorithm = defaultAlgorithm, precision: Precision = defaultPrecision
    ) -> String {
        precondition(geometry.isValid && geometry.batch > 0, "DNNLConvolution.implementationName: invalid geometry \(geometry)")
        return DNNLEngine.shared.withLock { _ in
            plan(pass, geometry, hasBias: pass != .backwardData, algorithm, precision, .rowMajor).implementation
        }
    }

    /// The precision whose products `pass` at `geometry` runs in when `precision` is asked for:
    /// Float32 where it runs as Winograd (always Float32), else `precision`.
    ///
    /// - Parameters:
    ///   - pass: the forward, backward-data or backward-weights pass.
    ///   - geometry: the sizes, strides and padding; must be valid.
    ///   - algorithm: the algorithm asked for; by default ``defaultAlgorithm``.
    ///   - precision: the precision asked for; by default ``defaultPrecision``.
    public static func productPrecision(
        of pass: Pass, geometry: Conv2DGeometry, algorithm: Algorithm = defaultAlgorithm, precision: Precision = defaultPrecision
    ) -> Precision {
        guard precision == .bfloat16, geometry.batch > 0 else { return precision }
        let name = implementationName(of: pass, geometry: geometry, algorithm: algorithm, precision: precision)
        return name.contains("wino") ? .float32 : .bfloat16
    }

    // MARK: - Plans

    private static func run(
        _ pass: Pass, _ geometry: Conv2DGeometry, hasBias: Bool, _ algorithm: Algorithm, _ precision: Precision,
        _ layouts: ActivationLayouts, _ buffers: [UnsafeMutableRawPointer]
    ) {
        DNNLEngine.shared.withLock { arena in
            plan(pass, geometry, hasBias: hasBias, algorithm, precision, layouts).execute(buffers, arena: arena)
        }
    }

    /// Must be called under `DNNLEngine.withLock`.
    private static func plan(
        _ pass: Pass, _ geometry: Conv2DGeometry, hasBias: Bool, _ algorithm: Algorithm, _ precision: Precision,
        _ layouts: ActivationLayouts
    ) -> DNNLPlan {
        let key = Key(
            geometry: geometry, pass: pass, hasBias: hasBias, threads: DNNLEngine.threads, algorithm: algorithm, precision: precision,
            layouts: layouts)
        return plans.plan(for: key) { makePlan(pass, geometry, hasBias: hasBias, algorithm, precision, layouts) }
    }

    /// The caller's layouts: NCHW or nChw16c activations, OIHW weights, a vector bias.
    private struct PlainDescs {
        var input, weight, bias, output: dnnl_memory_desc_t
    }

    private static func makePlan(
        _ pass: Pass, _ g: Conv2DGeometry, hasBias: Bool, _ algorithm: Algorithm, _ precision: Precision, _ layouts: ActivationLayouts
    ) -> DNNLPlan {
        let what = "convolution \(pass)\(hasBias ? " with bias" : "")\(precision == .bfloat16 ? " in bf16" : "") at \(g)"
        func tag(_ layout: TensorLayout) -> dnnl_format_tag_t { layout == .rowMajor ? dnnl_nchw : dnnl_nChw16c }
        let plain = PlainDescs(
            input: dnnlMemoryDesc(g.inputShape, tag(layouts.input), what),
            weight: dnnlMemoryDesc(g.weightShape, dnnl_oihw, what),
            bias: dnnlMemoryDesc([g.outChannels], dnnl_x, what),
            output: dnnlMemoryDesc(g.outputShape, tag(layouts.output), what))
        let attr = dnnlUserScratchpadAttr(what)
        defer { dnnl_primitive_attr_destroy(attr) }

        // Winograd first where asked for, the output is large enough and oneDNN has it for this
        // shape and pass (under BFloat16: in Float32, where its tiles cover the output exactly),
        // else direct (which must succeed).
        if algorithm == .winograd, min(g.outHeight, g.outWidth) >= winogradMinimumSide,
            precision == .float32 || winogradTilesCoverExactly(g),
            let plan = makePlan(
                pass, g, hasBias: hasBias, algorithm: dnnl_convolution_winograd, precision: .float32, plain: plain, attr: attr, what: what,
                required: false)
        {
            return plan
        }
        return makePlan(
            pass, g, hasBias: hasBias, algorithm: dnnl_convolution_direct, precision: precision, plain: plain, attr: attr, what: what,
            required: true)!
    }

    private static func makePlan(
        _ pass: Pass, _ g: Conv2DGeometry, hasBias: Bool, algorithm: dnnl_alg_kind_t, precision: Precision, plain: PlainDescs,
        attr: dnnl_primitive_attr_t?, what: String, required: Bool
    ) -> DNNLPlan? {
        // BFloat16: the factors of the products (x and w forward; dy and w for dx; x and dy for dw)
        // in bf16; what is computed (y, dx, dw, the bias and its gradient) in f32.
        let low = precision == .bfloat16 ? dnnl_bf16 : dnnl_f32
        let (source, weightType, destination): (dnnl_data_type_t, dnnl_data_type_t, dnnl_data_type_t) =
            switch pass {
            case .forward: (low, low, dnnl_f32)
            case .backwardData: (dnnl_f32, low, low)
            case .backwardWeights: (low, dnnl_f32, low)
            }
        let engine = DNNLEngine.shared.engine
        // Creates a primitive descriptor; nil (or a stop when `required`) when oneDNN has no implementation.
        func create(_ desc: UnsafeMutableRawPointer, _ attr: dnnl_primitive_attr_t?, hint: dnnl_primitive_desc_t?, _ call: String)
            -> dnnl_primitive_desc_t?
        {
            var pd: dnnl_primitive_desc_t?
            let status = dnnl_primitive_desc_create(&pd, desc, attr, engine, hint)
            if status != dnnl_success {
                if required { DNNLEngine.check(status, "\(call) for \(what)") }
                return nil
            }
            return pd
        }
        // 1. The forward descriptor: the primitive itself for the forward pass, the hint for the
        //    backward passes (kept alive with their plan, since oneDNN 2.x backward descriptors point to it).
        // The forward descriptor of a backward pass is only its hint: every factor in the low precision.
        let forwardTypes = pass == .forward ? (low, low, dnnl_f32) : (low, low, low)
        var forwardDesc = convolutionDesc(g, what, hasBias: hasBias, types: forwardTypes) { src, weights, bias, dst, strides, left, right in
            var desc = dnnl_convolution_desc_t()
            let status = dnnl_convolution_forward_desc_init(
                &desc, dnnl_forward_training, algorithm, src, weights, bias, dst, strides, left, right)
            return (desc, status, "dnnl_convolution_forward_desc_init")
        }
        guard let forward = create(&forwardDesc, pass == .forward ? attr : nil, hint: nil, "dnnl_primitive_desc_create(forward)") else {
            return nil
        }

        // 2. The pass's primitive and its arguments, each with a reorder where oneDNN chose a blocked layout.
        switch pass {
        case .forward:
            let plan = DNNLPlan(descriptor: forward, what: what)
            plan.addArgument(DNNL_ARG_SRC, plain: plain.input, chosen: plan.chosenDesc(dnnl_query_src_md), flow: .input)
            plan.addArgument(DNNL_ARG_WEIGHTS, plain: plain.weight, chosen: plan.chosenDesc(dnnl_query_weights_md), flow: .input)
            if hasBias {
                plan.addArgument(DNNL_ARG_BIAS, plain: plain.bias, chosen: plan.chosenDesc(dnnl_query_weights_md, index: 1), flow: .input)
            }
            plan.addArgument(DNNL_ARG_DST, plain: plain.output, chosen: plan.chosenDesc(dnnl_query_dst_md), flow: .output)
            return plan

        case .backwardData:
            var desc = convolutionDesc(g, what, hasBias: false, types: (source, weightType, destination)) {
                diffSrc, weights, _, diffDst, strides, left, right in
                var desc = dnnl_convolution_desc_t()
                let status = dnnl_convolution_backward_data_desc_init(
                    &desc, algorithm, diffSrc, weights, diffDst, strides, left, right)
                return (desc, status, "dnnl_convolution_backward_data_desc_init")
            }
            guard let backward = create(&desc, attr, hint: forward, "dnnl_primitive_desc_create(backward data)") else {
                dnnl_primitive_desc_destroy(forward)
                return nil
            }
            let plan = DNNLPlan(descriptor: backward, what: what)
            plan.addArgument(DNNL_ARG_DIFF_DST, plain: plain.output, chosen: plan.chosenDesc(dnnl_query_diff_dst_md), flow: .input)
            plan.addArgument(DNNL_ARG_WEIGHTS, plain: plain.weight, chosen: plan.chosenDesc(dnnl_query_weights_md), flow: .input)
            plan.addArgument(DNNL_ARG_DIFF_SRC, plain: plain.input, chosen: plan.chosenDesc(dnnl_query_diff_src_md), flow: .output)
            return plan

        case .backwardWeights:
            var desc = convolutionDesc(g, what, hasBias: hasBias, types: (source, weightType, destination)) {
                src, diffWeights, diffBias, diffDst, strides, left, right in
                var desc = dnnl_convolution_desc_t()
                let status = dnnl_convolution_backward_weights_desc_init(
                    &desc, algorithm, src, diffWeights, diffBias, diffDst, strides, left, right)
                return (desc, status, "dnnl_convolution_backward_weights_desc_init")
            }
            guard let backward = create(&desc, attr, hint: forward, "dnnl_primitive_desc_create(backward weights)") else {
                dnnl_primitive_desc_destroy(forward)
                return nil
            }
            let plan = DNNLPlan(descriptor: backward, what: what)
            plan.addArgument(DNNL_ARG_SRC, plain: plain.input, chosen: plan.chosenDesc(dnnl_query_src_md), flow: .input)
            plan.addArgument(DNNL_ARG_DIFF_DST, plain: plain.output, chosen: plan.chosenDesc(dnnl_query_diff_dst_md), flow: .input)
            plan.addArgument(DNNL_ARG_DIFF_WEIGHTS, plain: plain.weight, chosen: plan.chosenDesc(dnnl_query_diff_weights_md), flow: .output)
            if hasBias {
                plan.addArgument(
                    DNNL_ARG_DIFF_BIAS, plain: plain.bias, chosen: plan.chosenDesc(dnnl_query_diff_weights_md, index: 1), flow: .output)
            }
            return plan
        }
    }

    /// Builds a convolution op descriptor with every tensor in `dnnl_format_tag_any` and oneDNN's
    /// spatial parameters (strides; top/left padding; bottom/right padding) from `g`.
    private static func convolutionDesc(
        _ g: Conv2DGeometry, _ what: String, hasBias: Bool,
        types: (source: dnnl_data_type_t, weights: dnnl_data_type_t, destination: dnnl_data_type_t),
        _ initialise: (
            UnsafePointer<dnnl_memory_desc_t>, UnsafePointer<dnnl_memory_desc_t>, UnsafePointer<dnnl_memory_desc_t>?,
            UnsafePointer<dnnl_memory_desc_t>, UnsafePointer<dnnl_dim_t>, UnsafePointer<dnnl_dim_t>, UnsafePointer<dnnl_dim_t>
        ) -> (dnnl_convolution_desc_t, dnnl_status_t, String)
    ) -> dnnl_convolution_desc_t {
        var src = dnnlMemoryDesc(g.inputShape, dnnl_format_tag_any, what, type: types.source)
        var weights = dnnlMemoryDesc(g.weightShape, dnnl_format_tag_any, what, type: types.weights)
        var bias = dnnlMemoryDesc([g.outChannels], dnnl_format_tag_any, what)
        var dst = dnnlMemoryDesc(g.outputShape, dnnl_format_tag_any, what, type: types.destination)
        let strides: [dnnl_dim_t] = [dnnl_dim_t(g.strideHeight), dnnl_dim_t(g.strideWidth)]
        let left: [dnnl_dim_t] = [dnnl_dim_t(g.padTop), dnnl_dim_t(g.padLeft)]
        let right: [dnnl_dim_t] = [dnnl_dim_t(g.padBottom), dnnl_dim_t(g.padRight)]
        let (desc, status, call) = withUnsafePointer(to: &src) { src in
            withUnsafePointer(to: &weights) { weights in
                withUnsafePointer(to: &bias) { bias in
                    withUnsafePointer(to: &dst) { dst in
                        initialise(src, weights, hasBias ? bias : nil, dst, strides, left, right)
                    }
                }
            }
        }
        DNNLEngine.check(status, "\(call) for \(what)")
        return desc
    }
}
