// Figure: panels (rendered plots or images) composed side by side or in a grid, with an optional title.

/// Composition of several panels into one picture: "data | samples", or a 3×2 panel figure.
public enum Figure {
    /// Panels in a grid of `columns` columns on white, `spacing` pixels apart, under an optional
    /// `title` (drawn at twice the font size). Panels of different sizes are centred in equal cells.
    public static func panels(_ panels: [RasterImage], columns: Int, spacing: Int = 8, title: String = "") -> RasterImage {
        let body = RasterImage.grid(panels, columns: columns, padding: spacing, paddingColor: [255], format: .rgb)
        guard !title.isEmpty else { return body }
        let titleHeight = 2 * BitmapFont.glyphHeight + 12
        var canvas = Canvas(width: max(body.width, BitmapFont.width(of: title, scale: 2) + 16), height: body.height + titleHeight)
        canvas.text(title, centerX: canvas.width / 2, y: 8, scale: 2)
        var image = canvas.image
        image.paste(body, x: (canvas.width - body.width) / 2, y: titleHeight)
        return image
    }

    /// Panels in one row, e.g. `Figure.sideBySide([data, samples])`.
    public static func sideBySide(_ panels: [RasterImage], spacing: Int = 8, title: String = "") -> RasterImage {
        self.panels(panels, columns: panels.count, spacing: spacing, title: title)
    }

    /// Renders each plot at `width × height` and lays them out in `columns` columns.
    public static func plots(_ plots: [Plot], columns: Int, width: Int = 320, height: Int = 320, title: String = "") -> RasterImage {
        panels(plots.map { $0.render(width: width, height: height) }, columns: columns, title: title)
    }
}
