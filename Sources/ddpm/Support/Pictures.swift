// Pictures of tensors: image batches to PNG-ready images, labelled grids, point scatter plots.
import DDPMDatasets
import Foundation
import DDPMImaging
import DDPMTensors

enum Pictures {
    /// [−1, 1] → 0…255.
    static func byte(_ v: Float) -> UInt8 { pixelByte(v) }

    /// Each image of an [N, C, H, W] batch in [−1, 1], enlarged `scale` times.
    static func images(_ x: Tensor, scale: Int = 1) -> [RasterImage] { rasterImages(x, scale: scale) }

    /// Rows of images with a label above each column, one left of each row, and a title.
    static func labeledGrid(_ rows: [[RasterImage]], columnLabels: [String] = [], rowLabels: [String] = [], title: String = "")
        -> RasterImage
    {
        precondition(!rows.isEmpty && !rows[0].isEmpty, "Pictures.labeledGrid: no images")
        let all = rows.flatMap { $0 }
        let labelFit = (columnLabels.map { BitmapFont.width(of: $0) }.max() ?? 0) + 2
        let cellWidth = max(all.map(\.width).max()!, labelFit), cellHeight = all.map(\.height).max()!
        let columns = rows.map(\.count).max()!
        let padding = 4
        let labelWidth = (rowLabels.map { BitmapFont.width(of: $0) }.max() ?? 0) + (rowLabels.isEmpty ? 0 : 8)
        let titleHeight = title.isEmpty ? 0 : 2 * BitmapFont.glyphHeight + 12
        let columnLabelHeight = columnLabels.isEmpty ? 0 : BitmapFont.glyphHeight + 6
        let top = titleHeight + columnLabelHeight
        let gridWidth = labelWidth + columns * (cellWidth + padding) + padding
        let width = max(gridWidth, BitmapFont.width(of: title, scale: 2) + 16)
        let height = top + rows.count * (cellHeight + padding) + padding
        var canvas = Canvas(width: width, height: height)
        if !title.isEmpty { canvas.text(title, centerX: width / 2, y: 6, scale: 2) }
        for (j, label) in columnLabels.prefix(columns).enumerated() {
            canvas.text(label, centerX: labelWidth + padding + j * (cellWidth + padding) + cellWidth / 2, y: titleHeight + 2)
        }
        for (i, label) in rowLabels.prefix(rows.count).enumerated() {
            canvas.text(label, x: 4, y: top + padding + i * (cellHeight + padding) + (cellHeight - BitmapFont.glyphHeight) / 2)
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

    /// Samples as a picture: a grid of images ([N, C, H, W]) or a scatter plot of 2-D points ([N, 2]).
    static func samples(_ x: Tensor) -> RasterImage {
        x.shape.count == 4 ? RasterImage.grid(images(x)) : scatter(x, title: "samples", size: 480)
    }

    /// A scatter plot of [N, 2] points on the toy data's square.
    static func scatter(_ x: Tensor, title: String, color: Color = .orange, size: Int = 320) -> RasterImage {
        var plot = Plot(title: title, xRange: -2.5...2.5, yRange: -2.5...2.5)
        plot.scatter(pairs: Array(x.converted(to: .float32).floats.prefix(x.shape[0] * 2)), color: color, radius: 1.2)
        return plot.render(width: size, height: size)
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
}
