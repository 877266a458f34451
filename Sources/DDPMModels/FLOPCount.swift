// Analytic FLOP counts of the networks' forward passes (multiply–adds × 2 of convolutions,
// linear layers and attention products; normalisation and pointwise work not counted).

extension UNetConfiguration {
    /// FLOPs of one forward pass on a batch of `batch` images. A training step (forward, backward
    /// to inputs and to weights) is counted as three times this, by the usual convention.
    public func forwardFLOPs(batch: Int) -> Double {
        let n = Double(batch)
        func conv(_ i: Int, _ o: Int, _ k: Int, _ outSize: Int) -> Double { 2 * n * Double(o * outSize * outSize) * Double(i * k * k) }
        func linear(_ i: Int, _ o: Int, rows: Int) -> Double { 2 * n * Double(rows) * Double(i * o) }
        let base = blockOutChannels[0], temb = 4 * base
        func resnet(_ i: Int, _ o: Int, _ size: Int) -> Double {
            conv(i, o, 3, size) + conv(o, o, 3, size) + linear(temb, o, rows: 1) + (i == o ? 0 : conv(i, o, 1, size))
        }
        func attention(_ c: Int, _ size: Int) -> Double {
            let positions = size * size
            return 4 * linear(c, c, rows: positions) + 2 * 2 * n * Double(positions * positions * c)
        }
        var size = sampleSize
        var total = conv(inChannels, base, 3, size) + linear(base, temb, rows: 1) + linear(temb, temb, rows: 1)
        var skips = [base]
        var ch = base
        let levels = blockOutChannels.count
        for level in 0..<levels {
            let out = blockOutChannels[level]
            for _ in 0..<layersPerBlock {
                total += resnet(ch, out, size) + (downBlockAttention[level] ? attention(out, size) : 0)
                ch = out
                skips.append(ch)
            }
            if level < levels - 1 {
                size = (size + 1) / 2
                total += conv(ch, ch, 3, size)
                skips.append(ch)
            }
        }
        total += 2 * resnet(ch, ch, size) + (midBlockAttention ? attention(ch, size) : 0)
        for level in 0..<levels {
            let out = blockOutChannels[levels - 1 - level]
            for _ in 0...layersPerBlock {
                total += resnet(ch + skips.removeLast(), out, size) + (upBlockAttention[level] ? attention(out, size) : 0)
                ch = out
            }
            if level < levels - 1 {
                size *= 2
                total += conv(ch, ch, 3, size)
            }
        }
        return total + conv(base, outChannels, 3, size)
    }
}

extension ToyMLPConfiguration {
    /// FLOPs of one forward pass on `batch` points.
    public func forwardFLOPs(batch: Int) -> Double {
        let n = Double(batch)
        let h = Double(hiddenWidth)
        return 2 * n
            * (Double(embeddingDimension) * h + h * h + Double(dataDimension) * h
                + Double(hiddenLayers) * h * h + h * Double(outputDimension))
    }
}
