// safetensors files (Hugging Face format): u64 header length, JSON header, raw little-endian tensor data.
import Foundation
import DDPMTensors

/// A safetensors file, read into memory and validated.
///
/// Layout: 8 bytes little-endian header length N; N bytes of JSON mapping each tensor name to
/// `{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}` (offsets relative to the
/// data section), plus an optional `"__metadata__"` string map; then the data section, each
/// tensor row-major little-endian. Reads F32 and F64 as such, F16 and BF16 converted to Float32.
/// Writes F32 and F64, tensors sorted by name and laid out in that order, the header padded with
/// spaces to a multiple of 8 bytes (so the data section is 8-byte aligned), atomically.
public struct SafeTensorsFile {
    /// Element types of the format that this reader understands, by their names in the header.
    ///
    /// `F32` and `F64` are read and written as they are; `F16` (IEEE half) and `BF16` (bfloat16),
    /// as diffusers uploads often store weights, are read and converted exactly to Float32.
    public enum DType: String, Sendable, CaseIterable {
        case F32, F64, F16, BF16

        /// Bytes per element.
        public var byteSize: Int {
            switch self {
            case .F32: 4
            case .F64: 8
            case .F16, .BF16: 2
            }
        }
    }

    /// One tensor's header entry; `range` is relative to the data section.
    public struct Entry: Equatable, Sendable {
        /// The element type as stored.
        public var dtype: DType
        /// The extents (`[]` for a scalar).
        public var shape: [Int]
        /// The tensor's bytes, `data_offsets` [begin, end) relative to the start of the data
        /// section; end − begin is exactly shape × dtype size (checked when the file is read).
        public var range: Range<Int>
    }

    /// The file this was read from.
    public let url: URL
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// Entries by tensor name.
    public let entries: [String: Entry]
    private let bytes: [UInt8]
    private let dataStart: Int

    /// Tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Reads and validates the file at `url`: every entry's dtype, shape and offsets are checked
    /// here, so `tensor(named:)` can only fail for a missing name or an unexpected shape.
    /// - Throws: `TensorFileError` naming the file and the offending tensor.
    public init(contentsOf url: URL) throws {
        try self.init(bytes: TensorFileIO.readBytes(url), url: url)
    }

    /// The largest header read, in bytes (safetensors' own reader refuses more than 100 MB).
    public static let maximumHeaderLength = 100_000_000

