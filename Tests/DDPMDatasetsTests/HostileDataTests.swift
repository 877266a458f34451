// Hostile and damaged dataset files: sizes from headers are checked before anything is allocated or inflated.
import DDPMDatasets
import DDPMTestSupport
import Foundation
import Testing

@Suite("hostile dataset files")
struct HostileDataTests {
    let folder: URL
    init() throws { folder = try temporaryFolder("HostileDataTests") }

    /// An IDX images header declaring `count × rows × columns`.
    static func imagesHeader(_ count: UInt32, _ rows: UInt32, _ columns: UInt32) -> [UInt8] {
        [0, 0, 8, 3]
            + [count, rows, columns].flatMap {
                [UInt8($0 >> 24), UInt8(truncatingIfNeeded: $0 >> 16), UInt8(truncatingIfNeeded: $0 >> 8), UInt8(truncatingIfNeeded: $0)]
            }
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    @Test("a 100-byte file whose header claims 10^9 images is refused by the size cap")
    func billionImages() throws {
        let url = try write(Self.imagesHeader(1_000_000_000, 28, 28) + [UInt8](repeating: 0, count: 84), "billion")
        let error = try #require(throws: DatasetError.self) { try IDXFile.readImages(url) }
        #expect(
            error
                == .wrongFormat(
                    url,
                    reason: "the IDX header declares an array of shape [1000000000, 28, 28], more than the "
                        + "4294967296 bytes this reader accepts; the file is corrupt or not an IDX file."))
    }

    @Test("a 100-byte file whose header claims 10^6 images is truncated, without reserving their bytes")
    func millionImages() throws {
        let url = try write(Self.imagesHeader(1_000_000, 28, 28) + [UInt8](repeating: 0, count: 84), "million")
        #expect(
            throws: DatasetError.truncated(
                url, expectedBytes: 16 + 784_000_000, foundBytes: 100, what: "an IDX array of shape [1000000, 28, 28]")
        ) {
            try IDXFile.readImages(url)
        }
    }

    @Test("extents whose product overflows are refused")
    func overflowingExtents() throws {
        let url = try write(Self.imagesHeader(.max, .max, .max), "overflow")
        let error = try #require(throws: DatasetError.self) { try IDXFile.readImages(url) }
        guard case let .wrongFormat(_, reason) = error else { Issue.record("expected wrongFormat, got \(error)"); return }
        #expect(reason.contains("shape [4294967295, 4294967295, 4294967295]"))
    }

    @Test("an IDX file of zero images, or of zero-pixel images, is refused", arguments: [(0, 28, 28), (5, 0, 28), (5, 28, 0)])
    func emptyImages(shape: (Int, Int, Int)) throws {
        let (count, rows, columns) = shape
        let url = try write(IDXFile.encode(shape: [count, rows, columns], bytes: []), "empty")
        #expect(
            throws: DatasetError.wrongFormat(
                url,
                reason: "the IDX header declares \(count) images of \(rows)×\(columns) pixels; "
                    + "a dataset needs at least one image of at least one pixel — re-create the file.")
        ) {
            try IDXFile.readImages(url)
        }
    }

    @Test("a folder whose images file holds zero images is an error, not a crash")
    func emptyMNISTFolder() throws {
        try IDXFile.write(shape: [0, 28, 28], bytes: [], to: folder.appendingPathComponent("t10k-images-idx3-ubyte"), gzip: false)
        try IDXFile.write(shape: [0], bytes: [], to: folder.appendingPathComponent("t10k-labels-idx1-ubyte"), gzip: false)
        let error = try #require(throws: DatasetError.self) { try MNIST.load(directory: folder, split: .test) }
        #expect(error.description.contains("declares 0 images"))
    }

    @Test("a gzip bomb (64 MB of zeros after a 10-image header) stops after the header's bytes")
    func gzipBomb() throws {
        let header = Self.imagesHeader(10, 28, 28)
        let bomb = Gzip.compress(header + [UInt8](repeating: 0, count: 64 << 20), level: 9)
        #expect(bomb.count < 100_000)
        let url = try write(bomb, "bomb.gz")
        let error = try #require(throws: DatasetError.self) { try IDXFile.readImages(url) }
        #expect(
            error
                == .wrongFormat(
                    url,
                    reason: "data continues after the 7856 bytes that the IDX header (shape [10, 28, 28]) declares; "
                        + "the header and the file size disagree — the file may be of another format."))
        // What the reader does: header, the promised bytes and one more — never the 64 MB.
        let reader = try Gzip.Reader(url, hint: "")
        #expect(try reader.read(upTo: 16 + 7840).count == 7856)
        #expect(try reader.read(upTo: 1).count == 1)
        #expect(reader.bytesRead == 7857)
    }

    @Test("a CIFAR-10 batch larger than 100,000 records is refused before it is read")
    func oversizedCIFARBatch() throws {
        let url = folder.appendingPathComponent("data_batch_1.bin")
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: UInt64((CIFAR10.maximumRecords + 1) * CIFAR10.recordSize))  // sparse: no disk used
        try handle.close()
        let error = try #require(throws: DatasetError.self) { try CIFAR10.readBatch(url) }
        guard case let .wrongFormat(_, reason) = error else { Issue.record("expected wrongFormat, got \(error)"); return }
        #expect(reason.hasPrefix("307303073 bytes, more than the 100000 records of 3073 bytes"))
    }
}
