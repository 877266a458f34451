// Canvas: an RGB8 drawing surface with pixels, lines, discs, rectangles, arrows and bitmap text.
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
        let dx = head.0 - tail.0, dy = head.1 - tail.1
        let length = (dx * dx + dy * dy).squareRoot()
        guard length > 0.5 else { return }
        let barb = min(headLength, 0.4 * length)
        let angle = atan2(dy, dx)
        for side in [-1.0, 1.0] {
            let a = angle + Double.pi - side * 25 * Double.pi / 180
            line(from: head, to: (head.0 + barb * cos(a), head.1 + barb * sin(a)), color)
        }
    }

    /// Draws `text` with its top-left corner at (x, y) in the 5×7 bitmap font, `scale` pixels per font pixel.
    public mutating func text(_ text: String, x: Int, y: Int, _ color: Color = .black, scale: Int = 1) {
        var penX = x
        for character in text {
            let rows = BitmapFont.glyph(character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits & (1 << (4 - column)) != 0 {
                    fillRect(x: penX + column * scale, y: y + row * scale, width: scale, height: scale, color)
                }
            }
            penX += BitmapFont.advance * scale
        }
    }

    /// Draws `text` horizontally centred on `centerX`.
    public mutating func text(_ text: String, centerX: Int, y: Int, _ color: Color = .black, scale: Int = 1) {
        self.text(text, x: centerX - BitmapFont.width(of: text, scale: scale) / 2, y: y, color, scale: scale)
    }
}
