// Tiling: many images into one grid image with padding (sample sheets, panel figures).

extension RasterImage {
    /// Tiles `images` row by row into `columns` columns, separated and framed by `padding`
    /// pixels of `paddingColor`.
    ///
    /// Cells are as large as the largest image; a smaller image is centred in its cell. All
    /// images are converted to `format` (default: the first image's format). The colour has
    /// `format.channels` samples (a gray padding value is replicated if one sample is given).
    /// - Parameters:
    ///   - images: the tiles, in reading order; at least one.
    ///   - columns: images per row; default ⌈√N⌉, so that N samples make a near-square sheet.
    ///   - padding: pixels between cells and around the sheet (≥ 0).
    ///   - paddingColor: the colour of the padding: `format.channels` samples, or one gray value.
    ///   - format: the sheet's pixel format; nil: the first image's.
    /// - Returns: an image of `columns × cell + (columns + 1) × padding` by
    ///   `rows × cell + (rows + 1) × padding` pixels.
    public static func grid(
        _ images: [RasterImage], columns: Int? = nil, padding: Int = 2,
        paddingColor: [UInt8] = [255], format: PixelFormat? = nil
    ) -> RasterImage {
        precondition(!images.isEmpty, "RasterImage.grid: no images")
        precondition(padding >= 0, "RasterImage.grid: negative padding \(padding)")
        let format = format ?? images[0].format
        let columns = max(1, columns ?? Int(Double(images.count).squareRoot().rounded(.up)))
        let rows = (images.count + columns - 1) / columns
        let cellWidth = images.map(\.width).max()!, cellHeight = images.map(\.height).max()!
        let width = columns * cellWidth + (columns + 1) * padding
        let height = rows * cellHeight + (rows + 1) * padding
        let fill = paddingColor.count == 1 ? [UInt8](repeating: paddingColor[0], count: format.channels) : paddingColor
        var out = RasterImage(width: width, height: height, format: format, fill: fill)
        for (index, image) in images.enumerated() {
            let x0 = padding + (index % columns) * (cellWidth + padding) + (cellWidth - image.width) / 2
            let y0 = padding + (index / columns) * (cellHeight + padding) + (cellHeight - image.height) / 2
            out.paste(image.converted(to: format), x: x0, y: y0)
        }
        return out
    }

    /// Images side by side (one row), e.g. "data | samples": ``grid(_:columns:padding:paddingColor:format:)``
    /// with one column per image, `spacing` pixels of `background` between and around them, in
    /// RGB when any image is not gray.
    public static func row(_ images: [RasterImage], spacing: Int = 8, background: [UInt8] = [255]) -> RasterImage {
        grid(
            images, columns: images.count, padding: spacing, paddingColor: background,
            format: images.contains { $0.format != .gray } ? .rgb : .gray)
    }

    /// Copies `image` (same format) into this one with its top-left corner at (x, y), clipped.
    public mutating func paste(_ image: RasterImage, x: Int, y: Int) {
        precondition(image.format == format, "RasterImage.paste: format \(image.format) into \(format)")
        let c = channels
        for row in 0..<image.height {
            let ty = y + row
            guard ty >= 0 && ty < height else { continue }
            let x0 = max(0, x), x1 = min(width, x + image.width)
            guard x0 < x1 else { continue }
            let source = (row * image.width + (x0 - x)) * c
            let dest = (ty * width + x0) * c
            let n = (x1 - x0) * c
            pixels.withUnsafeMutableBufferPointer { d in
                image.pixels.withUnsafeBufferPointer { s in
                    (d.baseAddress! + dest).update(from: s.baseAddress! + source, count: n)
                }
            }
        }
    }
}
