// Pictures of tensors: image batches to PNG-ready images, labelled grids, point scatter plots.
import Foundation
import Imaging
import Tensors

enum Pictures {
    /// [−1, 1] → 0…255.
    static func byte(_ v: Float) -> UInt8 {
        UInt8(max(0, min(255, ((v + 1) * 127.5).rounded())))
    }

    /// Each image of an [N, C, H, W] batch in [−1, 1] (C = 1 or 3), enlarged `scale` times by
    /// pixel repetition.
    static func images(_ x: Tensor, scale: Int = 1) -> [RasterImage] {
        precondition(x.rank == 4, "Pictures.images: expected [N, C, H, W], got \(x.shape)")
        let values = x.converted(to: .float32).floats
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (sh, sw) = (h * scale, w * scale)
        return (0..<n).map { i in
            var pixels = [UInt8](repeating: 0, count: sh * sw * c)
            for y in 0..<sh { for xx in 0..<sw { for ch in 0..<c {
                pixels[(y * sw + xx) * c + ch] = byte(values[((i * c + ch) * h + y / scale) * w + xx / scale])
            } } }
            return RasterImage(width: sw, height: sh, format: c == 1 ? .gray : .rgb, pixels: pixels)
        }
    }

    /// Rows of images with a label above each column, one left of each row, and a title.
    static func labeledGrid(_ rows: [[RasterImage]], columnLabels: [String] = [], rowLabels: [String] = [], title: String = "") -> RasterImage {
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
                image.paste(cell.converted(to: .rgb), x: labelWidth + padding + j * (cellWidth + padding) + (cellWidth - cell.width) / 2,
                            y: top + padding + i * (cellHeight + padding) + (cellHeight - cell.height) / 2)
            }
        }
        return image
    }

    /// A scatter plot of [N, 2] points on the toy data's square.
    static func scatter(_ x: Tensor, title: String, color: Color = .orange, size: Int = 320) -> RasterImage {
        var plot = Plot(title: title, xRange: -2.5...2.5, yRange: -2.5...2.5)
        plot.scatter(pairs: Array(x.converted(to: .float32).floats.prefix(x.shape[0] * 2)), color: color, radius: 1.2)
        return plot.render(width: size, height: size)
    }

    /// Writes `image` to `folder/name` and returns the path for the report.
    static func write(_ image: RasterImage, _ name: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try CommandFailure.wrap { try image.writePNG(to: url) }
        return url.path
    }
}
