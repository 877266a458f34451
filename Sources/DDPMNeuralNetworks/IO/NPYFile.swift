// NPY files (NumPy format versions 1.0 and 2.0; 3.0 read): magic, header dict, raw C-order data.
import Foundation
import DDPMTensors

/// An array read from or written to an NPY file: a shape and little-endian elements of one of
/// the supported dtypes.
public struct NPYArray: Equatable, Sendable {
    /// The elements, row-major (C order), in one of the four supported dtypes.
    public enum Elements: Equatable, Sendable {
        /// Little-endian binary32, NumPy `'<f4'` (`float32`).
        case float32([Float])  // '<f4'
        /// Little-endian binary64, NumPy `'<f8'` (`float64`).
        case float64([Double])  // '<f8'
        /// Bytes, NumPy `'|u1'` (`uint8`): images in 0…255, as `ddpm sample` writes them.
        case uint8([UInt8])  // '|u1'
        /// Little-endian 64-bit integers, NumPy `'<i8'` (`int64`): labels, say.
        case int64([Int64])  // '<i8'

        var count: Int {
            switch self {
            case let .float32(v): v.count
            case let .float64(v): v.count
            case let .uint8(v): v.count
            case let .int64(v): v.count
            }
        }

        /// The NumPy type string written to the header's `descr`: `<f4`, `<f8`, `|u1` or `<i8`.
        public var descr: String {
            switch self {
            case .float32: "<f4"
            case .float64: "<f8"
            case .uint8: "|u1"
            case .int64: "<i8"
            }
        }
    }

    /// The array's extents (`[]` for a scalar); the elements fill it exactly.
    public var shape: [Int]
    /// The elements, row-major.
    public var elements: Elements

    /// An array; `elements` must fill `shape` (`[]` is a scalar with one element).
    public init(shape: [Int], elements: Elements) {
        precondition(shape.reduce(1, *) == elements.count, "NPYArray: \(elements.count) elements do not fill shape \(shape)")
        self.shape = shape
        self.elements = elements
    }

    /// The values of a tensor (`<f4` for float32, `<f8` for float64).
    public init(_ tensor: Tensor) {
        switch tensor.dtype {
        case .float32: self.init(shape: tensor.shape, elements: .float32(tensor.scalars(as: Float.self)))
        case .float64: self.init(shape: tensor.shape, elements: .float64(tensor.scalars(as: Double.self)))
        }
    }

    /// As a tensor: `<f8` stays float64; `<f4`, `|u1` and `<i8` become float32 (integers converted).
    public func tensor() -> Tensor {
        switch elements {
        case let .float32(v): Tensor(v, shape: shape)
        case let .float64(v): Tensor(v, shape: shape)
        case let .uint8(v): Tensor(v.map { Float($0) }, shape: shape)
        case let .int64(v): Tensor(v.map { Float($0) }, shape: shape)
        }
    }
}

/// Reads and writes NPY files.
///
/// Layout (numpy `lib/format.py`): `\x93NUMPY`, major and minor version bytes, header length
/// (u16 little-endian for 1.0, u32 for 2.0 and 3.0), an ASCII (3.0: UTF-8) Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and ended by
/// `\n` so that the data starts at a multiple of 64 bytes, then the raw elements.
public enum NPYFile {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Reads the NPY file at `url`.
    /// - Throws: `TensorFileError` naming the file: `.notNPY`, `.unsupportedNPYVersion`,
    ///   `.fileTooShort`, `.invalidNPYHeader`, `.unknownDtype`, `.fortranOrder`, `.truncatedData`.
    public static func read(_ url: URL) throws -> NPYArray {
        try decode(TensorFileIO.readBytes(url), url: url)
    }

    /// Writes `array` to `url` atomically: a temporary file in the same folder, `fsync`, then
    /// `rename` over `url`, so a reader sees the old file or the whole new one.
    /// - Parameters:
    ///   - array: the array to write.
    ///   - url: the destination file.
    ///   - version: the format version, 1 or 2; by default as ``encode(_:version:)`` chooses.
    /// - Throws: `TensorFileError.cannotWrite` naming the file and the failing system call.
    public static func write(_ array: NPYArray, to url: URL, version: UInt8? = nil) throws {
        try TensorFileIO.atomicWrite(encode(array, version: version), to: url)
    }

    /// Writes a tensor's shape and values (`<f4` or `<f8`, by its dtype) to `url` atomically.
    /// - Throws: `TensorFileError.cannotWrite` naming the file and the failing system call.
    public static func write(_ tensor: Tensor, to url: URL) throws {
        try write(NPYArray(tensor), to: url)
    }