    /// Parses safetensors bytes; `url` names the source in errors.
    ///
    /// Every size is checked against the bytes at hand before anything is allocated: the header
    /// length against the file and `maximumHeaderLength`; each entry's shape × dtype size, with
    /// overflow-checked arithmetic, against its `data_offsets`; and the entries, sorted by
    /// offset, must tile the data section exactly — no overlap, no gap, nothing after the last.
    /// The header must be UTF-8 JSON in which no key appears twice.
    public init(bytes: [UInt8], url: URL) throws {
        self.url = url
        self.bytes = bytes
        guard bytes.count >= 8 else {
            throw TensorFileError.fileTooShort(url, size: bytes.count, needed: 8, what: "the safetensors header length")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(Self.maximumHeaderLength) else {
            throw TensorFileError.headerTooLarge(url, headerLength: length, limit: Self.maximumHeaderLength)
        }
        guard length <= UInt64(bytes.count - 8) else {
            throw TensorFileError.headerPastEnd(url, headerLength: length, fileSize: bytes.count)
        }
        dataStart = 8 + Int(length)
        let dataSize = bytes.count - dataStart
        let header = try Self.parseHeader(Array(bytes[8..<dataStart]), url: url)
        guard let fields = header.objectEntries else { throw TensorFileError.invalidJSON(url, reason: "the header is not a JSON object") }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in fields {
            if name == "__metadata__" {
                metadata = try Self.metadata(value, url: url)
            } else {
                entries[name] = try Self.entry(name, value, dataSize: dataSize, url: url)
            }
        }
        try Self.checkLayout(entries, dataSize: dataSize, url: url)
        self.metadata = metadata
        self.entries = entries
    }

    /// The header's JSON value: UTF-8, no key twice.
    static func parseHeader(_ header: [UInt8], url: URL) throws -> HeaderJSON {
        guard String(validating: header, as: UTF8.self) != nil else {
            throw TensorFileError.invalidJSON(url, reason: "the header is not UTF-8 text; the file is corrupt or not safetensors")
        }
        do {
            return try HeaderJSON.parse(header)
        } catch let .syntax(offset, reason) {
            throw TensorFileError.invalidJSON(url, reason: "JSON does not parse at byte \(offset) of the header (\(reason))")
        } catch let .duplicateKey(path, key) {
            if path.isEmpty { throw TensorFileError.duplicateTensor(url, tensor: key) }
            throw TensorFileError.invalidJSON(url, reason: "key \"\(key)\" appears twice in \"\(path.joined(separator: "."))\"")
        }
    }

    /// The `__metadata__` map: strings only.
    static func metadata(_ value: HeaderJSON, url: URL) throws -> [String: String] {
        guard let map = value.objectEntries else { throw TensorFileError.invalidJSON(url, reason: "__metadata__ is not an object") }
        var out: [String: String] = [:]
        for (key, item) in map {
            guard let text = item.stringValue else {
                throw TensorFileError.invalidJSON(url, reason: "__metadata__[\"\(key)\"] is not a string")
            }
            out[key] = text
        }
        return out
    }

    /// One tensor's entry, its byte count checked against its offsets and the data section.
    static func entry(_ name: String, _ value: HeaderJSON, dataSize: Int, url: URL) throws -> Entry {
        guard value.objectEntries != nil else {
            throw TensorFileError.malformedEntry(url, tensor: name, reason: "entry is not a JSON object")
        }
        guard let dtypeName = value["dtype"]?.stringValue else {
            throw TensorFileError.malformedEntry(url, tensor: name, reason: "no \"dtype\" string")
        }
        guard let dtype = DType(rawValue: dtypeName) else { throw TensorFileError.unknownDtype(url, tensor: name, dtype: dtypeName) }
        guard let shape = value["shape"]?.integers, shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorFileError.malformedEntry(url, tensor: name, reason: "\"shape\" is not a list of non-negative integers")
        }
        guard let offsets = value["data_offsets"]?.integers, offsets.count == 2 else {
            throw TensorFileError.malformedEntry(url, tensor: name, reason: "\"data_offsets\" is not a list of two integers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw TensorFileError.offsetsOutOfRange(url, tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        guard let expected = byteCount(shape: shape, elementSize: dtype.byteSize) else {
            throw TensorFileError.shapeTooLarge(url, tensor: name, shape: shape, dataSize: dataSize)
        }
        guard end - begin == expected else {
            throw TensorFileError.sizeMismatch(
                url, tensor: name, shape: shape, dtype: dtypeName, expectedBytes: expected, foundBytes: end - begin)
        }
        return Entry(dtype: dtype, shape: shape, range: begin..<end)
    }

    /// The entries, sorted by offset, must follow one another from byte 0 to the end of the data
    /// section (the layout every safetensors writer produces).
    static func checkLayout(_ entries: [String: Entry], dataSize: Int, url: URL) throws {
        let sorted = entries.sorted {
            ($0.value.range.lowerBound, $0.value.range.upperBound, $0.key) < ($1.value.range.lowerBound, $1.value.range.upperBound, $1.key)
        }
        var end = 0
        var previous: String?
        for (name, entry) in sorted {
            if entry.range.lowerBound < end, let previous {
                throw TensorFileError.offsetsOverlap(url, tensor: name, begin: entry.range.lowerBound, previous: previous, previousEnd: end)
            }
            if entry.range.lowerBound > end {
                throw TensorFileError.offsetsGap(url, tensor: name, begin: entry.range.lowerBound, previousEnd: end)
            }
            end = entry.range.upperBound
            previous = name
        }
        guard end == dataSize else { throw TensorFileError.dataSizeMismatch(url, tensorsEnd: end, dataSize: dataSize) }
    }

    /// shape × element size in bytes, or nil when that exceeds `Int.max` — checked over the
    /// non-zero extents, so that no later product of the extents can overflow either.
    static func byteCount(shape: [Int], elementSize: Int) -> Int? {
        var product = elementSize
        var isEmpty = false
        for extent in shape {
            if extent == 0 { isEmpty = true; continue }
            let (next, overflow) = product.multipliedReportingOverflow(by: extent)
            if overflow { return nil }
            product = next
        }
        return isEmpty ? 0 : product
    }

    /// The tensor called `name`: F32 → `.float32`, F64 → `.float64`, F16 and BF16 → `.float32`.
    /// - Parameters:
    ///   - name: the tensor's name in the header.
    ///   - expectedShape: when given, a different shape throws `.shapeMismatch`.
    /// - Throws: `TensorFileError.missingTensor` (listing the names the file has) or
    ///   `.shapeMismatch`; nothing else, since the entries were validated when the file was read.
    public func tensor(named name: String, expectedShape: [Int]? = nil) throws -> Tensor {
        guard let entry = entries[name] else { throw TensorFileError.missingTensor(url, tensor: name, available: names) }
        if let expectedShape, expectedShape != entry.shape {
            throw TensorFileError.shapeMismatch(url, tensor: name, expected: expectedShape, found: entry.shape)
        }
        let start = dataStart + entry.range.lowerBound
        let count = entry.shape.reduce(1, *)
        return bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + start
            switch entry.dtype {
            case .F32:
                return Tensor(
                    (0..<count).map {
                        Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
                    }, shape: entry.shape)
            case .F64:
                return Tensor(
                    (0..<count).map {
                        Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))
                    }, shape: entry.shape)
            case .F16:
                return Tensor(
                    (0..<count).map { Self.halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) },
                    shape: entry.shape)
            case .BF16:
                return Tensor(
                    (0..<count).map {
                        Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16)
                    }, shape: entry.shape)
            }
        }
    }

    /// Every tensor, by name (the dtype conversions of ``tensor(named:expectedShape:)``).
    public func allTensors() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in names { out[name] = try tensor(named: name) }
        return out
    }

    /// IEEE binary16 to Float32 (exact; subnormals, infinities and NaN included), written out so
    /// that it does not depend on the platform's `Float16` support.
    static func halfToFloat(_ bits: UInt16) -> Float {
        let sign: Float = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int((bits >> 10) & 0x1F), fraction = Float(bits & 0x3FF)
        switch exponent {
        case 0: return sign * fraction * 0x1p-24
        case 31: return fraction == 0 ? sign * .infinity : .nan
        default: return sign * (1 + fraction / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }
}

// MARK: - Writing

extension SafeTensorsFile {
    /// The safetensors encoding of `tensors` (F32 or F64 each, by the tensor's dtype), sorted by
    /// name, header padded with spaces to a multiple of 8 bytes.
    ///
    /// The same tensors and metadata always give the same bytes (names and metadata keys are
    /// sorted), so checkpoints of equal weights are equal files. `__metadata__` is a reserved
    /// name: do not use it for a tensor.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) -> [UInt8] {
        let names = tensors.keys.sorted()
        var fields: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            fields.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for name in names {
            let tensor = tensors[name]!
            let size = tensor.scalarCount * tensor.dtype.byteSize
            let dtype = tensor.dtype == .float32 ? "F32" : "F64"
            fields.append(
                "\(jsonString(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}"
            )
            offset += size
        }
        var header = Array("{\(fields.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        let length = UInt64(header.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))) }
        out += header
        for name in names {
            let tensor = tensors[name]!
            switch tensor.dtype {
            case .float32: tensor.withUnsafeBufferPointer(as: Float.self) { for v in $0 { appendLittleEndian(v.bitPattern, to: &out) } }
            case .float64: tensor.withUnsafeBufferPointer(as: Double.self) { for v in $0 { appendLittleEndian(v.bitPattern, to: &out) } }
            }
        }
        return out
    }

    /// Writes `tensors` (and `metadata`) to `url` atomically: a temporary file in the same folder,
    /// `fsync`, `rename` over `url`, `fsync` of the folder. A reader — or a run resumed after a
    /// crash — sees the old file or the complete new one, never a partial write.
    /// - Throws: `TensorFileError.cannotWrite` naming the file and the failing system call; the
    ///   old file, if any, is left as it was.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try TensorFileIO.atomicWrite(encode(tensors, metadata: metadata), to: url)
    }

    static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        let v = value.littleEndian
        withUnsafeBytes(of: v) { out.append(contentsOf: $0) }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
