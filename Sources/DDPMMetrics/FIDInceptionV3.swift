// pytorch-fid's InceptionV3 (the FID network, ported from TensorFlow's 2015-12-05 graph): torchvision's layout with FIDInceptionA/C/E_1/E_2, inference only.
import DDPMNeuralNetworks
import DDPMTensors
import Foundation

/// The Inception network of FID, exactly as pytorch-fid runs it (`InceptionV3(use_fid_inception=True)`).
///
/// torchvision's InceptionV3 layout with the blocks pytorch-fid replaces to match TensorFlow's graph
/// of 2015-12-05: Mixed_5b–5d are FIDInceptionA, 6b–6e FIDInceptionC, 7b FIDInceptionE_1 — their
/// average pools ignore padded zeros (`count_include_pad=False`, TensorFlow's 'SAME' pool) — and 7c
/// is FIDInceptionE_2, whose pool branch is a 3×3 max pool. Every convolution is followed by
/// BatchNorm (ε = 0.001) and ReLU; the BatchNorm is folded into the convolution when the weights
/// are loaded (w′ = w·γ/√(σ² + ε), b′ = β − μ·γ/√(σ² + ε), in Float64, then rounded to Float32).
///
/// Input: RGB images in [0, 1], NCHW, any size; ``prepare(_:)`` resizes them to 299 × 299 bilinearly as
/// `F.interpolate(…, align_corners=False)` does and scales them to [−1, 1], as pytorch-fid does
/// before the network. Features: the outputs of four blocks averaged over space (``Block``):
/// 2048-d pool3 is FID's; the 64-, 192- and 768-d ones are earlier layers that pytorch-fid also
/// offers for small sample counts — FIDs from different layers cannot be compared with each other
/// or with published numbers.
///
/// Float32 on oneDNN; about 5.7 GFLOP per image (the convolutions of a 299 × 299 input).
public final class FIDInceptionV3 {
    /// Where the features are taken (pytorch-fid's `output_blocks`): each block's output averaged over space.
    public enum Block: Int, CaseIterable, Sendable, Comparable {
        /// After the first max pool (Conv2d_2b_3x3 → 3×3/2 max): 64-d.
        case pool64 = 0
        /// After the second max pool (Conv2d_4a_3x3 → 3×3/2 max): 192-d.
        case pool192 = 1
        /// After Mixed_6e (what feeds torchvision's auxiliary classifier): 768-d.
        case pool768 = 2
        /// pool3, after Mixed_7c: 2048-d, the FID of every published number.
        case pool2048 = 3

        /// The feature dimension.
        public var dimension: Int { [64, 192, 768, 2048][rawValue] }

        /// The block with `dimension` features (64, 192, 768, 2048), if any.
        public init?(dimension: Int) {
            guard let block = Self.allCases.first(where: { $0.dimension == dimension }) else { return nil }
            self = block
        }

        /// Orders blocks by depth.
        public static func < (a: Block, b: Block) -> Bool { a.rawValue < b.rawValue }
    }

    /// The file pytorch-fid downloads (torch-fidelity's `weights-inception-2015-12-05-6726825d.pth` is the same bytes).
    public static let weightsFileName = "pt_inception-2015-12-05-6726825d.pth"
    /// Where pytorch-fid downloads it from.
    public static let weightsURL =
        "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
    /// Its SHA-256 (torch.hub checks the first 8 digits, the ones in the name).
    public static let weightsSHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
    /// Its size in bytes.
    public static let weightsByteCount = 95_628_359
    /// The input side the network was trained for; ``prepare(_:)`` resizes to it.
    public static let inputSize = 299

    /// One convolution of the network: its state_dict name (`NAME.conv.weight`, `NAME.bn.*`), shapes and geometry.
    public struct Convolution: Sendable {
        /// The module name, e.g. `Mixed_6b.branch7x7_2`.
        public let name: String
        /// Input and output channels.
        public let inChannels: Int, outChannels: Int
        /// Kernel (height, width).
        public let kernel: (Int, Int)
        /// Stride in both directions.
        public let stride: Int
        /// Zero padding (rows above and below, columns left and right).
        public let padding: (Int, Int)

        /// `NAME.conv.weight`'s shape, [out, in, kH, kW].
        public var weightShape: [Int] { [outChannels, inChannels, kernel.0, kernel.1] }
    }

