// Pictures of tensors: image batches to PNG-ready images, labelled grids, point scatter plots (PNG
// with an SVG beside).
import DDPMDatasets
import Foundation
import DDPMImaging
import DDPMTensors

enum Pictures {
    /// [−1, 1] → 0…255.
    static func byte(_ v: Float) -> UInt8 { pixelByte(v) }

    /// Each image of an [N, C, H, W] batch in [−1, 1], enlarged `scale` times.
    static func images(_ x: Tensor, scale: Int = 1) -> [RasterImage] { rasterImages(x, scale: scale) }

    /// Rows of images with a label above each column, one left of each row, and a title (text in
    /// `FontFace.standard()`).
    static func labeledGrid(_ rows: [[RasterImage]], columnLabels: [String] = [], rowLabels: [String] = [], title: String = "") throws
        -> RasterImage
    {
        precondition(!rows.isEmpty && !rows[0].isEmpty, "Pictures.labeledGrid: no images")
        let font = try CommandFailure.wrap { try FontFace.standard() }
        let labelSize = Plot.labelSize, titleSize = Figure.titleSize
        let all = rows.flatMap { $0 }
        let labelFit = (columnLabels.map { font.width(of: $0, size: labelSize) }.max() ?? 0) + 4
        let cellWidth = max(all.map(\.width).max()!, labelFit), cellHeight = all.map(\.height).max()!
        let columns = rows.map(\.count).max()!
        let padding = 4
        let labelWidth = (rowLabels.map { font.width(of: $0, size: labelSize) }.max() ?? 0) + (rowLabels.isEmpty ? 0 : 10)
        let titleHeight = title.isEmpty ? 0 : titleSize + 14
        let columnLabelHeight = columnLabels.isEmpty ? 0 : labelSize + 8
        let top = titleHeight + columnLabelHeight
        let gridWidth = labelWidth + columns * (cellWidth + padding) + padding
        let width = max(gridWidth, font.width(of: title, size: titleSize) + 16)
        let height = top + rows.count * (cellHeight + padding) + padding
        var canvas = Canvas(width: width, height: height)
        if !title.isEmpty {
            canvas.text(title, x: width / 2, baseline: 8 + font.ascent(size: titleSize) - 2, size: titleSize, anchor: .middle, font: font)
        }
        for (j, label) in columnLabels.prefix(columns).enumerated() {
            canvas.text(
                label, x: labelWidth + padding + j * (cellWidth + padding) + cellWidth / 2,
                baseline: titleHeight + 2 + font.ascent(size: labelSize),
                size: labelSize, anchor: .middle, font: font)
        }
        for (i, label) in rowLabels.prefix(rows.count).enumerated() {
            canvas.text(
                label, x: 4, baseline: top + padding + i * (cellHeight + padding) + cellHeight / 2 + labelSize * 4 / 11, size: labelSize,
                font: font)
        }
        var image = canvas.image
        for (i, row) in rows.enumerated() {
            for (j, cell) in row.enumerated() {
                image.paste(
                    cell.converted(to: .rgb), x: labelWidth + padding + j * (cellWidth + padding) + (cellWidth - cell.width) / 2,
                    y: top + padding + i * (cellHeight + padding) + (cellHeight - cell.height) / 2)
            }
        }
        return image
    }

    /// Reads the figures' font (`FontFace.standard()`), so that a command that draws figures fails
    /// before its work, not after it, when the font is missing.
    static func requireFont() throws { _ = try CommandFailure.wrap { try FontFace.standard() } }

    /// Writes the samples' picture to `url`: a grid of images ([N, C, H, W]), or a scatter plot of
    /// 2-D points ([N, 2]) with its SVG beside it.
    static func writeSamples(_ x: Tensor, to url: URL) throws {
        try CommandFailure.wrap {
            if x.shape.count == 4 {
                try RasterImage.grid(images(x)).writePNG(to: url)
            } else {
                try scatter(x, title: FigureText.samples).write(to: url, width: 480, height: 480)
            }
        }
    }

    /// A scatter plot of [N, 2] points on the toy data's square.
    static func scatter(_ x: Tensor, title: String, color: Color = .orange) -> Plot {
        var plot = Plot(title: title, xRange: -2.5...2.5, yRange: -2.5...2.5)
        plot.scatter(pairs: Array(x.converted(to: .float32).floats.prefix(x.shape[0] * 2)), color: color, radius: 1.2)
        return plot
    }

    /// The encoder of the JSON files the commands write (indented, sorted keys).
    static var jsonEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    /// Writes `image` to `folder/name` and returns the path for the report.
    static func write(_ image: RasterImage, _ name: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try CommandFailure.wrap { try image.writePNG(to: url) }
        return url.path
    }

    /// Writes `figure` to `folder/name` (PNG) and the SVG beside it; returns the PNG's path for the report.
    static func write(_ figure: Figure, _ name: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try CommandFailure.wrap { _ = try figure.write(to: url) }
        return url.path
    }
}
