// Centre cropping and resizing (area average or bilinear) of 8-bit images.

/// How `RasterImage.resized` computes output pixels.
public enum ResizeFilter: String, Sendable, CaseIterable {
    /// Each output pixel is the mean of the input area it covers (fractional pixels weighted by
    /// their overlap). The right choice for downscaling: no aliasing, and an exact integer factor
    /// k averages k×k blocks.
    case area
    /// Bilinear interpolation at pixel centres (half-pixel convention, edges clamped). For upscaling.
    case bilinear
}

extension RasterImage {
    /// The `w × h` region whose top-left pixel is (x, y).
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> RasterImage {
        precondition(
            x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= width && y + h <= height,
            "RasterImage.cropped: (\(x), \(y), \(w)×\(h)) outside \(width)×\(height)")
        var out = [UInt8]()
        out.reserveCapacity(w * h * channels)
        for row in y..<(y + h) {
            let start = (row * width + x) * channels
            out.append(contentsOf: pixels[start..<(start + w * channels)])
        }
        return RasterImage(width: w, height: h, format: format, pixels: out)
    }

    /// The largest centred square: side min(width, height), offset ⌊excess/2⌋.
    public func centerCroppedToSquare() -> RasterImage {
        let side = min(width, height)
        return cropped(x: (width - side) / 2, y: (height - side) / 2, width: side, height: side)
    }

    /// This image resampled to `newWidth × newHeight`; results are rounded to nearest.
    public func resized(width newWidth: Int, height newHeight: Int, filter: ResizeFilter = .area) -> RasterImage {
        precondition(newWidth > 0 && newHeight > 0, "RasterImage.resized: bad size \(newWidth)×\(newHeight)")
        if newWidth == width && newHeight == height { return self }
        let c = channels
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * c)
        switch filter {
        case .area:
            let xs = Self.areaWeights(from: width, to: newWidth)
            let ys = Self.areaWeights(from: height, to: newHeight)
            var acc = [Double](repeating: 0, count: c)
            for oy in 0..<newHeight {
                for ox in 0..<newWidth {
                    for k in 0..<c { acc[k] = 0 }
                    for (iy, wy) in ys[oy] {
                        for (ix, wx) in xs[ox] {
                            let w = wy * wx
                            let base = (iy * width + ix) * c
                            for k in 0..<c { acc[k] += w * Double(pixels[base + k]) }
                        }
                    }
                    for k in 0..<c { out[(oy * newWidth + ox) * c + k] = Self.clampByte(acc[k]) }
                }
            }
        case .bilinear:
            let sx = Double(width) / Double(newWidth), sy = Double(height) / Double(newHeight)
            for oy in 0..<newHeight {
                let fy = min(max((Double(oy) + 0.5) * sy - 0.5, 0), Double(height - 1))
                let y0 = Int(fy), y1 = min(y0 + 1, height - 1), ty = fy - Double(y0)
                for ox in 0..<newWidth {
                    let fx = min(max((Double(ox) + 0.5) * sx - 0.5, 0), Double(width - 1))
                    let x0 = Int(fx), x1 = min(x0 + 1, width - 1), tx = fx - Double(x0)
                    for k in 0..<c {
                        func p(_ x: Int, _ y: Int) -> Double { Double(pixels[(y * width + x) * c + k]) }
                        let top = p(x0, y0) * (1 - tx) + p(x1, y0) * tx
                        let bottom = p(x0, y1) * (1 - tx) + p(x1, y1) * tx
                        out[(oy * newWidth + ox) * c + k] = Self.clampByte(top * (1 - ty) + bottom * ty)
                    }
                }
            }
        }
        return RasterImage(width: newWidth, height: newHeight, format: format, pixels: out)
    }

    /// For each output index, the input indices it overlaps and their normalised weights.
    static func areaWeights(from n: Int, to m: Int) -> [[(Int, Double)]] {
        let scale = Double(n) / Double(m)
        return (0..<m).map { o in
            let start = Double(o) * scale, end = Double(o + 1) * scale
            var weights: [(Int, Double)] = []
            var i = Int(start.rounded(.down))
            while Double(i) < end && i < n {
                let overlap = min(end, Double(i + 1)) - max(start, Double(i))
                if overlap > 1e-12 { weights.append((i, overlap / scale)) }
                i += 1
            }
            return weights
        }
    }

    static func clampByte(_ v: Double) -> UInt8 {
        UInt8(min(255, max(0, v.rounded())))
    }
}
