// Zip archives (PKWARE APPNOTE 6.3): the container of NPZ files and of PyTorch's checkpoints; stored or deflate, zip64.
import CZlib
import Foundation

/// A zip archive held in memory: its central directory, read and checked, and each member's bytes
/// on request.
///
/// Readers of NPZ files (`numpy.savez`) and PyTorch checkpoints (`torch.save` since 1.6) use it.
/// Members may be stored or deflated (methods 0 and 8); zip64 sizes and offsets are read; encrypted
/// members, multi-disk archives and other methods are refused. Every offset and size is checked
/// against the bytes at hand before anything is allocated, and a member's declared size is checked
/// against what its compressed bytes could possibly inflate to (deflate's ratio is at most 1032:1),
/// so a hostile directory cannot make the reader allocate more than a small multiple of the file.
public struct ZipArchive {
    /// One member of the archive, as its central directory entry describes it.
    public struct Entry: Equatable, Sendable {
        /// The member's name (a path inside the archive, `/`-separated).
        public var name: String
        /// Whether the member is deflated (method 8) rather than stored (method 0).
        public var isDeflated: Bool
        /// Bytes of the member as stored in the archive.
        public var compressedSize: Int
        /// Bytes of the member once inflated.
        public var size: Int
        /// The CRC-32 of the inflated bytes, checked when the member is read.
        public var crc32: UInt32
        /// Where the member's local header starts.
        public var localHeaderOffset: Int
    }

    /// The file the archive was read from (named in errors).
    public let url: URL
    /// The members, in central directory order.
    public let entries: [Entry]
    private let bytes: [UInt8]
    private let index: [String: Int]

    /// The largest deflate expansion (RFC 1951 cannot do better than 1032:1), used to refuse
    /// declared sizes no compressed member could produce.
    static let maximumDeflateRatio = 1032

    /// Reads the archive at `url`.
    /// - Throws: ``TensorFileError`` naming the file: `.cannotRead`, or `.invalidArchive` saying what is wrong.
    public init(contentsOf url: URL) throws {
        try self.init(bytes: TensorFileIO.readBytes(url), url: url)
    }

