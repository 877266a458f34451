// JPEG files in image folders: libjpeg-turbo decodes the pixels Debian's djpeg decodes
// (scripts/reference/make_jpeg_fixture.sh), a folder of JPEG and PNG files loads, bad files are
// refused by name.
import DDPMDatasets
import DDPMImaging
import DDPMTensors
import DDPMTestSupport
import Foundation
import Testing

@Suite struct JPEGTests {
    static func fixture(_ name: String) -> URL {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/jpeg")!
    }

    /// The pixels of a binary PGM (P5) or PPM (P6) file with maximum 255, as djpeg writes them.
    func pnm(_ url: URL) throws -> (width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        let bytes = [UInt8](try Data(contentsOf: url))
        var fields: [String] = [], index = 0
        while fields.count < 4 {
            while bytes[index] == 0x20 || bytes[index] == 0x0A { index += 1 }
            var field = ""
            while bytes[index] != 0x20 && bytes[index] != 0x0A {
                field.append(Character(UnicodeScalar(bytes[index])))
                index += 1
            }
            fields.append(field)
        }
        let channels = fields[0] == "P5" ? 1 : 3
        let (w, h) = (Int(fields[1])!, Int(fields[2])!)
        return (w, h, channels, Array(bytes[(index + 1)...]))
    }

    @Test(arguments: [("gray.jpg", "gray.pgm"), ("color.jpg", "color.ppm"), ("progressive.jpg", "progressive.ppm")])
    func decodesWhatDjpegDecodes(_ jpeg: String, _ decoded: String) throws {
        let image = try JPEGCodec.read(from: Self.fixture(jpeg))
        let want = try pnm(Self.fixture(decoded))
        #expect(image.width == want.width && image.height == want.height && image.format.channels == want.channels)
        #expect(image.pixels == want.pixels, "\(jpeg): pixels differ from djpeg's")
        // As gray, a colour file is converted, and the gray file is unchanged.
        #expect(try JPEGCodec.read(from: Self.fixture(jpeg), format: .gray).pixels.count == want.width * want.height)
    }

    @Test func aFolderOfJPEGAndPNGFilesLoads() throws {
        let folder = try temporaryFolder()
        for name in ["gray.jpg", "color.jpg", "progressive.jpg"] {
            try FileManager.default.copyItem(at: Self.fixture(name), to: folder.appendingPathComponent(name.uppercased()))
        }
        try RasterImage(width: 4, height: 4, format: .gray, fill: [200]).writePNG(to: folder.appendingPathComponent("plain.png"))
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        var generator = PhiloxGenerator(seed: 0)
        let dataset = try DataSpec(parsing: "png:\(folder.path),size=8,channels=3").load(split: .train, generator: &generator)
        #expect(dataset.count == 4 && dataset.exampleShape == [3, 8, 8])
        // The gray JPEG (8 × 8, sorted first: COLOR, GRAY, PROGRESSIVE, plain) is read as RGB with equal channels.
        guard case .images(let bytes) = dataset.examples else { return }
        let gray = Array(bytes[192..<384])
        #expect(gray[0..<64] == gray[64..<128] && gray[0..<64] == gray[128..<192])
        #expect(Array(gray[0..<64]) == (try pnm(Self.fixture("gray.pgm"))).pixels)
    }

    @Test func badJPEGFilesAreRefusedNamingTheFile() throws {
        let folder = try temporaryFolder()
        let truncated = folder.appendingPathComponent("truncated.jpg"), text = folder.appendingPathComponent("text.jpeg")
        let cut = folder.appendingPathComponent("cut.jpg")
        let whole = try Data(contentsOf: Self.fixture("color.jpg"))
        try whole.prefix(whole.count / 3).write(to: truncated)
        try whole.prefix(whole.count - 40).write(to: cut)  // the header whole, the scan cut short: a warning in libjpeg-turbo
        try Data("plain text".utf8).write(to: text)
        for url in [truncated, cut, text] {
            #expect {
                try JPEGCodec.read(from: url)
            } throws: { error in
                guard case ImagingError.invalidJPEG(let named, _) = error else { return false }
                return named == url && "\(error)".contains("not a readable JPEG file")
            }
        }
        #expect(throws: ImagingError.self) { try JPEGCodec.read(from: folder.appendingPathComponent("missing.jpg")) }
    }
}
