// Whether a U-Net configuration can be built, and its parameter count with overflow checks, before any tensor is allocated.

extension UNetConfiguration {
    /// The largest `sample_size` accepted (the PNG decoder's side limit too).
    public static let maximumSampleSize = 16_384
    /// The most residual blocks per level read from a config (DDPM uses 2; the loops that count
    /// parameters and build the network run this many times per level).
    public static let maximumLayersPerBlock = 64

    /// The first reason this configuration cannot be built as a U-Net, naming the diffusers
    /// config key, or nil when it can.
    ///
    /// Channel counts, blocks per level, groups and heads must be positive; `norm_num_groups`
    /// must divide every level's channels (GroupNorm, also on the concatenated skips); the
    /// attention head dimension must divide the channels of every level with attention; the
    /// sample size must halve evenly at every downsampling (divisible by 2^(levels − 1)), so the
    /// up path meets its skips; and the parameter count must fit in `Int`.
    public var problem: String? {
        if inChannels < 1 { return "\"in_channels\": \(inChannels) must be a positive integer" }
        if outChannels < 1 { return "\"out_channels\": \(outChannels) must be a positive integer" }
        if blockOutChannels.isEmpty { return "\"block_out_channels\" must list at least one level" }
        if downBlockAttention.count != blockOutChannels.count || upBlockAttention.count != blockOutChannels.count {
            return "\"down_block_types\" and \"up_block_types\" need one entry per level of \"block_out_channels\""
        }
        if let (level, channels) = blockOutChannels.enumerated().first(where: { $0.element < 1 }) {
            return "\"block_out_channels\"[\(level)]: \(channels) must be a positive integer"
        }
        if !(1...Self.maximumLayersPerBlock).contains(layersPerBlock) {
            return "\"layers_per_block\": \(layersPerBlock) must be in 1…\(Self.maximumLayersPerBlock)"
        }
        if normGroups < 1 { return "\"norm_num_groups\": \(normGroups) must be a positive integer" }
        if let (level, channels) = blockOutChannels.enumerated().first(where: { $0.element % normGroups != 0 }) {
            return "\"norm_num_groups\": \(normGroups) does not divide \"block_out_channels\"[\(level)] = \(channels); "
                + "group normalisation needs channels divisible by the groups"
        }
        if let problem = headProblem { return problem }
        if !(normEps > 0 && normEps.isFinite) { return "\"norm_eps\": \(normEps) must be a positive number" }
        if !(0..<1).contains(dropout) { return "\"dropout\": \(dropout) must be in [0, 1)" }
        if !freqShift.isFinite { return "\"freq_shift\": \(freqShift) must be a finite number" }
        if downsamplePadding != 0 && downsamplePadding != 1 {
            return "\"downsample_padding\": \(downsamplePadding) is not supported (0 or 1; any other halves the size unevenly)"
        }
        if let problem = sampleSizeProblem { return problem }
        if parameterCount == nil { return "the configuration has more parameters than can be counted" }
        return nil
    }

    /// Why `attention_head_dim` cannot split the channels of some attention layer, or nil.
    private var headProblem: String? {
        guard let d = attentionHeadDimension else { return nil }
        if d < 1 { return "\"attention_head_dim\": \(d) must be a positive integer (or null for one head)" }
        let levels = blockOutChannels.count
        var attended: [Int] = []
        for level in 0..<levels {
            if downBlockAttention[level] { attended.append(blockOutChannels[level]) }
            if upBlockAttention[level] { attended.append(blockOutChannels[levels - 1 - level]) }
        }
        if midBlockAttention { attended.append(blockOutChannels[levels - 1]) }
        if let channels = attended.first(where: { $0 % d != 0 }) {
            return "\"attention_head_dim\": \(d) does not divide the \(channels) channels of an attention layer into whole heads"
        }
        return nil
    }

    /// Why `sample_size` is out of range or does not halve evenly, or nil.
    private var sampleSizeProblem: String? {
        guard (1...Self.maximumSampleSize).contains(sampleSize) else {
            return "\"sample_size\": \(sampleSize) must be in 1…\(Self.maximumSampleSize)"
        }
        let halvings = blockOutChannels.count - 1
        guard halvings < Int.bitWidth - 2, sampleSize % (1 << halvings) == 0 else {
            return "\"sample_size\": \(sampleSize) must be divisible by 2^\(halvings) (one halving per level after the first), "
                + "or the up path cannot meet the skips"
        }
        return nil
    }

    /// The number of parameters of the U-Net this configuration builds, counted layer by layer
    /// as `UNet.init` creates them, with overflow checks: nil when it exceeds `Int.max`. Call it
    /// on a configuration whose `problem` is nil (the attention flags must match the levels).
    public var parameterCount: Int? {
        try? countParameters()
    }

    private struct Overflow: Error {}

    private func countParameters() throws -> Int {
        func add(_ a: Int, _ b: Int) throws -> Int {
            let (sum, overflow) = a.addingReportingOverflow(b)
            if overflow { throw Overflow() }
            return sum
        }
        func multiply(_ a: Int, _ b: Int) throws -> Int {
            let (product, overflow) = a.multipliedReportingOverflow(by: b)
            if overflow { throw Overflow() }
            return product
        }
        let base = blockOutChannels[0]
        let temb = try multiply(4, base)
        func conv(_ i: Int, _ o: Int, _ k: Int) throws -> Int { try add(multiply(multiply(o, i), k * k), o) }
        func linear(_ i: Int, _ o: Int) throws -> Int { try add(multiply(i, o), o) }
        func norm(_ channels: Int) throws -> Int { try multiply(2, channels) }
        func resnet(_ i: Int, _ o: Int) throws -> Int {
            var total = try add(norm(i), conv(i, o, 3))
            total = try add(total, linear(temb, o))
            total = try add(total, add(norm(o), conv(o, o, 3)))
            return i == o ? total : try add(total, conv(i, o, 1))
        }
        func attention(_ channels: Int) throws -> Int { try add(norm(channels), multiply(4, linear(channels, channels))) }

        var total = try add(conv(inChannels, base, 3), add(linear(base, temb), linear(temb, temb)))
        let levels = blockOutChannels.count
        var channels = base
        for level in 0..<levels {
            let out = blockOutChannels[level]
            for j in 0..<layersPerBlock {
                total = try add(total, resnet(j == 0 ? channels : out, out))
                if downBlockAttention[level] { total = try add(total, attention(out)) }
            }
            if level < levels - 1 { total = try add(total, conv(out, out, 3)) }
            channels = out
        }
        let deepest = blockOutChannels[levels - 1]
        total = try add(total, multiply(2, resnet(deepest, deepest)))
        if midBlockAttention { total = try add(total, attention(deepest)) }
        let reversed = Array(blockOutChannels.reversed())
        var previous = reversed[0]
        for level in 0..<levels {
            let out = reversed[level]
            let skipIn = reversed[min(level + 1, levels - 1)]
            for j in 0...layersPerBlock {
                let skip = j == layersPerBlock ? skipIn : out
                total = try add(total, resnet(add(j == 0 ? previous : out, skip), out))
                if upBlockAttention[level] { total = try add(total, attention(out)) }
            }
            if level < levels - 1 { total = try add(total, conv(out, out, 3)) }
            previous = out
        }
        return try add(total, add(norm(base), conv(base, outChannels, 3)))
    }
}