    /// Every convolution, in the order the network runs them (94: 21,751,136 weights, and with the
    /// BatchNorm vectors 21,820,000 numbers; the file's `fc` adds 2,065,392), whose `NAME.conv.weight`, `NAME.bn.weight`,
    /// `NAME.bn.bias`, `NAME.bn.running_mean` and `NAME.bn.running_var` a weights file must hold.
    public static let convolutions: [Convolution] = {
        var list: [Convolution] = []
        func conv(_ name: String, _ i: Int, _ o: Int, _ k: (Int, Int), stride: Int = 1, padding: (Int, Int) = (0, 0)) {
            list.append(Convolution(name: name, inChannels: i, outChannels: o, kernel: k, stride: stride, padding: padding))
        }
        conv("Conv2d_1a_3x3", 3, 32, (3, 3), stride: 2)
        conv("Conv2d_2a_3x3", 32, 32, (3, 3))
        conv("Conv2d_2b_3x3", 32, 64, (3, 3), padding: (1, 1))
        conv("Conv2d_3b_1x1", 64, 80, (1, 1))
        conv("Conv2d_4a_3x3", 80, 192, (3, 3))
        for (name, i, pool) in [("Mixed_5b", 192, 32), ("Mixed_5c", 256, 64), ("Mixed_5d", 288, 64)] {  // InceptionA
            conv("\(name).branch1x1", i, 64, (1, 1))
            conv("\(name).branch5x5_1", i, 48, (1, 1))
            conv("\(name).branch5x5_2", 48, 64, (5, 5), padding: (2, 2))
            conv("\(name).branch3x3dbl_1", i, 64, (1, 1))
            conv("\(name).branch3x3dbl_2", 64, 96, (3, 3), padding: (1, 1))
            conv("\(name).branch3x3dbl_3", 96, 96, (3, 3), padding: (1, 1))
            conv("\(name).branch_pool", i, pool, (1, 1))
        }
        conv("Mixed_6a.branch3x3", 288, 384, (3, 3), stride: 2)  // InceptionB
        conv("Mixed_6a.branch3x3dbl_1", 288, 64, (1, 1))
        conv("Mixed_6a.branch3x3dbl_2", 64, 96, (3, 3), padding: (1, 1))
        conv("Mixed_6a.branch3x3dbl_3", 96, 96, (3, 3), stride: 2)
        for (name, c7) in [("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)] {  // InceptionC
            conv("\(name).branch1x1", 768, 192, (1, 1))
            conv("\(name).branch7x7_1", 768, c7, (1, 1))
            conv("\(name).branch7x7_2", c7, c7, (1, 7), padding: (0, 3))
            conv("\(name).branch7x7_3", c7, 192, (7, 1), padding: (3, 0))
            conv("\(name).branch7x7dbl_1", 768, c7, (1, 1))
            conv("\(name).branch7x7dbl_2", c7, c7, (7, 1), padding: (3, 0))
            conv("\(name).branch7x7dbl_3", c7, c7, (1, 7), padding: (0, 3))
            conv("\(name).branch7x7dbl_4", c7, c7, (7, 1), padding: (3, 0))
            conv("\(name).branch7x7dbl_5", c7, 192, (1, 7), padding: (0, 3))
            conv("\(name).branch_pool", 768, 192, (1, 1))
        }
        conv("Mixed_7a.branch3x3_1", 768, 192, (1, 1))  // InceptionD
        conv("Mixed_7a.branch3x3_2", 192, 320, (3, 3), stride: 2)
        conv("Mixed_7a.branch7x7x3_1", 768, 192, (1, 1))
        conv("Mixed_7a.branch7x7x3_2", 192, 192, (1, 7), padding: (0, 3))
        conv("Mixed_7a.branch7x7x3_3", 192, 192, (7, 1), padding: (3, 0))
        conv("Mixed_7a.branch7x7x3_4", 192, 192, (3, 3), stride: 2)
        for (name, i) in [("Mixed_7b", 1280), ("Mixed_7c", 2048)] {  // InceptionE
            conv("\(name).branch1x1", i, 320, (1, 1))
            conv("\(name).branch3x3_1", i, 384, (1, 1))
            conv("\(name).branch3x3_2a", 384, 384, (1, 3), padding: (0, 1))
            conv("\(name).branch3x3_2b", 384, 384, (3, 1), padding: (1, 0))
            conv("\(name).branch3x3dbl_1", i, 448, (1, 1))
            conv("\(name).branch3x3dbl_2", 448, 384, (3, 3), padding: (1, 1))
            conv("\(name).branch3x3dbl_3a", 384, 384, (1, 3), padding: (0, 1))
            conv("\(name).branch3x3dbl_3b", 384, 384, (3, 1), padding: (1, 0))
            conv("\(name).branch_pool", i, 192, (1, 1))
        }
        return list
    }()

    /// The state_dict entries the network reads, with their shapes: for each convolution its
    /// `conv.weight` and the four BatchNorm vectors (`bn.weight`, `bn.bias`, `bn.running_mean`,
    /// `bn.running_var`).
    public static var stateDictShapes: [(name: String, shape: [Int])] {
        convolutions.flatMap { c in
            [("\(c.name).conv.weight", c.weightShape)]
                + ["weight", "bias", "running_mean", "running_var"].map { ("\(c.name).bn.\($0)", [c.outChannels]) }
        }
    }

    /// A folded convolution: weight [out, in, kH, kW] and bias [out], Float32.
    struct FoldedConvolution {
        let weight: Tensor, bias: Tensor
        let stride: Int
        let padding: Padding2D

        /// ReLU(conv(x) + b), NCHW.
        func callAsFunction(_ x: Tensor) -> Tensor {
            conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: padding).relu()
        }
    }

