// The two renderers of plots and figures: pixels on a Canvas (PNG) and elements of an SVG document.
// Plot and Figure lay out once, in pixel coordinates, and draw through `Surface`, so the PNG and the
// SVG of a figure have the same layout.
import Foundation

/// What plots and figures draw with. Integer coordinates name pixels ((0, 0) the top-left pixel);
/// real coordinates are pixel positions as ``Canvas/line(from:to:_:thickness:)`` takes them.
protocol Surface {
    /// The font that text is drawn and measured in.
    var font: FontFace { get }
    /// Fills the rectangle of pixels with corner (x, y).
    mutating func fillRect(x: Int, y: Int, width: Int, height: Int, _ color: Color)
    /// Outlines the rectangle, one pixel wide, inside it.
    mutating func strokeRect(x: Int, y: Int, width: Int, height: Int, _ color: Color)
    /// A one-pixel line between pixels, both ends included.
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: Color)
    /// Line segments through `points` (each a run of finite points), `thickness` pixels wide.
    mutating func polyline(_ points: [(Double, Double)], _ color: Color, thickness: Int)
    /// Filled discs of `radius` pixels.
    mutating func discs(_ centres: [(Double, Double)], radius: Double, _ color: Color)
    /// Arrows from tails to heads (shaft and two barbs, as ``Canvas/arrow(from:to:_:headLength:)``).
    mutating func arrows(_ arrows: [(tail: (Double, Double), head: (Double, Double))], _ color: Color)
    /// One line of text with its baseline at `baseline`.
    mutating func text(_ text: String, x: Int, baseline: Int, size: Int, anchor: TextAnchor, _ color: Color)
    /// Limits what follows to a rectangle (nil: no limit).
    mutating func setClip(_ rectangle: (x: Int, y: Int, width: Int, height: Int)?)
}

/// A ``Canvas`` as a surface.
struct RasterSurface: Surface {
    var canvas: Canvas
    let font: FontFace

    mutating func fillRect(x: Int, y: Int, width: Int, height: Int, _ color: Color) {
        canvas.fillRect(x: x, y: y, width: width, height: height, color)
    }

    mutating func strokeRect(x: Int, y: Int, width: Int, height: Int, _ color: Color) {
        canvas.strokeRect(x: x, y: y, width: width, height: height, color)
    }

    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: Color) { canvas.line(x0, y0, x1, y1, color) }

    mutating func polyline(_ points: [(Double, Double)], _ color: Color, thickness: Int) {
        for (a, b) in zip(points, points.dropFirst()) { canvas.line(from: a, to: b, color, thickness: thickness) }
    }

    mutating func discs(_ centres: [(Double, Double)], radius: Double, _ color: Color) {
        for (x, y) in centres { canvas.disc(x, y, radius: radius, color) }
    }

    mutating func arrows(_ arrows: [(tail: (Double, Double), head: (Double, Double))], _ color: Color) {
        for arrow in arrows { canvas.arrow(from: arrow.tail, to: arrow.head, color) }
    }

    mutating func text(_ text: String, x: Int, baseline: Int, size: Int, anchor: TextAnchor, _ color: Color) {
        canvas.text(text, x: x, baseline: baseline, size: size, anchor: anchor, color, font: font)
    }

    mutating func setClip(_ rectangle: (x: Int, y: Int, width: Int, height: Int)?) { canvas.clip = rectangle }
}

/// An SVG 1.1 document being written: pixel (x, y) of the canvas is the unit square at (x, y), so
/// one-pixel lines run through pixel centres (x + 0.5) and the drawing lines up with the PNG's.
struct SVGSurface: Surface {
    let font: FontFace
    let width: Int, height: Int
    private var body: [String] = []
    private var clips = 0
    private var isClipped = false

    init(width: Int, height: Int, font: FontFace) {
        self.width = width
        self.height = height
        self.font = font
    }

