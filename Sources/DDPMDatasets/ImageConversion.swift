// Batches of images as tensors back to pictures: [N, C, H, W] in [−1, 1] to 8-bit images.
import DDPMImaging
import DDPMTensors

/// 0…255 of a value in [−1, 1] (the inverse of the data scaling x/127.5 − 1), clamped and rounded.
public func pixelByte(_ v: Float) -> UInt8 {
    UInt8(max(0, min(255, ((v + 1) * 127.5).rounded())))
}

/// Each image of an [N, C, H, W] batch in [−1, 1] (C = 1 gray or 3 RGB), enlarged `scale` times by
/// pixel repetition.
public func rasterImages(_ x: Tensor, scale: Int = 1) -> [RasterImage] {
    precondition(x.rank == 4 && (x.shape[1] == 1 || x.shape[1] == 3), "rasterImages: expected [N, 1 or 3, H, W], got \(x.shape)")
    precondition(scale >= 1, "rasterImages: scale must be at least 1, got \(scale)")
    let values = x.converted(to: .float32).floats
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (sh, sw) = (h * scale, w * scale)
    return (0..<n).map { i in
        var pixels = [UInt8](repeating: 0, count: sh * sw * c)
        for y in 0..<sh {
            for xx in 0..<sw {
                for ch in 0..<c {
                    pixels[(y * sw + xx) * c + ch] = pixelByte(values[((i * c + ch) * h + y / scale) * w + xx / scale])
                }
            }
        }
        return RasterImage(width: sw, height: sh, format: c == 1 ? .gray : .rgb, pixels: pixels)
    }
}

/// The pixels of a gray or RGB image channel by channel (C × H × W), the order datasets store.
public func planarBytes(_ image: RasterImage) -> [UInt8] {
    precondition(image.format != .rgba, "planarBytes: RGBA images; convert to .rgb first")
    let (c, h, w) = (image.channels, image.height, image.width)
    var bytes = [UInt8](repeating: 0, count: c * h * w)
    for y in 0..<h {
        for x in 0..<w {
            for k in 0..<c { bytes[(k * h + y) * w + x] = image.pixels[(y * w + x) * c + k] }
        }
    }
    return bytes
}

/// The image whose channels are stored one after another (C × H × W bytes, C = 1 or 3).
public func rasterImage(planar bytes: [UInt8], channels c: Int, height h: Int, width w: Int) -> RasterImage {
    precondition(c == 1 || c == 3, "rasterImage: \(c) channels")
    precondition(bytes.count == c * h * w, "rasterImage: \(bytes.count) bytes for \(c)×\(h)×\(w)")
    var pixels = [UInt8](repeating: 0, count: h * w * c)
    for y in 0..<h {
        for x in 0..<w {
            for k in 0..<c { pixels[(y * w + x) * c + k] = bytes[(k * h + y) * w + x] }
        }
    }
    return RasterImage(width: w, height: h, format: c == 1 ? .gray : .rgb, pixels: pixels)
}
