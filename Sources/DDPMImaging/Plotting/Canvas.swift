// Canvas: an RGB8 drawing surface with pixels, lines, discs, rectangles, arrows and anti-aliased text.
import Foundation

/// A mutable RGB8 image to draw on; coordinates are pixels, (0, 0) at the top left.
///
/// Drawing outside the canvas (or outside `clip`, when set) is silently clipped.
public struct Canvas: Sendable {
    /// The RGB8 image drawn so far.
    public private(set) var image: RasterImage
    /// When set, drawing is limited to this rectangle (x, y, width, height).
    public var clip: (x: Int, y: Int, width: Int, height: Int)?

    /// A canvas filled with `background`.
    public init(width: Int, height: Int, background: Color = .white) {
        image = RasterImage(
            width: width, height: height, format: .rgb,
            fill: [background.red, background.green, background.blue])
    }

    /// The canvas width in pixels.
    public var width: Int { image.width }
    /// The canvas height in pixels.
    public var height: Int { image.height }

    /// Sets one pixel.
    public mutating func set(_ x: Int, _ y: Int, _ color: Color) {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
        if let c = clip, x < c.x || y < c.y || x >= c.x + c.width || y >= c.y + c.height { return }
        let i = (y * image.width + x) * 3
        image.pixels[i] = color.red
        image.pixels[i + 1] = color.green
        image.pixels[i + 2] = color.blue
    }

    /// Fills the rectangle with corner (x, y).
    public mutating func fillRect(x: Int, y: Int, width: Int, height: Int, _ color: Color) {
        for yy in y..<(y + max(0, height)) {
            for xx in x..<(x + max(0, width)) { set(xx, yy, color) }
        }
    }

    /// Outlines the rectangle with corner (x, y), one pixel wide, inside the rectangle.
    public mutating func strokeRect(x: Int, y: Int, width: Int, height: Int, _ color: Color) {
        line(x, y, x + width - 1, y, color)
        line(x, y + height - 1, x + width - 1, y + height - 1, color)
        line(x, y, x, y + height - 1, color)
        line(x + width - 1, y, x + width - 1, y + height - 1, color)
    }

    /// A one-pixel line from (x0, y0) to (x1, y1), both ends included (Bresenham).
    public mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: Color) {
        // Lines far outside the canvas (e.g. huge values) are skipped rather than walked.
        let limit = 1 << 20
        guard abs(x0) < limit, abs(x1) < limit, abs(y0) < limit, abs(y1) < limit else { return }
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            set(x, y, color)
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// A line between real-valued points (rounded to the nearest pixel), `thickness` pixels wide.
    public mutating func line(from a: (Double, Double), to b: (Double, Double), _ color: Color, thickness: Int = 1) {
        guard a.0.isFinite, a.1.isFinite, b.0.isFinite, b.1.isFinite else { return }
        let offsets =
            thickness <= 1
            ? [(0, 0)]
            : (0..<thickness).flatMap { i in
                (0..<thickness).map { j in (i - thickness / 2, j - thickness / 2) }
            }
        for (ox, oy) in offsets {
            line(Int(a.0.rounded()) + ox, Int(a.1.rounded()) + oy, Int(b.0.rounded()) + ox, Int(b.1.rounded()) + oy, color)
        }
    }

    /// A filled disc of `radius` pixels centred at (cx, cy); radius 0 is one pixel.
    public mutating func disc(_ cx: Double, _ cy: Double, radius: Double, _ color: Color) {
        guard cx.isFinite, cy.isFinite, abs(cx) < 1e6, abs(cy) < 1e6 else { return }
        let x = Int(cx.rounded()), y = Int(cy.rounded())
        let r = Int(radius.rounded(.up))
        let r2 = radius * radius + 0.25
        for dy in -r...r {
            for dx in -r...r where Double(dx * dx + dy * dy) <= r2 { set(x + dx, y + dy, color) }
        }
    }

    /// An arrow from `tail` to `head`: the shaft and two barbs at ±25°, each barb
    /// `headLength` pixels (shortened to 40 % of the shaft for short arrows).
    public mutating func arrow(from tail: (Double, Double), to head: (Double, Double), _ color: Color, headLength: Double = 6) {
        line(from: tail, to: head, color)
        for end in Self.barbs(from: tail, to: head, headLength: headLength) { line(from: head, to: end, color) }
    }

    /// The far ends of an arrow's two barbs (none for an arrow shorter than half a pixel).
    static func barbs(from tail: (Double, Double), to head: (Double, Double), headLength: Double) -> [(Double, Double)] {
        let dx = head.0 - tail.0, dy = head.1 - tail.1
        let length = (dx * dx + dy * dy).squareRoot()
        guard length > 0.5 else { return [] }
        let barb = min(headLength, 0.4 * length)
        let angle = atan2(dy, dx)
        return [-1.0, 1.0].map { side in
            let a = angle + Double.pi - side * 25 * Double.pi / 180
            return (head.0 + barb * cos(a), head.1 + barb * sin(a))
        }
    }

    /// Blends `color` over one pixel with `coverage` (0: unchanged, 255: `color`), as anti-aliased
    /// text is drawn.
    public mutating func blend(_ x: Int, _ y: Int, _ color: Color, coverage: UInt8) {
        guard coverage > 0, x >= 0, y >= 0, x < image.width, y < image.height else { return }
        if let c = clip, x < c.x || y < c.y || x >= c.x + c.width || y >= c.y + c.height { return }
        let i = (y * image.width + x) * 3
        let a = Int(coverage)
        for (k, value) in [color.red, color.green, color.blue].enumerated() {
            let old = Int(image.pixels[i + k])
            image.pixels[i + k] = UInt8((old * (255 - a) + Int(value) * a + 127) / 255)
        }
    }

    /// Draws one line of `text` in `font` at `size` pixels per em, anti-aliased, with its baseline
    /// at `baseline`, starting at, centred on or ending at `x` (`anchor`).
    public mutating func text(
        _ text: String, x: Int, baseline: Int, size: Int, anchor: TextAnchor = .start, _ color: Color = .black, font: FontFace
    ) {
        let (glyphs, width) = font.layout(text, size: size)
        let start =
            switch anchor {
            case .start: x
            case .middle: x - width / 2
            case .end: x - width
            }
        for (glyph, offset) in glyphs {
            let left = start + offset + glyph.left, top = baseline - glyph.top
            for row in 0..<glyph.rows {
                for column in 0..<glyph.width {
                    blend(left + column, top + row, color, coverage: glyph.coverage[row * glyph.width + column])
                }
            }
        }
    }
}
