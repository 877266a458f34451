// Plot: a small plotter — scatter, line and arrow (quiver) layers on framed, ticked axes — drawn as
// PNG pixels or as SVG.
import Foundation

/// One thing drawn on a plot's axes. Coordinates are in data units.
public enum PlotLayer: Sendable {
    /// Filled discs of `radius` pixels at `(x[i], y[i])`.
    case scatter(x: [Double], y: [Double], color: Color, radius: Double, label: String?)
    /// A polyline through `(x[i], y[i])` (non-finite points break the line).
    case line(x: [Double], y: [Double], color: Color, thickness: Int, label: String?)
    /// Arrows from `(x[i], y[i])` to `(x[i] + dx[i], y[i] + dy[i])`, e.g. a drift field.
    case arrows(x: [Double], y: [Double], dx: [Double], dy: [Double], color: Color, label: String?)

    var label: String? {
        switch self {
        case let .scatter(_, _, _, _, label), let .line(_, _, _, _, label), let .arrows(_, _, _, _, _, label): label
        }
    }

    var color: Color {
        switch self {
        case let .scatter(_, _, color, _, _), let .line(_, _, color, _, _), let .arrows(_, _, _, _, color, _): color
        }
    }

    /// Every x and y coordinate the layer touches (arrow heads included), for automatic ranges.
    var extent: (xs: [Double], ys: [Double]) {
        switch self {
        case let .scatter(x, y, _, _, _), let .line(x, y, _, _, _): (x, y)
        case let .arrows(x, y, dx, dy, _, _): (x + zip(x, dx).map { $0 + $1 }, y + zip(y, dy).map { $0 + $1 })
        }
    }
}

/// A 2-D plot: title, axes with ticks and tick labels, a legend for labelled layers.
///
/// ```swift
/// var plot = Plot(title: "swiss roll")
/// plot.scatter(x: xs, y: ys)
/// try plot.write(to: url, width: 400, height: 400)  // url (PNG) and the SVG beside it
/// ```
/// Axis ranges are automatic (data range plus 5 %) unless `xRange` / `yRange` are set; fixed
/// ranges make panels comparable ("data | samples"). `logY` draws the y axis in base 10 (values
/// ≤ 0 are dropped), for loss curves.
public struct Plot: Sendable {
    /// The title above the axes (``titleSize``); empty for none.
    public var title: String
    /// The x-axis label, centred below the tick labels; empty for none.
    public var xLabel: String
    /// The y-axis label, drawn above the axes at the top left; empty for none.
    public var yLabel: String
    /// A fixed x range; nil: cover every layer plus a 5 % margin (``AxisScale/covering(_:logarithmic:)``).
    public var xRange: ClosedRange<Double>?
    /// A fixed y range; nil: cover every layer plus a 5 % margin (a 10 % factor when `logY`).
    public var yRange: ClosedRange<Double>?
    /// Whether the y axis is base-10 logarithmic (values ≤ 0 are dropped), e.g. for loss curves.
    public var logY: Bool
    /// The layers in drawing order (later ones on top); added by ``scatter(x:y:color:radius:label:)``,
    /// ``line(x:y:color:thickness:label:)`` and ``arrows(x:y:dx:dy:color:label:)``.
    public var layers: [PlotLayer] = []
    /// Light grid lines at the ticks.
    public var showGrid = true

    /// An empty plot with the given title, axis labels and optional fixed ranges.
    public init(
        title: String = "", xLabel: String = "", yLabel: String = "",
        xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil, logY: Bool = false
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xRange = xRange
        self.yRange = yRange
        self.logY = logY
    }

    /// Adds a point set; colour defaults to the next palette colour.
    public mutating func scatter(x: [Double], y: [Double], color: Color? = nil, radius: Double = 1.5, label: String? = nil) {
        precondition(x.count == y.count, "Plot.scatter: \(x.count) x values, \(y.count) y values")
        layers.append(.scatter(x: x, y: y, color: color ?? Color.series(layers.count), radius: radius, label: label))
    }

    /// Adds a point set from interleaved pairs `[x0, y0, x1, y1, …]` (the layout of an N×2 tensor).
    public mutating func scatter(pairs: [Float], color: Color? = nil, radius: Double = 1.5, label: String? = nil) {
        precondition(pairs.count % 2 == 0, "Plot.scatter: \(pairs.count) values are not (x, y) pairs")
        scatter(
            x: stride(from: 0, to: pairs.count, by: 2).map { Double(pairs[$0]) },
            y: stride(from: 1, to: pairs.count, by: 2).map { Double(pairs[$0]) },
            color: color, radius: radius, label: label)
    }