    private let layers: [String: FoldedConvolution]

    /// The network with weights from a state_dict: `tensor(name, shape)` returns the entry `name`,
    /// which must have `shape` (see ``stateDictShapes``); BatchNorm is folded here, with ε = 0.001.
    /// - Throws: whatever `tensor` throws for a missing or misshapen entry.
    public init(tensor: (_ name: String, _ shape: [Int]) throws -> Tensor) throws {
        var layers: [String: FoldedConvolution] = [:]
        for c in Self.convolutions {
            let w = try tensor("\(c.name).conv.weight", c.weightShape).doubles
            let gamma = try tensor("\(c.name).bn.weight", [c.outChannels]).doubles
            let beta = try tensor("\(c.name).bn.bias", [c.outChannels]).doubles
            let mean = try tensor("\(c.name).bn.running_mean", [c.outChannels]).doubles
            let variance = try tensor("\(c.name).bn.running_var", [c.outChannels]).doubles
            let perFilter = w.count / c.outChannels
            var weight = [Float](repeating: 0, count: w.count), bias = [Float](repeating: 0, count: c.outChannels)
            for o in 0..<c.outChannels {
                let scale = gamma[o] / (variance[o] + 0.001).squareRoot()
                for k in 0..<perFilter { weight[o * perFilter + k] = Float(w[o * perFilter + k] * scale) }
                bias[o] = Float(beta[o] - mean[o] * scale)
            }
            layers[c.name] = FoldedConvolution(
                weight: Tensor(weight, shape: c.weightShape), bias: Tensor(bias, shape: [c.outChannels]), stride: c.stride,
                padding: Padding2D(top: c.padding.0, bottom: c.padding.0, left: c.padding.1, right: c.padding.1))
        }
        self.layers = layers
    }

