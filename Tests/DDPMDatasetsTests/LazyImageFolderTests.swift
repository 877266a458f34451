// Image folders larger than the memory budget: decoded as batches draw them, yielding what the eager read yields.
import DDPMImaging
import DDPMTensors
import DDPMTestSupport
import DDPMDatasets
import Foundation
import Testing

@Suite("Image folders read as drawn")
struct LazyImageFolderTests {
    /// A folder of 9 PNG images of different sizes and formats, plus the three JPEG fixtures.
    static func folder() throws -> URL {
        let folder = try temporaryFolder()
        var generator = PhiloxGenerator(seed: 3)
        for i in 0..<9 {
            let (w, h) = (5 + i, 7 + (i * 3) % 5)
            let format: PixelFormat = i % 3 == 0 ? .gray : .rgb
            let pixels = (0..<(w * h * (format == .gray ? 1 : 3))).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            try RasterImage(width: w, height: h, format: format, pixels: pixels).writePNG(
                to: folder.appendingPathComponent("image-\(i).png"))
        }
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/jpeg")
        for name in ["color.jpg", "gray.jpg", "progressive.jpg"] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        return folder
    }

    @Test("a folder over the budget is read lazily and yields the eager read's batches, flips, binarised bytes and prefixes")
    func lazyEqualsEager() throws {
        let folder = try Self.folder()
        for channels in [1, 3] {
            let eager = try PNGFolder.load(directory: folder, size: 6, channels: channels)
            // Room for two decoded examples: every epoch evicts and decodes again.
            let lazy = try PNGFolder.load(directory: folder, size: 6, channels: channels, memoryBudget: 2 * channels * 36)
            guard case .images = eager.examples, case let .imageFiles(store) = lazy.examples else {
                Issue.record("expected an eager and a lazy dataset")
                return
            }
            #expect(lazy.count == 12 && lazy.exampleShape == eager.exampleShape && store.cacheBytes == 2 * channels * 36)
            var a = BatchSampler(dataset: eager, seed: 11, randomFlips: true)
            var b = BatchSampler(dataset: lazy, seed: 11, randomFlips: true)
            for step in 0..<7 {
                let x = try a.batch(step: step, size: 5), y = try b.batch(step: step, size: 5)
                #expect(x.indices == y.indices && x.flipped == y.flipped)
                #expect(x.data.floats == y.data.floats)
            }
            #expect(try lazy.binarized().batch(indices: [0, 4, 11]).floats == eager.binarized().batch(indices: [0, 4, 11]).floats)
            #expect(lazy.binarized().isBinary && lazy.prefix(3).count == 3)
            #expect(try lazy.prefix(3).image(at: 2).pixels == eager.image(at: 2).pixels)
        }
    }

    @Test("a file that cannot be decoded fails the batch that draws it, naming the file")
    func badFileFailsItsBatch() throws {
        let folder = try Self.folder()
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D]).write(to: folder.appendingPathComponent("image-5.png"))
        #expect(throws: ImagingError.self) { try PNGFolder.load(directory: folder, size: 6) }
        let lazy = try PNGFolder.load(directory: folder, size: 6, memoryBudget: 0)
        _ = try lazy.batch(indices: [0, 1, 2, 3, 4, 5, 6, 8])
        let error = try #require(throws: ImagingError.self) { try lazy.batch(indices: [1, 7]) }
        #expect(error.description.contains("image-5.png"))
    }
}