    /// Adds a line series; `x` defaults to 0, 1, 2, … (e.g. steps of a loss curve).
    public mutating func line(x: [Double]? = nil, y: [Double], color: Color? = nil, thickness: Int = 1, label: String? = nil) {
        let x = x ?? y.indices.map(Double.init)
        precondition(x.count == y.count, "Plot.line: \(x.count) x values, \(y.count) y values")
        layers.append(.line(x: x, y: y, color: color ?? Color.series(layers.count), thickness: thickness, label: label))
    }

    /// Adds arrows from (x, y) along (dx, dy), in data units (scale the field before passing it).
    public mutating func arrows(x: [Double], y: [Double], dx: [Double], dy: [Double], color: Color? = nil, label: String? = nil) {
        precondition(
            x.count == y.count && x.count == dx.count && x.count == dy.count,
            "Plot.arrows: counts x \(x.count), y \(y.count), dx \(dx.count), dy \(dy.count) differ")
        layers.append(.arrows(x: x, y: y, dx: dx, dy: dy, color: color ?? Color.series(layers.count), label: label))
    }

    /// The layout of a rendered plot: the rectangle (in pixels) that the axes cover.
    public struct Frame: Equatable, Sendable {
        /// The axes rectangle: top-left corner (`x`, `y`) and size, in pixels of the rendered image.
        public var x: Int, y: Int, width: Int, height: Int
    }

    /// Text sizes in pixels per em: the title, the axis labels, the tick labels and the legend.
    public static let titleSize = 15, labelSize = 12, tickSize = 11

    /// The axes rectangle for an image of the given size (margins leave room for the title, the
    /// labels and the tick labels).
    public func frame(width: Int, height: Int) -> Frame {
        let left = 56
        let top = 10 + (title.isEmpty ? 0 : 20) + (yLabel.isEmpty ? 0 : 14)
        let bottom = 22 + (xLabel.isEmpty ? 0 : 16)
        let right = 12
        return Frame(x: left, y: top, width: max(10, width - left - right), height: max(10, height - top - bottom))
    }

    /// The x and y scales used when rendering (fixed ranges, or covering every layer).
    public func scales() -> (x: AxisScale, y: AxisScale) {
        let extents = layers.map(\.extent)
        let xs =
            xRange.map { AxisScale(lower: $0.lowerBound, upper: $0.upperBound) }
            ?? AxisScale.covering(extents.flatMap(\.xs))
        let ys =
            yRange.map { AxisScale(lower: $0.lowerBound, upper: $0.upperBound, logarithmic: logY) }
            ?? AxisScale.covering(extents.flatMap(\.ys), logarithmic: logY)
        return (xs, ys)
    }

    /// Draws the plot into a new RGB8 image, its text in `font` (``FontFace/standard()`` when nil).
    /// - Throws: ``ImagingError/fontMissing(path:fromEnvironment:)`` when the font file is missing.
    public func render(width: Int = 400, height: Int = 400, font: FontFace? = nil) throws -> RasterImage {
        var surface = RasterSurface(canvas: Canvas(width: width, height: height), font: try font ?? FontFace.standard())
        draw(on: &surface, x: 0, y: 0, width: width, height: height)
        return surface.canvas.image
    }

    /// The plot as an SVG document with the layout of ``render(width:height:font:)``: text as
    /// `<text>` elements, lines and frames as lines, polylines and rectangles, points as circles.
    /// - Throws: ``ImagingError/fontMissing(path:fromEnvironment:)`` when the font file (whose
    ///   advances size the legend) is missing.
    public func svg(width: Int = 400, height: Int = 400, font: FontFace? = nil) throws -> String {
        var surface = SVGSurface(width: width, height: height, font: try font ?? FontFace.standard())
        draw(on: &surface, x: 0, y: 0, width: width, height: height)
        return surface.document
    }

    /// Writes the plot as the PNG `url` and as an SVG beside it (the same name with `.svg`, see
    /// ``Figure/svgURL(beside:)``); returns the SVG's URL.
    @discardableResult
    public func write(to url: URL, width: Int = 400, height: Int = 400, font: FontFace? = nil) throws -> URL {
        try Figure([self], columns: 1, panelWidth: width, panelHeight: height, spacing: 0).write(to: url, font: font)
    }

