// safetensors files (Hugging Face format): u64 header length, JSON header, raw little-endian tensor data.
import Foundation
import Tensors

/// A safetensors file, read into memory and validated.
///
/// Layout: 8 bytes little-endian header length N; N bytes of JSON mapping each tensor name to
/// `{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}` (offsets relative to the
/// data section), plus an optional `"__metadata__"` string map; then the data section, each
/// tensor row-major little-endian. Reads F32 and F64 as such, F16 and BF16 converted to Float32.
/// Writes F32 and F64, tensors sorted by name and laid out in that order, the header padded with
/// spaces to a multiple of 8 bytes (so the data section is 8-byte aligned), atomically.
public struct SafeTensorsFile {
    /// Element types of the format that this reader understands.
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
        public var dtype: DType
        public var shape: [Int]
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

    /// Parses safetensors bytes; `url` names the source in errors.
    public init(bytes: [UInt8], url: URL) throws {
        self.url = url
        self.bytes = bytes
        guard bytes.count >= 8 else { throw TensorFileError.fileTooShort(url, size: bytes.count, needed: 8, what: "the safetensors header length") }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(bytes.count - 8) else { throw TensorFileError.headerPastEnd(url, headerLength: length, fileSize: bytes.count) }
        dataStart = 8 + Int(length)
        let dataSize = bytes.count - dataStart
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart]), options: [])
        } catch {
            throw TensorFileError.invalidJSON(url, reason: "JSON does not parse (\(error.localizedDescription))")
        }
        guard let header = object as? [String: Any] else { throw TensorFileError.invalidJSON(url, reason: "the header is not a JSON object") }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw TensorFileError.invalidJSON(url, reason: "__metadata__ is not an object") }
                for (key, item) in map {
                    guard let text = item as? String else { throw TensorFileError.invalidJSON(url, reason: "__metadata__[\"\(key)\"] is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let fields = value as? [String: Any] else { throw TensorFileError.malformedEntry(url, tensor: name, reason: "entry is not a JSON object") }
            guard let dtypeName = fields["dtype"] as? String else { throw TensorFileError.malformedEntry(url, tensor: name, reason: "no \"dtype\" string") }
            guard let dtype = DType(rawValue: dtypeName) else { throw TensorFileError.unknownDtype(url, tensor: name, dtype: dtypeName) }
            guard let shape = Self.integers(fields["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw TensorFileError.malformedEntry(url, tensor: name, reason: "\"shape\" is not a list of non-negative integers")
            }
            guard let offsets = Self.integers(fields["data_offsets"]), offsets.count == 2 else {
                throw TensorFileError.malformedEntry(url, tensor: name, reason: "\"data_offsets\" is not a list of two integers")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw TensorFileError.offsetsOutOfRange(url, tensor: name, begin: begin, end: end, dataSize: dataSize)
            }
            let expected = shape.reduce(1, *) * dtype.byteSize
            guard end - begin == expected else {
                throw TensorFileError.sizeMismatch(url, tensor: name, shape: shape, dtype: dtypeName, expectedBytes: expected, foundBytes: end - begin)
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: begin..<end)
        }
        self.metadata = metadata
        self.entries = entries
    }

    /// The tensor called `name`: F32 → `.float32`, F64 → `.float64`, F16 and BF16 → `.float32`.
    /// - Parameter expectedShape: when given, a different shape throws `.shapeMismatch`.
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
                return Tensor((0..<count).map { Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }, shape: entry.shape)
            case .F64:
                return Tensor((0..<count).map { Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }, shape: entry.shape)
            case .F16:
                return Tensor((0..<count).map { Self.halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }, shape: entry.shape)
            case .BF16:
                return Tensor((0..<count).map { Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16) }, shape: entry.shape)
            }
        }
    }

    /// Every tensor, by name.
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

    static func integers(_ value: Any?) -> [Int]? {
        guard let list = value as? [Any] else { return nil }
        var out: [Int] = []
        for item in list {
            if let n = item as? Int { out.append(n) } else if let n = item as? NSNumber, n.doubleValue == n.doubleValue.rounded() { out.append(n.intValue) } else { return nil }
        }
        return out
    }
}

// MARK: - Writing

extension SafeTensorsFile {
    /// The safetensors encoding of `tensors` (F32 or F64 each, by the tensor's dtype), sorted by
    /// name, header padded with spaces to a multiple of 8 bytes.
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
            fields.append("\(jsonString(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}")
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

    /// Writes `tensors` (and `metadata`) to `url` atomically.
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
