// Dead-leaves images (Matheron; used by SD15): occluding discs of power-law radii and random grey levels.
import Foundation
import DDPMTensors

/// Procedural dead-leaves images, a model of natural-image statistics (occlusion, scale invariance)
/// that Sohl-Dickstein et al. (2015) trained on.
///
/// Each image is painted front to back: discs are drawn one after another and a pixel keeps the
/// grey level of the first disc that covers it (the first-drawn disc is in front). Parameters,
/// chosen here to be scale-invariant within the image (SD15 does not pin them in the text):
/// - radius r on [`minRadius`, `maxRadius`] with density ∝ r^−`exponent` (exponent 3 is the
///   scale-invariant dead-leaves law), drawn by inverting the CDF;
/// - centre uniform over the image enlarged by `maxRadius` on every side, so edges are covered
///   like the middle;
/// - grey level uniform over 0…255;
/// - painting stops when every pixel is covered or after `maxDiscs` discs; pixels still uncovered
///   then take one more random grey level (rare with the defaults).
public struct DeadLeaves: Sendable {
    /// The image side in pixels (images are `size × size`, one channel).
    public var size: Int
    /// The smallest disc radius, in pixels (> 0).
    public var minRadius: Double
    /// The largest disc radius, in pixels; also the margin around the image over which centres are
    /// drawn.
    public var maxRadius: Double
    /// α in the radius density ∝ r^−α (3: the scale-invariant dead-leaves law; must not be 1).
    public var exponent: Double
    /// The most discs painted per image before the uncovered pixels are filled with one grey level.
    public var maxDiscs: Int

    /// Defaults: radii from 1 pixel to half the image side, exponent 3, at most 4,096 discs.
    public init(size: Int = 32, minRadius: Double = 1, maxRadius: Double? = nil, exponent: Double = 3, maxDiscs: Int = 4096) {
        precondition(
            size > 0 && minRadius > 0 && exponent != 1,
            "DeadLeaves: bad parameters size \(size), minRadius \(minRadius), exponent \(exponent)")
        self.size = size
        self.minRadius = minRadius
        self.maxRadius = maxRadius ?? Double(size) / 2
        self.exponent = exponent
        self.maxDiscs = maxDiscs
        precondition(self.maxRadius >= minRadius, "DeadLeaves: maxRadius \(self.maxRadius) < minRadius \(minRadius)")
    }

    /// A radius with density ∝ r^−exponent on [minRadius, maxRadius]: F⁻¹(u) with
    /// F(r) = (r^(1−α) − a^(1−α)) / (b^(1−α) − a^(1−α)).
    public func radius(uniform u: Double) -> Double {
        let p = 1 - exponent
        let a = pow(minRadius, p), b = pow(maxRadius, p)
        return pow(a + u * (b - a), 1 / p)
    }

    /// One `size × size` image, row-major grey levels.
    public func image(generator: inout PhiloxGenerator) -> [UInt8] {
        let n = size * size
        var pixels = [UInt8](repeating: 0, count: n)
        var covered = [Bool](repeating: false, count: n)
        var remaining = n
        var discs = 0
        while remaining > 0 && discs < maxDiscs {
            let r = radius(uniform: generator.nextUniform())
            let cx = -maxRadius + generator.nextUniform() * (Double(size) + 2 * maxRadius)
            let cy = -maxRadius + generator.nextUniform() * (Double(size) + 2 * maxRadius)
            let grey = UInt8(generator.nextInt(below: 256))
            discs += 1
            let y0 = max(0, Int((cy - r).rounded(.down))), y1 = min(size - 1, Int((cy + r).rounded(.up)))
            let x0 = max(0, Int((cx - r).rounded(.down))), x1 = min(size - 1, Int((cx + r).rounded(.up)))
            guard y0 <= y1 && x0 <= x1 else { continue }
            for y in y0...y1 {
                let dy = Double(y) + 0.5 - cy
                for x in x0...x1 {
                    let dx = Double(x) + 0.5 - cx
                    let i = y * size + x
                    if !covered[i] && dx * dx + dy * dy <= r * r {
                        covered[i] = true
                        pixels[i] = grey
                        remaining -= 1
                    }
                }
            }
        }
        if remaining > 0 {
            let grey = UInt8(generator.nextInt(below: 256))
            for i in 0..<n where !covered[i] { pixels[i] = grey }
        }
        return pixels
    }

    /// `count` images as a 1-channel dataset.
    public func dataset(count: Int, generator: inout PhiloxGenerator) -> Dataset {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * size * size)
        for _ in 0..<count { bytes += image(generator: &generator) }
        return Dataset(name: "deadleaves", images: bytes, channels: 1, height: size, width: size)
    }
}
