// Figure: plots laid out in a grid under an optional title, drawn as PNG pixels and as SVG; and
// panels of ready-made images composed the same way.
import DDPMFileSupport
import Foundation

/// Plots in a grid of equal panels under an optional title: "data | samples", or SD15 Fig. 1's
/// 3×2 panels. ``render(font:)`` draws it as pixels, ``svg(font:)`` as an SVG document with the
/// same layout, and ``write(to:font:)`` writes both, NAME.png and NAME.svg.
///
/// ```swift
/// try Figure([data, samples], title: "swiss roll").write(to: folder.appendingPathComponent("data-vs-samples.png"))
/// ```
public struct Figure: Sendable {
    /// The panels, in reading order (left to right, then top to bottom).
    public var plots: [Plot]
    /// How many panels a row holds.
    public var columns: Int
    /// The size of each panel in pixels.
    public var panelWidth: Int, panelHeight: Int
    /// Pixels of white between the panels and around them.
    public var spacing: Int
    /// The title above the panels (``titleSize``); empty for none.
    public var title: String

    /// The title's size in pixels per em.
    public static let titleSize = 17

    /// A figure of `plots` in `columns` columns (all in one row by default), each panel
    /// `panelWidth × panelHeight` pixels, `spacing` pixels apart, under `title`.
    public init(
        _ plots: [Plot], columns: Int? = nil, panelWidth: Int = 320, panelHeight: Int = 320, spacing: Int = 8, title: String = ""
    ) {
        precondition(!plots.isEmpty, "Figure: no plots")
        precondition(panelWidth > 0 && panelHeight > 0 && spacing >= 0, "Figure: panel \(panelWidth)×\(panelHeight), spacing \(spacing)")
        self.plots = plots
        self.columns = max(1, min(plots.count, columns ?? plots.count))
        self.panelWidth = panelWidth
        self.panelHeight = panelHeight
        self.spacing = spacing
        self.title = title
    }

    /// Where everything goes: the image size, the title's baseline and each panel's corner.
    struct Layout {
        var width: Int, height: Int
        var titleBaseline: Int
        var panels: [(x: Int, y: Int)]
    }

    func layout(font: FontFace) -> Layout {
        let rows = (plots.count + columns - 1) / columns
        let bodyWidth = columns * panelWidth + (columns + 1) * spacing
        let bodyHeight = rows * panelHeight + (rows + 1) * spacing
        let titleHeight = title.isEmpty ? 0 : Self.titleSize + 14
        let width = title.isEmpty ? bodyWidth : max(bodyWidth, font.width(of: title, size: Self.titleSize) + 16)
        let left = (width - bodyWidth) / 2
        let panels = plots.indices.map { i in
            (x: left + spacing + (i % columns) * (panelWidth + spacing), y: titleHeight + spacing + (i / columns) * (panelHeight + spacing))
        }
        return Layout(
            width: width, height: titleHeight + bodyHeight, titleBaseline: 8 + font.ascent(size: Self.titleSize) - 2, panels: panels)
    }

    private func draw<S: Surface>(on surface: inout S, _ layout: Layout) {
        if !title.isEmpty {
            surface.text(title, x: layout.width / 2, baseline: layout.titleBaseline, size: Self.titleSize, anchor: .middle, .black)
        }
        for (plot, corner) in zip(plots, layout.panels) {
            plot.draw(on: &surface, x: corner.x, y: corner.y, width: panelWidth, height: panelHeight)
        }
    }

    /// The figure as an RGB8 image, its text in `font` (``FontFace/standard()`` when nil).
    /// - Throws: ``ImagingError/fontMissing(path:fromEnvironment:)`` when the font file is missing.
    public func render(font: FontFace? = nil) throws -> RasterImage {
        let font = try font ?? FontFace.standard()
        let layout = layout(font: font)
        var surface = RasterSurface(canvas: Canvas(width: layout.width, height: layout.height), font: font)
        draw(on: &surface, layout)
        return surface.canvas.image
    }

    /// The figure as an SVG document (UTF-8 XML) with the layout of ``render(font:)``.
    /// - Throws: ``ImagingError/fontMissing(path:fromEnvironment:)`` when the font file is missing.
    public func svg(font: FontFace? = nil) throws -> String {
        let font = try font ?? FontFace.standard()
        let layout = layout(font: font)
        var surface = SVGSurface(width: layout.width, height: layout.height, font: font)
        draw(on: &surface, layout)
        return surface.document
    }

    /// Writes the figure as the PNG file `url` and as an SVG file beside it (``svgURL(beside:)``),
    /// each atomically; returns the SVG's URL.
    /// - Throws: ``ImagingError`` naming the file that could not be written, or the missing font.
    @discardableResult
    public func write(to url: URL, font: FontFace? = nil) throws -> URL {
        let font = try font ?? FontFace.standard()
        try render(font: font).writePNG(to: url)
        let svgURL = Self.svgURL(beside: url)
        do { try AtomicFile.write(Data(try svg(font: font).utf8), to: svgURL) } catch let error as FileWriteError {
            throw ImagingError.cannotWrite(svgURL, reason: error.reason)
        }
        return svgURL
    }

    /// The SVG file written beside the PNG `url`: its name with the extension `.svg`
    /// (loss.png → loss.svg).
    public static func svgURL(beside url: URL) -> URL {
        url.deletingPathExtension().appendingPathExtension("svg")
    }

    // MARK: - Panels of images

    /// Images in a grid of `columns` columns on white, `spacing` pixels apart, under an optional
    /// `title` (``titleSize``, in ``FontFace/standard()``). Images of different sizes are centred
    /// in equal cells.
    /// - Throws: ``ImagingError/fontMissing(path:fromEnvironment:)`` when there is a title and the
    ///   font file is missing.
    public static func panels(_ panels: [RasterImage], columns: Int, spacing: Int = 8, title: String = "") throws -> RasterImage {
        let body = RasterImage.grid(panels, columns: columns, padding: spacing, paddingColor: [255], format: .rgb)
        guard !title.isEmpty else { return body }
        let font = try FontFace.standard()
        let titleHeight = titleSize + 14
        var canvas = Canvas(width: max(body.width, font.width(of: title, size: titleSize) + 16), height: body.height + titleHeight)
        canvas.text(
            title, x: canvas.width / 2, baseline: 8 + font.ascent(size: titleSize) - 2, size: titleSize, anchor: .middle, font: font)
        var image = canvas.image
        image.paste(body, x: (canvas.width - body.width) / 2, y: titleHeight)
        return image
    }

    /// Images in one row, e.g. `Figure.sideBySide([data, samples])`.
    public static func sideBySide(_ panels: [RasterImage], spacing: Int = 8, title: String = "") throws -> RasterImage {
        try self.panels(panels, columns: panels.count, spacing: spacing, title: title)
    }
}