    /// The network with the weights in `url`: a PyTorch checkpoint (`.pth`, pytorch-fid's
    /// ``weightsFileName``; zip or legacy format) or a safetensors file holding the same state_dict.
    ///
    /// Besides the entries of ``stateDictShapes`` the file may hold `fc.weight` (which must then be
    /// [1008, 2048], the FID network's 1008 classes), `fc.bias` and `*.num_batches_tracked`; anything
    /// else (torchvision's `AuxLogits`, say) means it is another network and is refused.
    /// - Throws: ``MetricsError/missingWeights(_:)`` when there is no file; `TensorFileError` for an
    ///   unreadable or malformed one (a pickle naming a global outside a state_dict's is refused
    ///   by name); ``MetricsError/wrongWeights(_:reason:)`` when its tensors are not this network's.
    public convenience init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw MetricsError.missingWeights(url) }
        let tensors: [String: Tensor]
        if url.pathExtension.lowercased() == "safetensors" {
            tensors = try SafeTensorsFile(contentsOf: url).allTensors()
        } else {
            tensors = try PyTorchCheckpoint(contentsOf: url).allTensors
        }
        let needed = Set(Self.stateDictShapes.map(\.name))
        let extra = tensors.keys.filter {
            !needed.contains($0) && !$0.hasSuffix(".num_batches_tracked") && $0 != "fc.weight" && $0 != "fc.bias"
        }
        guard extra.isEmpty else {
            throw MetricsError.wrongWeights(
                url, reason: "it holds tensors the FID network has no place for: \(extra.sorted().prefix(5).joined(separator: ", "))")
        }
        if let fc = tensors["fc.weight"], fc.shape != [1008, 2048] {
            throw MetricsError.wrongWeights(url, reason: "fc.weight is \(fc.shape), the FID network's is [1008, 2048]")
        }
        try self.init { name, shape in
            guard let tensor = tensors[name] else { throw MetricsError.wrongWeights(url, reason: "no tensor \(name)") }
            guard tensor.shape == shape else {
                throw MetricsError.wrongWeights(url, reason: "\(name) is \(tensor.shape), expected \(shape)")
            }
            return tensor
        }
    }

    /// pytorch-fid's input transform: `images` ([N, 3, H, W] in [0, 1], Float32) resized to 299 × 299
    /// (`resizeBilinear(_:height:width:)` of DDPMTensors, `align_corners=False`), then mapped to [−1, 1] by 2x − 1.
    public static func prepare(_ images: Tensor) -> Tensor {
        precondition(images.rank == 4 && images.shape[1] == 3, "FIDInceptionV3.prepare: images must be [N, 3, H, W], got \(images.shape)")
        let resized =
            images.shape[2] == inputSize && images.shape[3] == inputSize
            ? images : resizeBilinear(images, height: inputSize, width: inputSize)
        return resized * 2 - 1
    }

    /// The features of `images` ([N, 3, H, W] RGB in [0, 1], any size) at `blocks`: [N, D] each,
    /// Float32. Runs ``prepare(_:)`` first, then the network up to the deepest block asked for.
    public func features(_ images: Tensor, blocks: Set<Block> = [.pool2048]) -> [Block: Tensor] {
        featuresOfPrepared(Self.prepare(images), blocks: blocks)
    }

    /// The features of inputs already prepared (299 × 299 or any other size, in [−1, 1]).
    public func featuresOfPrepared(_ x: Tensor, blocks: Set<Block>) -> [Block: Tensor] {
        precondition(
            x.rank == 4 && x.shape[1] == 3 && x.dtype == .float32,
            "FIDInceptionV3: input must be float32 [N, 3, H, W], got \(x.dtype) \(x.shape)")
        precondition(!x.requiresGradient, "FIDInceptionV3: inference only; the input requires gradients")
        guard let deepest = blocks.max() else { return [:] }
        var out: [Block: Tensor] = [:]
        func keep(_ block: Block, _ x: Tensor) -> Bool {
            if blocks.contains(block) { out[block] = x.mean(axes: [2, 3]) }
            return block == deepest
        }
        // Block 0: the stem to the first max pool.
        var x = conv("Conv2d_2b_3x3", conv("Conv2d_2a_3x3", conv("Conv2d_1a_3x3", x)))
        x = maxPool2D(x, kernel: (3, 3), stride: (2, 2))
        if keep(.pool64, x) { return out }
        // Block 1: to the second max pool.
        x = maxPool2D(conv("Conv2d_4a_3x3", conv("Conv2d_3b_1x1", x)), kernel: (3, 3), stride: (2, 2))
        if keep(.pool192, x) { return out }
        // Block 2: Mixed_5b … Mixed_6e.
        for name in ["Mixed_5b", "Mixed_5c", "Mixed_5d"] { x = inceptionA(name, x) }
        x = inceptionB("Mixed_6a", x)
        for name in ["Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"] { x = inceptionC(name, x) }
        if keep(.pool768, x) { return out }
        // Block 3: Mixed_7a … Mixed_7c and the global average pool.
        x = inceptionD("Mixed_7a", x)
        x = inceptionE("Mixed_7b", x, maxPool: false)
        x = inceptionE("Mixed_7c", x, maxPool: true)
        _ = keep(.pool2048, x)
        return out
    }

    // MARK: - Blocks

    private func conv(_ name: String, _ x: Tensor) -> Tensor { layers[name]!(x) }

    /// TensorFlow's 3×3 stride-1 'SAME' average pool: padded zeros not counted.
    private func averagePool(_ x: Tensor) -> Tensor {
        averagePool2D(x, kernel: (3, 3), stride: (1, 1), padding: Padding2D(1), countingPadding: false)
    }

    /// FIDInceptionA: 1×1 | 1×1 → 5×5 | 1×1 → 3×3 → 3×3 | avg pool → 1×1.
    private func inceptionA(_ n: String, _ x: Tensor) -> Tensor {
        let b1 = conv("\(n).branch1x1", x)
        let b5 = conv("\(n).branch5x5_2", conv("\(n).branch5x5_1", x))
        let b3 = conv("\(n).branch3x3dbl_3", conv("\(n).branch3x3dbl_2", conv("\(n).branch3x3dbl_1", x)))
        let bp = conv("\(n).branch_pool", averagePool(x))
        return Tensor.concatenate([b1, b5, b3, bp], axis: 1)
    }

    /// InceptionB (Mixed_6a, unchanged by pytorch-fid): 3×3/2 | 1×1 → 3×3 → 3×3/2 | 3×3/2 max pool.
    private func inceptionB(_ n: String, _ x: Tensor) -> Tensor {
        let b3 = conv("\(n).branch3x3", x)
        let bd = conv("\(n).branch3x3dbl_3", conv("\(n).branch3x3dbl_2", conv("\(n).branch3x3dbl_1", x)))
        return Tensor.concatenate([b3, bd, maxPool2D(x, kernel: (3, 3), stride: (2, 2))], axis: 1)
    }

    /// FIDInceptionC: 1×1 | 1×1 → 1×7 → 7×1 | 1×1 → 7×1 → 1×7 → 7×1 → 1×7 | avg pool → 1×1.
    private func inceptionC(_ n: String, _ x: Tensor) -> Tensor {
        let b1 = conv("\(n).branch1x1", x)
        let b7 = conv("\(n).branch7x7_3", conv("\(n).branch7x7_2", conv("\(n).branch7x7_1", x)))
        var bd = conv("\(n).branch7x7dbl_1", x)
        for k in 2...5 { bd = conv("\(n).branch7x7dbl_\(k)", bd) }
        let bp = conv("\(n).branch_pool", averagePool(x))
        return Tensor.concatenate([b1, b7, bd, bp], axis: 1)
    }

    /// InceptionD (Mixed_7a, unchanged): 1×1 → 3×3/2 | 1×1 → 1×7 → 7×1 → 3×3/2 | 3×3/2 max pool.
    private func inceptionD(_ n: String, _ x: Tensor) -> Tensor {
        let b3 = conv("\(n).branch3x3_2", conv("\(n).branch3x3_1", x))
        var b7 = conv("\(n).branch7x7x3_1", x)
        for k in 2...4 { b7 = conv("\(n).branch7x7x3_\(k)", b7) }
        return Tensor.concatenate([b3, b7, maxPool2D(x, kernel: (3, 3), stride: (2, 2))], axis: 1)
    }

    /// FIDInceptionE_1 (avg pool, padded zeros not counted) or FIDInceptionE_2 (`maxPool`: 3×3/1 max pool):
    /// 1×1 | 1×1 → (1×3, 3×1) | 1×1 → 3×3 → (1×3, 3×1) | pool → 1×1.
    private func inceptionE(_ n: String, _ x: Tensor, maxPool: Bool) -> Tensor {
        let b1 = conv("\(n).branch1x1", x)
        let s3 = conv("\(n).branch3x3_1", x)
        let sd = conv("\(n).branch3x3dbl_2", conv("\(n).branch3x3dbl_1", x))
        let pooled = maxPool ? maxPool2D(x, kernel: (3, 3), stride: (1, 1), padding: Padding2D(1)) : averagePool(x)
        return Tensor.concatenate(
            [
                b1, conv("\(n).branch3x3_2a", s3), conv("\(n).branch3x3_2b", s3),
                conv("\(n).branch3x3dbl_3a", sd), conv("\(n).branch3x3dbl_3b", sd), conv("\(n).branch_pool", pooled),
            ], axis: 1)
    }
}