    /// Parses the archive's end records and central directory; `url` names the source in errors.
    /// - Throws: ``TensorFileError/invalidArchive(_:reason:)`` when the bytes are not a zip archive
    ///   this reader accepts (see the type's description) or a directory entry points outside them.
    public init(bytes: [UInt8], url: URL) throws {
        self.url = url
        self.bytes = bytes
        var reader = ByteReader(bytes, url: url)
        func fail(_ reason: String) -> TensorFileError { .invalidArchive(url, reason: reason) }

        // 1. The end of central directory record: within the last 65,557 bytes (22 + a comment of at most 65,535).
        guard bytes.count >= 22 else { throw fail("\(bytes.count) bytes are too few for a zip archive (its end record alone is 22)") }
        var end = -1
        for start in stride(from: bytes.count - 22, through: max(0, bytes.count - 65_557), by: -1)
        where bytes[start] == 0x50 && bytes[start + 1] == 0x4B && bytes[start + 2] == 0x05 && bytes[start + 3] == 0x06 {
            end = start
            break
        }
        guard end >= 0 else { throw fail("no end of central directory record (the file is not a zip archive, or is truncated)") }
        reader.position = end + 4
        let (disk, directoryDisk) = (try reader.uint16(), try reader.uint16())
        _ = try reader.uint16()
        var count = Int(try reader.uint16())
        var directorySize = Int(try reader.uint32())
        var directoryOffset = Int(try reader.uint32())
        guard disk == 0 || disk == 0xFFFF, directoryDisk == 0 || directoryDisk == 0xFFFF else {
            throw fail("multi-disk archives are not supported")
        }
        // 2. Zip64: the locator just before the end record points to the zip64 end record.
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            guard end >= 20 else { throw fail("zip64 sizes without a zip64 end record locator") }
            reader.position = end - 20
            guard try reader.uint32() == 0x0706_4B50 else { throw fail("zip64 sizes without a zip64 end record locator") }
            _ = try reader.uint32()
            let recordOffset = try reader.offset(try reader.uint64(), "zip64 end record offset")
            reader.position = recordOffset
            guard try reader.uint32() == 0x0606_4B50 else { throw fail("the zip64 end record is not where its locator says") }
            reader.position += 20  // record size, versions, disk numbers
            _ = try reader.uint64()
            count = try reader.offset(try reader.uint64(), "entry count")
            directorySize = try reader.offset(try reader.uint64(), "central directory size")
            directoryOffset = try reader.offset(try reader.uint64(), "central directory offset")
        }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw fail(
                "the central directory (\(directorySize) bytes at \(directoryOffset)) runs past the end of the \(bytes.count)-byte file")
        }
        guard count <= directorySize / 46 else { throw fail("\(count) entries cannot fit in a \(directorySize)-byte central directory") }

        // 3. The central directory.
        var entries: [Entry] = []
        var index: [String: Int] = [:]
        reader.position = directoryOffset
        for _ in 0..<count {
            guard try reader.uint32() == 0x0201_4B50 else { throw fail("central directory entry \(entries.count) has a bad signature") }
            reader.position += 4  // versions
            let flags = try reader.uint16()
            let method = try reader.uint16()
            reader.position += 4  // time, date
            let crc = try reader.uint32()
            var compressed = UInt64(try reader.uint32())
            var size = UInt64(try reader.uint32())
            let nameLength = Int(try reader.uint16()), extraLength = Int(try reader.uint16()), commentLength = Int(try reader.uint16())
            reader.position += 8  // disk, attributes
            var offset = UInt64(try reader.uint32())
            let nameBytes = try reader.bytes(nameLength)
            guard let name = String(validating: nameBytes, as: UTF8.self) else { throw fail("entry \(entries.count)'s name is not UTF-8") }
            var extra = ByteReader(try reader.bytes(extraLength), url: url)
            reader.position += commentLength
            // The zip64 extra field (0x0001) holds, in this order, whichever of the three fields are saturated.
            while extra.remaining >= 4 {
                let (id, length) = (try extra.uint16(), Int(try extra.uint16()))
                let fieldEnd = extra.position + length
                guard fieldEnd <= extra.count else { throw fail("\(name): extra field runs past its entry") }
                if id == 0x0001 {
                    if size == 0xFFFF_FFFF { size = try extra.uint64() }
                    if compressed == 0xFFFF_FFFF { compressed = try extra.uint64() }
                    if offset == 0xFFFF_FFFF { offset = try extra.uint64() }
                }
                extra.position = fieldEnd
            }
            guard flags & 1 == 0 else { throw fail("\(name) is encrypted") }
            guard method == 0 || method == 8 else {
                throw fail("\(name) uses compression method \(method); only stored (0) and deflate (8) are supported")
            }
            let compressedSize = try reader.offset(compressed, "\(name)'s compressed size")
            guard method == 8 ? size <= UInt64(compressedSize * Self.maximumDeflateRatio + 64) : size == compressed else {
                throw fail(
                    method == 8
                        ? "\(name) declares \(size) bytes, more than \(compressedSize) deflated bytes can hold"
                        : "stored member \(name) declares \(size) bytes but holds \(compressed)")
            }
            let entry = Entry(
                name: name, isDeflated: method == 8, compressedSize: compressedSize, size: Int(size), crc32: crc,
                localHeaderOffset: try reader.offset(offset, "\(name)'s offset"))
            guard index[name] == nil else { throw fail("\(name) is in the archive twice") }
            index[name] = entries.count
            entries.append(entry)
        }
        self.entries = entries
        self.index = index
    }

    /// The entry named `name`, if the archive has one.
    public func entry(named name: String) -> Entry? {
        index[name].map { entries[$0] }
    }

    /// The inflated bytes of `entry`, checked against its size and CRC-32.
    /// - Throws: ``TensorFileError/invalidArchive(_:reason:)`` when the local header or the data lie
    ///   outside the file, the data do not inflate to the declared size, or the CRC-32 differs.
    public func contents(of entry: Entry) throws -> [UInt8] {
        func fail(_ reason: String) -> TensorFileError { .invalidArchive(url, reason: "\(entry.name): \(reason)") }
        var reader = ByteReader(bytes, url: url)
        reader.position = entry.localHeaderOffset
        guard try reader.uint32() == 0x0403_4B50 else { throw fail("no local header at offset \(entry.localHeaderOffset)") }
        reader.position += 22
        let nameLength = Int(try reader.uint16()), extraLength = Int(try reader.uint16())
        reader.position += nameLength + extraLength
        let start = reader.position
        guard start <= bytes.count, entry.compressedSize <= bytes.count - start else {
            throw fail("its \(entry.compressedSize) bytes at \(start) run past the end of the \(bytes.count)-byte file")
        }
        let data: [UInt8]
        if entry.isDeflated {
            data = try Self.inflate(bytes[start..<(start + entry.compressedSize)], size: entry.size) { fail($0) }
        } else {
            data = Array(bytes[start..<(start + entry.size)])
        }
        let crc = data.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
        guard data.count <= UInt32.max, crc == entry.crc32 else {
            throw fail(String(format: "CRC-32 %08x, the directory says %08x: the archive is corrupt", crc, entry.crc32))
        }
        return data
    }

    /// The inflated bytes of the member named `name`.
    /// - Throws: ``TensorFileError/missingTensor(_:tensor:available:)`` (naming the member) when there
    ///   is none, or as ``contents(of:)``.
    public func contents(named name: String) throws -> [UInt8] {
        guard let entry = entry(named: name) else {
            throw TensorFileError.missingTensor(url, tensor: name, available: entries.map(\.name))
        }
        return try contents(of: entry)
    }

    /// Raw deflate (RFC 1951) of `compressed` into exactly `size` bytes.
    static func inflate(_ compressed: ArraySlice<UInt8>, size: Int, _ fail: (String) -> TensorFileError) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: size + 1)  // one spare byte tells "too long" from "exactly right"
        var input = Array(compressed)
        let (status, produced): (Int32, Int) = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = destination.baseAddress
                stream.avail_out = UInt32(destination.count)
                let status = CZlib.inflate(&stream, Z_FINISH)
                return (status, destination.count - Int(stream.avail_out))
            }
        }
        guard status == Z_STREAM_END, produced == size else {
            throw fail(
                status == Z_STREAM_END
                    ? "inflates to \(produced) bytes, the directory says \(size)"
                    : "the deflate stream is corrupt or truncated (zlib status \(status))")
        }
        output.removeLast()
        return output
    }

    /// A zip archive of `members` in the given order, each stored (method 0) with its CRC-32 — what
    /// `numpy.savez` writes, readable by `numpy.load`, `zipfile` and `unzip`. Names are UTF-8.
    ///
    /// Member sizes must fit zip's 32-bit fields (under 4 GiB each and in all; a precondition).
    public static func storedArchive(_ members: [(name: String, bytes: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        var directory: [UInt8] = []
        func append16(_ v: Int, _ to: inout [UInt8]) { to += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func append32(_ v: UInt32, _ to: inout [UInt8]) { for i in 0..<4 { to.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        for (name, bytes) in members {
            let nameBytes = Array(name.utf8)
            precondition(
                bytes.count < 0xFFFF_FFFF && out.count < 0xFFFF_FFFF && nameBytes.count <= 0xFFFF,
                "ZipArchive.storedArchive: \(name) is too large for a zip archive without zip64")
            let crc = bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
            let offset = UInt32(out.count)
            // Local header: signature, version 2.0, flags (bit 11: UTF-8 names), stored, time and date (1980-01-01 00:00).
            append32(0x0403_4B50, &out); append16(20, &out); append16(0x0800, &out); append16(0, &out)
            append16(0, &out); append16(0x21, &out)
            append32(crc, &out); append32(UInt32(bytes.count), &out); append32(UInt32(bytes.count), &out)
            append16(nameBytes.count, &out); append16(0, &out)
            out += nameBytes
            out += bytes
            append32(0x0201_4B50, &directory); append16(20, &directory); append16(20, &directory); append16(0x0800, &directory)
            append16(0, &directory); append16(0, &directory); append16(0x21, &directory)
            append32(crc, &directory); append32(UInt32(bytes.count), &directory); append32(UInt32(bytes.count), &directory)
            append16(nameBytes.count, &directory); append16(0, &directory); append16(0, &directory)
            append16(0, &directory); append16(0, &directory); append32(0o100644 << 16, &directory)
            append32(offset, &directory)
            directory += nameBytes
        }
        precondition(
            out.count < 0xFFFF_FFFF && members.count < 0xFFFF, "ZipArchive.storedArchive: too large for a zip archive without zip64")
        let directoryOffset = UInt32(out.count)
        out += directory
        append32(0x0605_4B50, &out); append16(0, &out); append16(0, &out)
        append16(members.count, &out); append16(members.count, &out)
        append32(UInt32(directory.count), &out); append32(directoryOffset, &out); append16(0, &out)
        return out
    }
}

/// Little-endian reads from a byte array with every read bounds-checked (errors name the file).
struct ByteReader {
    let bytes: [UInt8]
    let url: URL
    var position = 0

    init(_ bytes: [UInt8], url: URL) {
        self.bytes = bytes
        self.url = url
    }

    var count: Int { bytes.count }
    var remaining: Int { max(0, bytes.count - position) }

    private func need(_ n: Int) throws {
        guard n >= 0, position >= 0, position <= bytes.count, n <= bytes.count - position else {
            throw TensorFileError.invalidArchive(
                url, reason: "a record at byte \(position) runs past the end of the \(bytes.count)-byte file")
        }
    }

    mutating func uint16() throws -> UInt16 {
        try need(2)
        defer { position += 2 }
        return UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8
    }

    mutating func uint32() throws -> UInt32 {
        try need(4)
        defer { position += 4 }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[position + $1]) << (8 * UInt32($1)) }
    }

    mutating func uint64() throws -> UInt64 {
        try need(8)
        defer { position += 8 }
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[position + $1]) << (8 * UInt64($1)) }
    }

    mutating func bytes(_ n: Int) throws -> [UInt8] {
        try need(n)
        defer { position += n }
        return Array(bytes[position..<(position + n)])
    }

    /// `value` as an offset or size, which must not exceed the file's length.
    func offset(_ value: UInt64, _ what: String) throws -> Int {
        guard value <= UInt64(bytes.count) else {
            throw TensorFileError.invalidArchive(url, reason: "\(what) \(value) is beyond the \(bytes.count)-byte file")
        }
        return Int(value)
    }
}