    /// Draws the plot into the `width × height` rectangle at (x, y) of `surface`.
    func draw<S: Surface>(on surface: inout S, x originX: Int, y originY: Int, width: Int, height: Int) {
        var f = frame(width: width, height: height)
        f.x += originX
        f.y += originY
        let (xs, ys) = scales()
        // Points beyond ±2²⁰ pixels (huge or non-finite values) break lines and are not drawn.
        let limit = Double(1 << 20)
        func px(_ x: Double) -> Double { Double(f.x) + xs.fraction(x) * Double(f.width - 1) }
        func py(_ y: Double) -> Double { Double(f.y + f.height - 1) - ys.fraction(y) * Double(f.height - 1) }
        func point(_ x: Double, _ y: Double) -> (Double, Double)? {
            let p = (px(x), py(y))
            return p.0.isFinite && p.1.isFinite && abs(p.0) < limit && abs(p.1) < limit ? p : nil
        }
        let font = surface.font

        // 1. Title and axis labels.
        if !title.isEmpty {
            surface.text(
                title, x: originX + width / 2, baseline: originY + 6 + font.ascent(size: Self.titleSize) - 2, size: Self.titleSize,
                anchor: .middle, .black)
        }
        if !xLabel.isEmpty {
            surface.text(
                xLabel, x: f.x + f.width / 2, baseline: f.y + f.height + 20 + font.ascent(size: Self.labelSize) - 2,
                size: Self.labelSize, anchor: .middle, .black)
        }
        if !yLabel.isEmpty { surface.text(yLabel, x: originX + 6, baseline: f.y - 5, size: Self.labelSize, anchor: .start, .black) }

        // 2. Grid, ticks and tick labels.
        let xTicks = xs.ticks(), yTicks = ys.ticks()
        let tickBaseline = f.y + f.height + 5 + font.ascent(size: Self.tickSize) - 1
        for (tick, label) in zip(xTicks, xs.labels(for: xTicks)) {
            let x = Int(px(tick).rounded())
            if showGrid { surface.line(x, f.y, x, f.y + f.height - 1, .lightGray) }
            surface.line(x, f.y + f.height, x, f.y + f.height + 3, .black)
            surface.text(label, x: x, baseline: tickBaseline, size: Self.tickSize, anchor: .middle, .black)
        }
        for (tick, label) in zip(yTicks, ys.labels(for: yTicks)) {
            let y = Int(py(tick).rounded())
            if showGrid { surface.line(f.x, y, f.x + f.width - 1, y, .lightGray) }
            surface.line(f.x - 4, y, f.x - 1, y, .black)
            surface.text(label, x: f.x - 6, baseline: y + Self.tickSize * 4 / 11, size: Self.tickSize, anchor: .end, .black)
        }

        // 3. Layers, clipped to the axes.
        surface.setClip((f.x, f.y, f.width, f.height))
        for layer in layers {
            switch layer {
            case let .scatter(x, y, color, radius, _):
                surface.discs(zip(x, y).compactMap { point($0, $1) }, radius: radius, color)
            case let .line(x, y, color, thickness, _):
                var run: [(Double, Double)] = []
                for (a, b) in zip(x, y) {
                    if let p = point(a, b) {
                        run.append(p)
                    } else {
                        surface.polyline(run, color, thickness: thickness)
                        run = []
                    }
                }
                surface.polyline(run, color, thickness: thickness)
            case let .arrows(x, y, dx, dy, color, _):
                surface.arrows(
                    x.indices.compactMap { i in
                        guard let tail = point(x[i], y[i]), let head = point(x[i] + dx[i], y[i] + dy[i]) else { return nil }
                        return (tail, head)
                    }, color)
            }
        }
        surface.setClip(nil)

        // 4. Frame and legend on top.
        surface.strokeRect(x: f.x - 1, y: f.y - 1, width: f.width + 2, height: f.height + 2, .black)
        let labelled = layers.compactMap { layer in layer.label.map { ($0, layer.color) } }
        if !labelled.isEmpty {
            let row = Self.tickSize + 4
            let boxWidth = 28 + (labelled.map { font.width(of: $0.0, size: Self.tickSize) }.max() ?? 0)
            let boxHeight = 6 + row * labelled.count
            let x0 = f.x + f.width - boxWidth - 4, y0 = f.y + 4
            surface.fillRect(x: x0, y: y0, width: boxWidth, height: boxHeight, .white)
            surface.strokeRect(x: x0, y: y0, width: boxWidth, height: boxHeight, .gray)
            for (i, (label, color)) in labelled.enumerated() {
                let top = y0 + 3 + row * i
                surface.fillRect(x: x0 + 5, y: top + row / 2 - 2, width: 12, height: 4, color)
                surface.text(label, x: x0 + 22, baseline: top + row - 4, size: Self.tickSize, anchor: .start, .black)
            }
        }
    }
}
