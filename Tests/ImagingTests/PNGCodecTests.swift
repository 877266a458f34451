// PNG round trips, corrupt and truncated files, atomic writes.
import Foundation
import Imaging
import Testing

@Suite("PNG codec")
struct PNGCodecTests {
    /// A deterministic image whose samples vary in every channel and position.
    static func pattern(width: Int, height: Int, format: PixelFormat) -> RasterImage {
        let n = width * height * format.channels
        return RasterImage(width: width, height: height, format: format,
                           pixels: (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 7) })
    }

    @Test("encode then decode gives identical samples", arguments: [
        (PixelFormat.gray, 1, 1), (.gray, 7, 5), (.gray, 33, 2), (.rgb, 1, 1), (.rgb, 5, 7), (.rgb, 31, 17), (.rgba, 3, 9),
    ])
    func roundTrip(format: PixelFormat, width: Int, height: Int) throws {
        let folder = try TemporaryFolder()
        let url = folder.file("image.png")
        let image = Self.pattern(width: width, height: height, format: format)
        try image.writePNG(to: url)
        let decoded = try PNGCodec.read(from: url, format: format == .rgba ? .rgba : .automatic)
        #expect(decoded == image, "\(format) \(width)×\(height)")
    }

    @Test("gray files decode to RGB with equal channels")
    func grayToRGB() throws {
        let folder = try TemporaryFolder()
        let url = folder.file("gray.png")
        let image = Self.pattern(width: 4, height: 3, format: .gray)
        try image.writePNG(to: url)
        let rgb = try PNGCodec.read(from: url, format: .rgb)
        #expect(rgb.format == .rgb)
        for i in 0..<12 { #expect(rgb.pixels[3 * i] == image.pixels[i] && rgb.pixels[3 * i + 2] == image.pixels[i]) }
    }

    @Test("alpha is composited onto the background when stripped")
    func alphaStripped() throws {
        let folder = try TemporaryFolder()
        let url = folder.file("rgba.png")
        // One opaque red pixel and one fully transparent pixel.
        try RasterImage(width: 2, height: 1, format: .rgba, pixels: [255, 0, 0, 255, 0, 255, 0, 0]).writePNG(to: url)
        let rgb = try PNGCodec.read(from: url)
        #expect(rgb.format == .rgb)
        #expect(rgb.pixels == [255, 0, 0, 255, 255, 255])
    }

    @Test("a truncated file is an invalidPNG error naming the file", arguments: [8, 20, 40, 60])
    func truncated(keep: Int) throws {
        let folder = try TemporaryFolder()
        let good = try PNGCodec.encode(Self.pattern(width: 16, height: 16, format: .rgb))
        let url = folder.file("cut-\(keep).png")
        try Data(good.prefix(keep)).write(to: url)
        let error = try #require(throws: ImagingError.self) { try PNGCodec.read(from: url) }
        guard case let .invalidPNG(named, _) = error else { Issue.record("expected invalidPNG, got \(error)"); return }
        #expect(named == url)
        #expect(error.description.contains("cut-\(keep).png"))
    }

    @Test("a file that is not a PNG, and a corrupted checksum, are rejected")
    func corrupt() throws {
        let folder = try TemporaryFolder()
        let text = folder.file("notes.png")
        try Data("hello, world".utf8).write(to: text)
        #expect(throws: ImagingError.self) { try PNGCodec.read(from: text) }

        var bytes = try PNGCodec.encode(Self.pattern(width: 8, height: 8, format: .gray))
        bytes[bytes.count - 20] ^= 0xFF  // inside the IDAT chunk or its CRC
        let flipped = folder.file("flipped.png")
        try Data(bytes).write(to: flipped)
        let error = try #require(throws: ImagingError.self) { try PNGCodec.read(from: flipped) }
        #expect(error.description.contains("flipped.png"))
    }

    @Test("a missing file is cannotOpen")
    func missing() throws {
        let folder = try TemporaryFolder()
        let url = folder.file("absent.png")
        #expect(throws: ImagingError.cannotOpen(url, reason: "no such file")) { try PNGCodec.read(from: url) }
    }

    @Test("writes are atomic: only the destination remains, and it replaces the old file")
    func atomicWrite() throws {
        let folder = try TemporaryFolder()
        let url = folder.file("out.png")
        try Self.pattern(width: 3, height: 3, format: .rgb).writePNG(to: url)
        let second = Self.pattern(width: 5, height: 2, format: .gray)
        try second.writePNG(to: url)
        #expect(try folder.contents() == ["out.png"])
        #expect(try PNGCodec.read(from: url) == second)
    }

    @Test("a write into a missing folder fails naming the file and leaves nothing")
    func writeFailure() throws {
        let folder = try TemporaryFolder()
        let url = folder.file("no/such/dir/out.png")
        let error = try #require(throws: ImagingError.self) { try AtomicFile.write([1, 2, 3], to: url) }
        #expect(error.description.contains("no/such/dir/out.png"))
        #expect(try folder.contents().isEmpty)
    }
}
