// CIFAR-10 binary batches and PNG folders: exact read-back, truncation, crop and resize of constructed images.
import DDPMTestSupport
import DDPMDatasets
import Foundation
import DDPMImaging
import Testing

@Suite("CIFAR-10 and PNG folders")
struct CIFARAndPNGFolderTests {
    /// Three records: labels 7, 0, 9; pixel bytes a function of (record, offset).
    static func records() -> (file: [UInt8], images: [UInt8], labels: [Int]) {
        var file: [UInt8] = [], images: [UInt8] = []
        let labels = [7, 0, 9]
        for (n, label) in labels.enumerated() {
            file.append(UInt8(label))
            let pixels = (0..<3072).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ n &* 101) }
            file += pixels
            images += pixels
        }
        return (file, images, labels)
    }

    @Test("a generated 3-record batch reads back exactly, R, G, B planes in NCHW order")
    func readBack() throws {
        let folder = try temporaryFolder()
        let (file, images, labels) = Self.records()
        let url = folder.appendingPathComponent("test_batch.bin")
        try Data(file).write(to: url)
        let batch = try CIFAR10.readBatch(url)
        #expect(batch.images == images && batch.labels == labels)
        let data = try CIFAR10.load(directory: folder, split: .test)
        #expect(data.count == 3 && data.exampleShape == [3, 32, 32] && data.labels == labels)
        // Pixel (x 5, y 2) of image 1: red at plane offset 2·32+5, green 1024 later, blue 2048 later.
        let rgb = try data.image(at: 1)[5, 2]
        #expect(Array(rgb) == [file[3073 + 1 + 69], file[3073 + 1 + 1024 + 69], file[3073 + 1 + 2048 + 69]])
    }

    @Test("a truncated batch names the file and the record size", arguments: [1, 3072, 3073 * 2 + 100])
    func truncated(length: Int) throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("data_batch_1.bin")
        try Data(Self.records().file.prefix(length)).write(to: url)
        let error = try #require(throws: DatasetError.self) { try CIFAR10.readBatch(url) }
        guard case let .truncated(named, expected, found, _) = error else { Issue.record("expected truncated, got \(error)"); return }
        #expect(named == url && found == length && expected % 3073 == 0 && expected > length)
    }

    @Test("a missing folder says where CIFAR-10 binary comes from")
    func missing() throws {
        let error = try #require(throws: DatasetError.self) {
            try CIFAR10.load(directory: URL(fileURLWithPath: "/nonexistent/cifar-10-batches-bin"), split: .train)
        }
        #expect(error.description.contains("cifar-10-binary.tar.gz"))
    }

    @Test("PNG folder: images are centre-cropped and area-resized")
    func pngFolder() throws {
        let folder = try temporaryFolder()
        // 6×4 RGB: columns 0 and 5 are cropped away; the middle 4×4 has 2×2 blocks of constant colour.
        var pixels: [UInt8] = []
        for y in 0..<4 {
            for x in 0..<6 {
                let block = (x - 1) / 2 + 2 * (y / 2)
                pixels += (x == 0 || x == 5) ? [255, 255, 255] : [UInt8(10 * block), UInt8(20 + block), 200]
            }
        }
        try RasterImage(width: 6, height: 4, format: .rgb, pixels: pixels).writePNG(to: folder.appendingPathComponent("b.png"))
        // A second, taller gray image: rows 0 and 3 are cropped; 2×2 → 1×1 averages.
        try RasterImage(width: 2, height: 4, format: .gray, pixels: [0, 0, 10, 20, 30, 40, 255, 255]).writePNG(
            to: folder.appendingPathComponent("a.png"))
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("notes.txt"))

        let rgb = try PNGFolder.load(directory: folder, size: 2, channels: 3)
        #expect(rgb.count == 2 && rgb.exampleShape == [3, 2, 2])
        // Sorted by name: a.png first (its middle 2×2 already has the size; gray replicated), then b.png.
        #expect(try rgb.image(at: 0).pixels == [10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40])
        #expect(try rgb.image(at: 1).pixels == [0, 20, 200, 10, 21, 200, 20, 22, 200, 30, 23, 200])

        let gray = try PNGFolder.load(directory: folder, size: 1, channels: 1)
        #expect(try gray.image(at: 0).pixels == [25])  // mean of 10, 20, 30, 40
    }

    @Test("an empty folder and a bad PNG are errors naming the file")
    func pngFolderErrors() throws {
        let folder = try temporaryFolder()
        #expect(throws: DatasetError.empty(folder, what: "*.png, *.jpg or *.jpeg files")) { try PNGFolder.load(directory: folder, size: 8) }
        try Data([0x89, 0x50, 0x4E, 0x47]).write(to: folder.appendingPathComponent("broken.png"))
        let error = try #require(throws: ImagingError.self) { try PNGFolder.load(directory: folder, size: 8) }
        #expect(error.description.contains("broken.png"))
    }
}
