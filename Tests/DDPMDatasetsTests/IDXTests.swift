// IDX files: generated raw and gzipped files read back exactly; each failure gives its own error; real Fashion-MNIST.
import DDPMTestSupport
import DDPMDatasets
import Foundation
import DDPMTensors
import Testing

@Suite("IDX and MNIST")
struct IDXTests {
    static func images(count: Int, height: Int, width: Int) -> [UInt8] {
        (0..<(count * height * width)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    @Test("generated files read back exactly", arguments: [false, true])
    func roundTrip(gzip: Bool) throws {
        let folder = try temporaryFolder()
        let pixels = Self.images(count: 5, height: 3, width: 4)
        let url = folder.appendingPathComponent(gzip ? "images.gz" : "images")
        try IDXFile.write(shape: [5, 3, 4], bytes: pixels, to: url, gzip: gzip)
        let read = try IDXFile.readImages(url)
        #expect(read.count == 5 && read.height == 3 && read.width == 4)
        #expect(read.pixels == pixels)
        let labelsURL = folder.appendingPathComponent("labels")
        try IDXFile.write(shape: [5], bytes: [0, 9, 3, 3, 1], to: labelsURL, gzip: gzip)
        #expect(try IDXFile.readLabels(labelsURL) == [0, 9, 3, 3, 1])
    }

    @Test("a folder of the four files loads as a dataset, gzipped files preferred", arguments: [DataSplit.train, .test])
    func folder(split: DataSplit) throws {
        let folder = try temporaryFolder()
        let prefix = split == .train ? "train" : "t10k"
        let pixels = Self.images(count: 4, height: 28, width: 28)
        try IDXFile.write(
            shape: [4, 28, 28], bytes: pixels, to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte.gz"), gzip: true)
        try IDXFile.write(shape: [4], bytes: [1, 2, 3, 4], to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"), gzip: false)
        var generator = PhiloxGenerator(seed: 0)  // not drawn from by file datasets
        let data = try DataSpec(parsing: "mnist:\(folder.path)").load(split: split, generator: &generator)
        #expect(data.count == 4 && data.exampleShape == [1, 28, 28] && data.labels == [1, 2, 3, 4])
        #expect(data.examples == .images(pixels))
    }

    @Test("labels given for images: wrong magic, named in the message")
    func wrongMagic() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("train-labels-idx1-ubyte")
        try IDXFile.write(shape: [3], bytes: [1, 2, 3], to: url, gzip: false)
        let error = try #require(throws: DatasetError.self) { try IDXFile.readImages(url) }
        #expect(error == .wrongMagic(url, expected: 2051, found: 2049))
        #expect(error.description.contains("IDX magic number 2051 (0x00000803) expected, found 2049 (0x00000801)"))
        #expect(error.description.contains(url.path))
    }

    @Test("truncated data and truncated header", arguments: [false, true])
    func truncated(gzip: Bool) throws {
        let folder = try temporaryFolder()
        let encoded = IDXFile.encode(shape: [2, 4, 4], bytes: Self.images(count: 2, height: 4, width: 4))
        let short = folder.appendingPathComponent("short")
        let cut = Array(encoded.prefix(encoded.count - 5))
        try Data(gzip ? Gzip.compress(cut) : cut).write(to: short)
        #expect(
            throws: DatasetError.truncated(
                short, expectedBytes: encoded.count, foundBytes: encoded.count - 5,
                what: "an IDX array of shape [2, 4, 4]")
        ) { try IDXFile.readImages(short) }
        let header = folder.appendingPathComponent("header")
        try Data(encoded.prefix(10)).write(to: header)
        #expect(throws: DatasetError.truncated(header, expectedBytes: 16, foundBytes: 10, what: "the IDX header (3 dimensions)")) {
            try IDXFile.readImages(header)
        }
    }

    @Test("a gzip stream cut short is unreadable, naming the file")
    func truncatedGzip() throws {
        let folder = try temporaryFolder()
        let compressed = Gzip.compress(IDXFile.encode(shape: [50, 8, 8], bytes: Self.images(count: 50, height: 8, width: 8)))
        let url = folder.appendingPathComponent("cut.gz")
        try Data(compressed.prefix(compressed.count / 2)).write(to: url)
        let error = try #require(throws: DatasetError.self) { try IDXFile.readImages(url) }
        #expect(error.description.contains("cut.gz"))
    }

    @Test("a missing file says how to get the data")
    func missing() throws {
        let folder = try temporaryFolder()
        let error = try #require(throws: DatasetError.self) { try MNIST.loadFashion(directory: folder, split: .test) }
        guard case let .missingFile(url, _) = error else { Issue.record("expected missingFile, got \(error)"); return }
        #expect(url.lastPathComponent == "t10k-images-idx3-ubyte")
        #expect(error.description.contains("apt-get install dataset-fashion-mnist"))
    }

    @Test(
        "the real Fashion-MNIST test split: 10,000 images 28×28, labels 0–9",
        .enabled(
            if: FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"),
            "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"))
    func fashionMNIST() throws {
        let data = try MNIST.loadFashion(split: .test)
        #expect(data.count == 10_000 && data.exampleShape == [1, 28, 28])
        let labels = try #require(data.labels)
        #expect(Set(labels) == Set(0...9))
        #expect(labels.filter { $0 == 0 }.count == 1000)
    }
}