    /// The whole document: the XML declaration, the root element with the size and the font, a
    /// white background and the elements drawn.
    var document: String {
        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\#(width)" height="\#(height)" "#
                + #"viewBox="0 0 \#(width) \#(height)" font-family="\#(Self.escaped(font.familyName)), sans-serif">"#,
            #"<rect x="0" y="0" width="\#(width)" height="\#(height)" fill="white"/>"#,
        ]
        lines += body
        if isClipped { lines.append("</g>") }
        lines.append("</svg>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` with the five characters XML reserves escaped (for element text and attribute values).
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A coordinate with at most two decimals and no trailing zeros ("12", "12.5", "-3.25").
    static func number(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e12 else { return "0" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() && abs(rounded) < 1e15 { return String(Int(rounded)) }
        var text = String(format: "%.2f", rounded)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    static func hex(_ color: Color) -> String { String(format: "#%02x%02x%02x", color.red, color.green, color.blue) }

    /// The centre of pixel coordinate `value` (a canvas position, rounded as the canvas rounds it).
    private static func centre(_ value: Double) -> String { number(value.rounded() + 0.5) }

    mutating func fillRect(x: Int, y: Int, width: Int, height: Int, _ color: Color) {
        guard width > 0, height > 0 else { return }
        body.append(#"<rect x="\#(x)" y="\#(y)" width="\#(width)" height="\#(height)" fill="\#(Self.hex(color))"/>"#)
    }

    mutating func strokeRect(x: Int, y: Int, width: Int, height: Int, _ color: Color) {
        guard width > 0, height > 0 else { return }
        body.append(
            #"<rect x="\#(Self.number(Double(x) + 0.5))" y="\#(Self.number(Double(y) + 0.5))" width="\#(width - 1)" "#
                + #"height="\#(height - 1)" fill="none" stroke="\#(Self.hex(color))" stroke-width="1"/>"#)
    }

    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: Color) {
        body.append(
            #"<line x1="\#(Self.number(Double(x0) + 0.5))" y1="\#(Self.number(Double(y0) + 0.5))" "#
                + #"x2="\#(Self.number(Double(x1) + 0.5))" y2="\#(Self.number(Double(y1) + 0.5))" "#
                + #"stroke="\#(Self.hex(color))" stroke-width="1" stroke-linecap="square"/>"#)
    }

    mutating func polyline(_ points: [(Double, Double)], _ color: Color, thickness: Int) {
        guard points.count >= 2 else { return }
        let list = points.map { "\(Self.centre($0.0)),\(Self.centre($0.1))" }.joined(separator: " ")
        body.append(
            #"<polyline points="\#(list)" fill="none" stroke="\#(Self.hex(color))" stroke-width="\#(max(1, thickness))" "#
                + #"stroke-linejoin="round" stroke-linecap="round"/>"#)
    }

    mutating func discs(_ centres: [(Double, Double)], radius: Double, _ color: Color) {
        guard !centres.isEmpty else { return }
        // The canvas fills the pixels whose squared distance from the centre pixel is at most
        // radius² + ¼: a circle of radius √(radius² + ¼) covers about as much.
        let r = Self.number((radius * radius + 0.25).squareRoot())
        body.append(#"<g fill="\#(Self.hex(color))">"#)
        for (x, y) in centres { body.append(#"<circle cx="\#(Self.centre(x))" cy="\#(Self.centre(y))" r="\#(r)"/>"#) }
        body.append("</g>")
    }

    mutating func arrows(_ arrows: [(tail: (Double, Double), head: (Double, Double))], _ color: Color) {
        guard !arrows.isEmpty else { return }
        var path = ""
        for (tail, head) in arrows {
            path += "M\(Self.centre(tail.0)) \(Self.centre(tail.1))L\(Self.centre(head.0)) \(Self.centre(head.1))"
            for barb in Canvas.barbs(from: tail, to: head, headLength: 6) {
                path += "M\(Self.centre(head.0)) \(Self.centre(head.1))L\(Self.centre(barb.0)) \(Self.centre(barb.1))"
            }
        }
        body.append(#"<path d="\#(path)" fill="none" stroke="\#(Self.hex(color))" stroke-width="1"/>"#)
    }

    mutating func text(_ text: String, x: Int, baseline: Int, size: Int, anchor: TextAnchor, _ color: Color) {
        guard !text.isEmpty else { return }
        let anchorName =
            switch anchor {
            case .start: "start"
            case .middle: "middle"
            case .end: "end"
            }
        body.append(
            #"<text x="\#(x)" y="\#(baseline)" font-size="\#(size)" text-anchor="\#(anchorName)" fill="\#(Self.hex(color))" "#
                + #"xml:space="preserve">\#(Self.escaped(text))</text>"#)
    }

    mutating func setClip(_ rectangle: (x: Int, y: Int, width: Int, height: Int)?) {
        if isClipped {
            body.append("</g>")
            isClipped = false
        }
        guard let rectangle else { return }
        clips += 1
        body.append(
            #"<clipPath id="clip\#(clips)"><rect x="\#(rectangle.x)" y="\#(rectangle.y)" width="\#(rectangle.width)" "#
                + #"height="\#(rectangle.height)"/></clipPath>"#)
        body.append(#"<g clip-path="url(#clip\#(clips))">"#)
        isClipped = true
    }
}
