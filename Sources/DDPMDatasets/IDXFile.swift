// IDX files (the MNIST format, LeCun et al.): big-endian magic and dimensions, then unsigned bytes.
import DDPMFileSupport
import Foundation
import DDPMImaging

/// The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.
///
/// Layout: a 4-byte big-endian magic number `0x0000 TT DD` (TT = 0x08 for unsigned bytes, DD =
/// number of dimensions), DD big-endian UInt32 extents, then the bytes in row-major order.
/// Images are magic 2051 (0x00000803: N × rows × columns), labels 2049 (0x00000801: N).
public enum IDXFile {
    /// Magic number of an unsigned-byte, 3-D file (images).
    public static let imagesMagic: UInt32 = 0x0000_0803
    /// Magic number of an unsigned-byte, 1-D file (labels).
    public static let labelsMagic: UInt32 = 0x0000_0801

    /// The largest IDX array read, in bytes (4 GiB; MNIST's training images take 47 MB).
    public static let maximumDataSize = 1 << 32

    /// The dimensions and bytes of an IDX file whose magic must be `expectedMagic`.
    ///
    /// The header is read first and the array's size, computed with overflow checks, is compared
    /// with `maximumDataSize` before any of the data is read; gzip files are then decompressed
    /// only as far as the header promises (plus one byte, to detect trailing data), so a small
    /// file cannot make the reader allocate or inflate more than its header declares.
    /// - Throws: `DatasetError` naming the file: `.missingFile` (with `hint`), `.wrongMagic`,
    ///   `.truncated` (header or data shorter than declared), `.wrongFormat` (bytes past the end,
    ///   or a declared size above the cap).
    public static func read(_ url: URL, expectedMagic: UInt32, hint: String) throws -> (shape: [Int], bytes: [UInt8]) {
        let reader = try Gzip.Reader(url, hint: hint)
        let prefix = try reader.read(upTo: 4)
        guard prefix.count == 4 else {
            throw DatasetError.truncated(url, expectedBytes: 4, foundBytes: prefix.count, what: "the IDX magic number")
        }
        let magic = bigEndian(prefix, at: 0)
        guard magic == expectedMagic else { throw DatasetError.wrongMagic(url, expected: expectedMagic, found: magic) }
        let rank = Int(magic & 0xFF)
        let headerSize = 4 + 4 * rank
        let extents = try reader.read(upTo: 4 * rank)
        guard extents.count == 4 * rank else {
            throw DatasetError.truncated(
                url, expectedBytes: headerSize, foundBytes: 4 + extents.count, what: "the IDX header (\(rank) dimensions)")
        }
        let shape = (0..<rank).map { Int(bigEndian(extents, at: 4 * $0)) }
        let size = try dataSize(shape, url: url)
        let data = try reader.read(upTo: size)
        guard data.count == size else {
            throw DatasetError.truncated(
                url, expectedBytes: headerSize + size, foundBytes: headerSize + data.count,
                what: "an IDX array of shape \(shape)")
        }
        guard try reader.read(upTo: 1).isEmpty else {
            throw DatasetError.wrongFormat(
                url,
                reason: "data continues after the \(headerSize + size) bytes that the IDX header (shape \(shape)) "
                    + "declares; the header and the file size disagree — the file may be of another format.")
        }
        return (shape, data)
    }

    /// The byte count of an array of `shape`, checked against `maximumDataSize` without overflow.
    static func dataSize(_ shape: [Int], url: URL) throws -> Int {
        var size = 1
        for extent in shape {
            let (product, overflow) = size.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= maximumDataSize else {
                throw DatasetError.wrongFormat(
                    url,
                    reason: "the IDX header declares an array of shape \(shape), more than the "
                        + "\(maximumDataSize) bytes this reader accepts; the file is corrupt or not an IDX file.")
            }
            size = product
        }
        return size
    }

    /// Images from an IDX images file: `count × rows × columns` bytes, none of them 0.
    public static func readImages(_ url: URL, hint: String = DatasetHint.mnist) throws -> (
        count: Int, height: Int, width: Int, pixels: [UInt8]
    ) {
        let (shape, bytes) = try read(url, expectedMagic: imagesMagic, hint: hint)
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw DatasetError.wrongFormat(
                url,
                reason: "the IDX header declares \(shape[0]) images of \(shape[1])×\(shape[2]) pixels; "
                    + "a dataset needs at least one image of at least one pixel — re-create the file.")
        }
        return (shape[0], shape[1], shape[2], bytes)
    }

    /// Labels from an IDX labels file.
    public static func readLabels(_ url: URL, hint: String = DatasetHint.mnist) throws -> [UInt8] {
        try read(url, expectedMagic: labelsMagic, hint: hint).bytes
    }

    /// The IDX encoding of unsigned bytes of the given shape (rank 1…255).
    public static func encode(shape: [Int], bytes: [UInt8]) -> [UInt8] {
        precondition(!shape.isEmpty && shape.count < 256, "IDXFile.encode: rank \(shape.count)")
        precondition(shape.reduce(1, *) == bytes.count, "IDXFile.encode: \(bytes.count) bytes do not fill \(shape)")
        var out: [UInt8] = []
        out.reserveCapacity(4 + 4 * shape.count + bytes.count)
        appendBigEndian(0x0800 | UInt32(shape.count), to: &out)
        for extent in shape { appendBigEndian(UInt32(extent), to: &out) }
        out.append(contentsOf: bytes)
        return out
    }

    /// Writes an IDX file atomically, gzip-compressed when `gzip` is true.
    public static func write(shape: [Int], bytes: [UInt8], to url: URL, gzip: Bool) throws {
        let encoded = encode(shape: shape, bytes: bytes)
        try AtomicFile.write(gzip ? Gzip.compress(encoded) : encoded, to: url)
    }

    static func bigEndian(_ data: [UInt8], at offset: Int) -> UInt32 {
        UInt32(data[offset]) << 24 | UInt32(data[offset + 1]) << 16 | UInt32(data[offset + 2]) << 8 | UInt32(data[offset + 3])
    }

    static func appendBigEndian(_ value: UInt32, to out: inout [UInt8]) {
        out += [
            UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
            UInt8(truncatingIfNeeded: value),
        ]
    }
}
