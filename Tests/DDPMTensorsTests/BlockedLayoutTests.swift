import Testing
import DDPMTensors

/// Activations in oneDNN's nChw16c (``TensorLayout/channelBlocked16``) against the Float64
/// reference kernels on row-major tensors, through the public ops and their gradients; and the
/// layouts the ops give, so that a kernel falling back to row-major fails here too.
@Suite struct BlockedLayoutTests {
    /// Runs `f` on Float64 inputs (reference kernels) and on Float32 inputs stored blocked where
    /// `blocked[k]`; compares the output and every input gradient with
    /// |f32 − f64| ≤ tolerance·(1 + |f64|), and the Float32 output's layout with `layout`.
    func compare(
        _ name: String, _ shapes: [[Int]], blocked: [Bool], layout: TensorLayout, tolerance: Double = 2e-4,
        sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor
    ) {
        let inputs64 = shapes.enumerated().map { testTensor($0.element, seed: UInt64(30 + $0.offset), range: -2...2) }
        func run(_ inputs: [Tensor]) -> (Tensor, [Tensor]) {
            let leaves = inputs.map { $0.requiringGradient() }
            let y = f(leaves)
            let weights = testTensor(y.shape, seed: 7).converted(to: y.dtype)
            return (y, gradients(of: (y * weights).sum(), withRespectTo: leaves))
        }
        let (y64, g64) = run(inputs64)
        let inputs32 = inputs64.enumerated().map { k, x in
            blocked[k] ? x.converted(to: .float32).inLayout(.channelBlocked16) : x.converted(to: .float32)
        }
        for (k, x) in inputs32.enumerated() where blocked[k] {
            #expect(x.layout == .channelBlocked16, "\(name): input \(k) is not blocked", sourceLocation: sourceLocation)
        }
        let (y32, g32) = run(inputs32)
        #expect(y32.layout == layout, "\(name): output is \(y32.layout), expected \(layout)", sourceLocation: sourceLocation)
        func check(_ a: [Double], _ b: [Double], _ what: String) {
            let worst = zip(a, b).map { Swift.abs($0 - $1) / (1 + Swift.abs($1)) }.max() ?? 0
            #expect(worst <= tolerance, "\(name) \(what): largest scaled difference \(worst)", sourceLocation: sourceLocation)
        }
        check(y32.doubles, y64.doubles, "output")
        for k in g64.indices { check(g32[k].doubles, g64[k].doubles, "gradient \(k)") }
    }

    @Test func reorderRoundTripIsExact() {
        let x = testTensor([3, 32, 5, 7], seed: 1).converted(to: .float32)
        let blocked = x.inLayout(.channelBlocked16)
        #expect(blocked.layout == .channelBlocked16)
        #expect(blocked.floats == x.floats)  // reading a blocked tensor sees row-major order
        #expect(blocked.inLayout(.rowMajor).floats == x.floats)
        #expect(blocked.reshaped([3, 32, 35]).floats == x.floats)
        var written = blocked
        written.withUnsafeMutableBufferPointer(as: Float.self) { $0[1] = 42 }  // writing makes it row-major
        #expect(written.layout == .rowMajor && written.floats[1] == 42 && written.floats[2] == x.floats[2])
        #expect(blocked.floats == x.floats)  // the original is untouched
    }

    /// Group sizes within one block (1, 2, 4, 8), of one block (16), of two blocks (32), and
    /// straddling blocks (6: units of 3 blocks of 8 groups; 24: units of 3 blocks of 2 groups).
    @Test(arguments: [(32, 32), (32, 16), (32, 8), (32, 4), (32, 2), (64, 2), (96, 16), (48, 2)])
    func groupNormOnBlocks(_ channels: Int, _ groups: Int) {
        let shapes = [[2, channels, 5, 3], [channels], [channels]]
        compare("groupNorm \(channels)/\(groups)", shapes, blocked: [true, false, false], layout: .channelBlocked16) {
            groupNorm($0[0], groups: groups, gamma: $0[1], beta: $0[2])
        }
        compare("groupNormSiLU \(channels)/\(groups)", shapes, blocked: [true, false, false], layout: .channelBlocked16) {
            groupNormSiLU($0[0], groups: groups, gamma: $0[1], beta: $0[2])
        }
    }

