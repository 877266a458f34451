// PNG round trips, corrupt and truncated files, atomic writes.
import DDPMTestSupport
import Foundation
import DDPMImaging
import Testing

@Suite("PNG codec")
struct PNGCodecTests {
    /// A deterministic image whose samples vary in every channel and position.
    static func pattern(width: Int, height: Int, format: PixelFormat) -> RasterImage {
        let n = width * height * format.channels
        return RasterImage(
            width: width, height: height, format: format,
            pixels: (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 7) })
    }

    @Test(
        "encode then decode gives identical samples",
        arguments: [
            (PixelFormat.gray, 1, 1), (.gray, 7, 5), (.gray, 33, 2), (.rgb, 1, 1), (.rgb, 5, 7), (.rgb, 31, 17), (.rgba, 3, 9),
        ])
    func roundTrip(format: PixelFormat, width: Int, height: Int) throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("image.png")
        let image = Self.pattern(width: width, height: height, format: format)
        try image.writePNG(to: url)
        let decoded = try PNGCodec.read(from: url, format: format == .rgba ? .rgba : .automatic)
        #expect(decoded == image, "\(format) \(width)×\(height)")
    }

    @Test("gray files decode to RGB with equal channels")
    func grayToRGB() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("gray.png")
        let image = Self.pattern(width: 4, height: 3, format: .gray)
        try image.writePNG(to: url)
        let rgb = try PNGCodec.read(from: url, format: .rgb)
        #expect(rgb.format == .rgb)
        for i in 0..<12 { #expect(rgb.pixels[3 * i] == image.pixels[i] && rgb.pixels[3 * i + 2] == image.pixels[i]) }
    }

    @Test("alpha is composited onto the background when stripped")
    func alphaStripped() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("rgba.png")
        // One opaque red pixel and one fully transparent pixel.
        try RasterImage(width: 2, height: 1, format: .rgba, pixels: [255, 0, 0, 255, 0, 255, 0, 0]).writePNG(to: url)
        let rgb = try PNGCodec.read(from: url)
        #expect(rgb.format == .rgb)
        #expect(rgb.pixels == [255, 0, 0, 255, 255, 255])
    }

    @Test("a truncated file is an invalidPNG error naming the file", arguments: [8, 20, 40, 60])
    func truncated(keep: Int) throws {
        let folder = try temporaryFolder()
        let good = try PNGCodec.encode(Self.pattern(width: 16, height: 16, format: .rgb))
        let url = folder.appendingPathComponent("cut-\(keep).png")
        try Data(good.prefix(keep)).write(to: url)
        let error = try #require(throws: ImagingError.self) { try PNGCodec.read(from: url) }
        guard case let .invalidPNG(named, _) = error else { Issue.record("expected invalidPNG, got \(error)"); return }
        #expect(named == url)
        #expect(error.description.contains("cut-\(keep).png"))
    }

    @Test("a file that is not a PNG, and a corrupted checksum, are rejected")
    func corrupt() throws {
        let folder = try temporaryFolder()
        let text = folder.appendingPathComponent("notes.png")
        try Data("hello, world".utf8).write(to: text)
        #expect(throws: ImagingError.self) { try PNGCodec.read(from: text) }

        var bytes = try PNGCodec.encode(Self.pattern(width: 8, height: 8, format: .gray))
        bytes[bytes.count - 20] ^= 0xFF  // inside the IDAT chunk or its CRC
        let flipped = folder.appendingPathComponent("flipped.png")
        try Data(bytes).write(to: flipped)
        let error = try #require(throws: ImagingError.self) { try PNGCodec.read(from: flipped) }
        #expect(error.description.contains("flipped.png"))
    }

    @Test("a missing file is cannotOpen")
    func missing() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("absent.png")
        #expect(throws: ImagingError.cannotOpen(url, reason: "no such file")) { try PNGCodec.read(from: url) }
    }

    @Test("writes are atomic: only the destination remains, and it replaces the old file")
    func atomicWrite() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("out.png")
        try Self.pattern(width: 3, height: 3, format: .rgb).writePNG(to: url)
        let second = Self.pattern(width: 5, height: 2, format: .gray)
        try second.writePNG(to: url)
        #expect(try folderContents(folder) == ["out.png"])
        #expect(try PNGCodec.read(from: url) == second)
    }

    @Test("a write into a missing folder fails naming the file and leaves nothing")
    func writeFailure() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("no/such/dir/out.png")
        let error = try #require(throws: ImagingError.self) { try Self.pattern(width: 2, height: 2, format: .gray).writePNG(to: url) }
        #expect(error.description.contains("no/such/dir/out.png"))
        #expect(try folderContents(folder).isEmpty)
    }
}

@Suite("hostile PNG files")
struct HostilePNGTests {
    /// CRC-32 (ISO 3309, as PNG chunks use it), bit by bit.
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// A valid 8×8 PNG whose IHDR then claims `width × height`, with the chunk's CRC recomputed.
    static func claiming(width: UInt32, height: UInt32) throws -> [UInt8] {
        var bytes = try PNGCodec.encode(PNGCodecTests.pattern(width: 8, height: 8, format: .gray))
        #expect(Array(bytes[12..<16]) == Array("IHDR".utf8))
        func put(_ value: UInt32, at offset: Int) {
            for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * i)) }
        }
        put(width, at: 16)
        put(height, at: 20)
        put(crc32(bytes[12..<29]), at: 29)
        return bytes
    }

    @Test("a small file whose header claims 1,000,000 × 1,000,000 pixels is refused before decoding")
    func hugeDimensions() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("huge.png")
        try Data(Self.claiming(width: 1_000_000, height: 1_000_000)).write(to: url)
        #expect(throws: ImagingError.imageTooLarge(url, width: 1_000_000, height: 1_000_000, maximumPixels: 16_384 * 16_384)) {
            try PNGCodec.read(from: url)
        }
        let error = try #require(throws: ImagingError.self) { try PNGCodec.read(from: url) }
        #expect(error.description.contains("declares 1000000×1000000 pixels, more than the 268435456 this decoder accepts"))
    }

    @Test("the CRC patch is right: a header claiming the true size still decodes")
    func patchedHeaderDecodes() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("same.png")
        try Data(Self.claiming(width: 8, height: 8)).write(to: url)
        #expect(try PNGCodec.read(from: url).width == 8)
    }
}