    /// The NPY encoding of `array`. `version` 1 or 2; by default 1.0 unless the header needs more
    /// than 65,535 bytes (as numpy chooses). The header is padded with spaces so that the data
    /// starts at a multiple of 64 bytes.
    public static func encode(_ array: NPYArray, version: UInt8? = nil) -> [UInt8] {
        let shape = array.shape.count == 1 ? "(\(array.shape[0]),)" : "(\(array.shape.map(String.init).joined(separator: ", ")))"
        let dict = "{'descr': '\(array.elements.descr)', 'fortran_order': False, 'shape': \(shape), }"
        let version = version ?? (dict.utf8.count + 11 < 65_536 ? 1 : 2)
        precondition(version == 1 || version == 2, "NPYFile.encode: version \(version) is not 1 or 2")
        let prefix = 8 + (version == 1 ? 2 : 4)
        var header = Array(dict.utf8)
        let total = prefix + header.count + 1
        header += [UInt8](repeating: 0x20, count: (64 - total % 64) % 64) + [0x0A]
        var out = magic + [version, 0]
        if version == 1 {
            out += [UInt8(header.count & 0xFF), UInt8(header.count >> 8)]
        } else {
            for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: header.count >> (8 * i))) }
        }
        out += header
        func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        switch array.elements {
        case let .float32(v): for x in v { append(x.bitPattern) }
        case let .float64(v): for x in v { append(x.bitPattern) }
        case let .uint8(v): out += v
        case let .int64(v): for x in v { append(x) }
        }
        return out
    }

    /// Parses NPY bytes; `url` names the source in errors. The header length and the shape ×
    /// element size (overflow-checked) are compared with the bytes at hand before anything is
    /// allocated.
    ///
    /// Accepts versions 1.0, 2.0 and 3.0, C order only, and the dtypes `<f4`, `<f8`, `|u1` (also
    /// spelled `<u1`) and `<i8` (also `|i8`); big-endian and structured dtypes are refused. Bytes
    /// after the data are ignored.
    /// - Throws: `TensorFileError` naming the source, as ``read(_:)``.
    public static func decode(_ bytes: [UInt8], url: URL) throws -> NPYArray {
        guard bytes.count >= 6, Array(bytes[0..<6]) == magic else {
            if bytes.count < 6 && bytes == Array(magic.prefix(bytes.count)) {
                throw TensorFileError.fileTooShort(url, size: bytes.count, needed: 10, what: "the NPY preamble")
            }
            throw TensorFileError.notNPY(url)
        }
        guard bytes.count >= 10 else { throw TensorFileError.fileTooShort(url, size: bytes.count, needed: 10, what: "the NPY preamble") }
        let (major, minor) = (bytes[6], bytes[7])
        guard (1...3).contains(major), minor == 0 else { throw TensorFileError.unsupportedNPYVersion(url, major: major, minor: minor) }
        let lengthSize = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthSize else {
            throw TensorFileError.fileTooShort(url, size: bytes.count, needed: 8 + lengthSize, what: "the NPY preamble")
        }
        var length = 0
        for i in 0..<lengthSize { length |= Int(bytes[8 + i]) << (8 * i) }
        let dataStart = 8 + lengthSize + length
        guard bytes.count >= dataStart else {
            throw TensorFileError.fileTooShort(url, size: bytes.count, needed: dataStart, what: "the NPY header of \(length) bytes")
        }
        let header = String(decoding: bytes[(8 + lengthSize)..<dataStart], as: UTF8.self)
        let (descr, fortran, shape) = try parseHeader(header, url: url)
        if fortran { throw TensorFileError.fortranOrder(url) }
        let size: Int
        switch descr {
        case "<f4", "<f8", "|u1", "<u1", "|i8", "<i8": size = descr.hasSuffix("8") ? 8 : descr.hasSuffix("4") ? 4 : 1
        default: throw TensorFileError.unknownDtype(url, tensor: "array", dtype: descr)
        }
        guard let byteCount = SafeTensorsFile.byteCount(shape: shape, elementSize: size) else {
            throw TensorFileError.shapeTooLarge(url, tensor: "array", shape: shape, dataSize: bytes.count - dataStart)
        }
        guard bytes.count - dataStart >= byteCount else {
            throw TensorFileError.truncatedData(url, expectedBytes: byteCount, foundBytes: bytes.count - dataStart)
        }
        let count = byteCount / size
        return bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart
            func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
                T(littleEndian: base.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
            }
            switch descr {
            case "<f4": return NPYArray(shape: shape, elements: .float32((0..<count).map { Float(bitPattern: load($0, UInt32.self)) }))
            case "<f8": return NPYArray(shape: shape, elements: .float64((0..<count).map { Double(bitPattern: load($0, UInt64.self)) }))
            case "<i8", "|i8": return NPYArray(shape: shape, elements: .int64((0..<count).map { load($0, Int64.self) }))
            default: return NPYArray(shape: shape, elements: .uint8(Array(raw[dataStart..<(dataStart + count)])))
            }
        }
    }

    /// The `descr`, `fortran_order` and `shape` of a header dict literal.
    static func parseHeader(_ header: String, url: URL) throws -> (descr: String, fortran: Bool, shape: [Int]) {
        func value(of key: String) throws -> Substring {
            for quote in ["'", "\""] {
                if let range = header.range(of: "\(quote)\(key)\(quote)") {
                    var rest = header[range.upperBound...].drop { $0 == " " }
                    guard rest.first == ":" else { break }
                    rest = rest.dropFirst().drop { $0 == " " }
                    return rest
                }
            }
            throw TensorFileError.invalidNPYHeader(url, reason: "no '\(key)' in \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let descrText = try value(of: "descr")
        guard let quote = descrText.first, quote == "'" || quote == "\"",
            let end = descrText.dropFirst().firstIndex(of: quote)
        else {
            throw TensorFileError.invalidNPYHeader(url, reason: "'descr' is not a quoted type string (structured dtypes are not supported)")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<end])
        let fortranText = try value(of: "fortran_order")
        let fortran: Bool
        if fortranText.hasPrefix("True") {
            fortran = true
        } else if fortranText.hasPrefix("False") {
            fortran = false
        } else {
            throw TensorFileError.invalidNPYHeader(url, reason: "'fortran_order' is neither True nor False")
        }
        let shapeText = try value(of: "shape")
        guard shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
            throw TensorFileError.invalidNPYHeader(url, reason: "'shape' is not a tuple")
        }
        var shape: [Int] = []
        for part in shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let n = Int(trimmed.hasSuffix("L") ? String(trimmed.dropLast()) : trimmed), n >= 0 else {
                throw TensorFileError.invalidNPYHeader(url, reason: "'shape' entry \"\(trimmed)\" is not a non-negative integer")
            }
            shape.append(n)
        }
        return (descr, fortran, shape)
    }
}