    @Test func groupNormOfLargeMeanOnBlocks() {
        compare("groupNorm 1000 + x", [[2, 32, 9, 9], [32], [32]], blocked: [true, false, false], layout: .channelBlocked16) {
            groupNormSiLU($0[0] + 1000.0, groups: 8, gamma: $0[1], beta: $0[2])
        }
    }

    @Test func convolutionsReadAndWriteBlocks() {
        compare("conv 32→48 3×3", [[2, 32, 9, 9], [48, 32, 3, 3], [48]], blocked: [true, false, false], layout: .channelBlocked16) {
            conv2d($0[0], weight: $0[1], bias: $0[2], padding: Padding2D(1))
        }
        compare(
            "conv 3→16 3×3 (row-major in)", [[2, 3, 8, 8], [16, 3, 3, 3], [16]], blocked: [false, false, false], layout: .channelBlocked16
        ) {
            conv2d($0[0], weight: $0[1], bias: $0[2], padding: Padding2D(1))
        }
        compare("conv 16→3 3×3 (row-major out)", [[2, 16, 8, 8], [3, 16, 3, 3], [3]], blocked: [true, false, false], layout: .rowMajor) {
            conv2d($0[0], weight: $0[1], bias: $0[2], padding: Padding2D(1))
        }
        compare(
            "conv 16→16 3×3 stride 2", [[2, 16, 8, 8], [16, 16, 3, 3], [16]], blocked: [true, false, false], layout: .channelBlocked16
        ) {
            conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1))
        }
        compare("conv 32→16 1×1", [[2, 32, 6, 6], [16, 32, 1, 1], [16]], blocked: [true, false, false], layout: .channelBlocked16) {
            conv2d($0[0], weight: $0[1], bias: $0[2])
        }
    }

    /// oneDNN computes in nChw16c either way: a blocked input gives the very same output as a row-major one.
    @Test func blockedInputGivesTheSameConvolution() {
        let x = testTensor([2, 32, 9, 9], seed: 3).converted(to: .float32)
        let w = testTensor([32, 32, 3, 3], seed: 4).converted(to: .float32)
        let fromRowMajor = conv2d(x, weight: w, padding: Padding2D(1))
        let fromBlocked = conv2d(x.inLayout(.channelBlocked16), weight: w, padding: Padding2D(1))
        #expect(fromRowMajor.floats == fromBlocked.floats)
    }

    @Test func arithmeticKeepsBlocks() {
        let both = [true, true]
        compare("blocked + blocked", [[2, 32, 4, 5], [2, 32, 4, 5]], blocked: both, layout: .channelBlocked16) { $0[0] + $0[1] }
        compare("blocked · blocked", [[2, 32, 4, 5], [2, 32, 4, 5]], blocked: both, layout: .channelBlocked16) { $0[0] * $0[1] }
        compare("blocked + [N, C, 1, 1]", [[2, 32, 4, 5], [2, 32, 1, 1]], blocked: [true, false], layout: .channelBlocked16) {
            $0[0] + $0[1]
        }
        compare("[C, 1, 1] − blocked", [[32, 1, 1], [2, 32, 4, 5]], blocked: [false, true], layout: .channelBlocked16) { $0[0] - $0[1] }
        compare("blocked / [N, 1, H, W]", [[2, 32, 4, 5], [2, 1, 4, 5]], blocked: [true, false], layout: .channelBlocked16) {
            $0[0] / ($0[1].squared() + 1.0)
        }
        compare("blocked [1, C, H, W] · blocked", [[1, 32, 4, 5], [3, 32, 4, 5]], blocked: both, layout: .channelBlocked16) {
            $0[0] * $0[1]
        }
        compare("blocked + row-major, same shape", [[2, 32, 4, 5], [2, 32, 4, 5]], blocked: [true, false], layout: .channelBlocked16) {
            $0[0] + $0[1]
        }
        compare("row-major [N, C, H, 1] · blocked", [[2, 32, 4, 1], [2, 32, 4, 5]], blocked: [false, true], layout: .rowMajor) {
            $0[0] * $0[1]
        }
        compare("scalar ops and SiLU", [[2, 32, 4, 5]], blocked: [true], layout: .channelBlocked16) { ($0[0] * 3.0 - 1.0).silu() }
        compare("sum over positions", [[2, 32, 4, 5]], blocked: [true], layout: .rowMajor) {
            $0[0].sum(axes: [2, 3], keepingDimensions: true)
        }
    }

    @Test func channelConcatenationAndSlicesKeepBlocks() {
        compare("concat blocked, blocked", [[2, 32, 3, 3], [2, 16, 3, 3]], blocked: [true, true], layout: .channelBlocked16) {
            Tensor.concatenate($0, axis: 1)
        }
        compare("concat blocked, row-major 16", [[2, 32, 3, 3], [2, 16, 3, 3]], blocked: [true, false], layout: .channelBlocked16) {
            Tensor.concatenate($0, axis: 1)
        }
        compare("concat blocked, row-major 8", [[2, 32, 3, 3], [2, 8, 3, 3]], blocked: [true, false], layout: .rowMajor) {
            Tensor.concatenate($0, axis: 1)
        }
        compare("split at block edges", [[2, 48, 3, 3]], blocked: [true], layout: .channelBlocked16) {
            let parts = $0[0].split(sizes: [16, 32], axis: 1)
            return parts[1] * 2.0 + Tensor.concatenate([parts[0], parts[0]], axis: 1)
        }
        compare("slice inside a block", [[2, 48, 3, 3]], blocked: [true], layout: .rowMajor) { $0[0].sliced(axis: 1, range: 4..<20) }
    }

    @Test func tokensFromBlockedImagesAndBack() {
        compare("tokens of blocked", [[2, 32, 3, 5]], blocked: [true], layout: .rowMajor) { $0[0].tokensFromImage() * 1.0 }
        compare("tokens of row-major", [[2, 8, 3, 5]], blocked: [false], layout: .rowMajor) { $0[0].tokensFromImage() * 1.0 }
        compare("image of tokens", [[2, 15, 32]], blocked: [false], layout: .channelBlocked16) {
            Tensor.image(fromTokens: $0[0], height: 3, width: 5)
        }
        compare("image of 8-channel tokens", [[2, 15, 8]], blocked: [false], layout: .rowMajor) {
            Tensor.image(fromTokens: $0[0], height: 3, width: 5)
        }
        // Token (n, p) holds the channels of position p of image n.
        let x = Tensor((0..<(2 * 32 * 6)).map { Float($0) }, shape: [2, 32, 2, 3])
        let tokens = x.inLayout(.channelBlocked16).tokensFromImage().floats
        let (token, pixel) = ((1 * 6 + 4) * 32 + 17, ((1 * 32 + 17) * 2 + 1) * 3 + 1)  // n 1, p 4 = (h 1, w 1), c 17
        #expect(tokens[token] == x.floats[pixel])
    }

    @Test func upsamplingKeepsBlocks() {
        compare("upsampleNearest2x", [[2, 32, 3, 5]], blocked: [true], layout: .channelBlocked16) { upsampleNearest2x($0[0]) }
    }

    /// The same draws give the same mask whatever the input's layout.
    @Test func dropoutMaskDoesNotDependOnLayout() {
        let x = testTensor([2, 32, 4, 4], seed: 9).converted(to: .float32)
        func drop(_ x: Tensor) -> Tensor {
            var generators = [PhiloxGenerator(seed: 1), PhiloxGenerator(seed: 2)]
            return dropout(x, probability: 0.3, rowGenerators: &generators)
        }
        let blocked = drop(x.inLayout(.channelBlocked16))
        #expect(blocked.layout == .channelBlocked16)
        #expect(blocked.floats == drop(x).floats)
    }
}
