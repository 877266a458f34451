// A strict JSON reader for file headers (RFC 8259): exact integers, duplicate keys refused, nesting bounded.
import Foundation

/// A JSON value as read from a file header.
///
/// Unlike `JSONSerialization`, which keeps one of two equal keys silently and turns every number
/// into a `Double`-backed `NSNumber`, this keeps the keys in file order, refuses a key that
/// appears twice in one object, and keeps integers exact (`.integer` when the literal has no
/// fraction or exponent and fits in `Int`; every other number is `.number`).
indirect enum HeaderJSON {
    case object([(key: String, value: HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null

    /// Why a header does not parse.
    enum ParseError: Error, Equatable {
        /// Not JSON: what was wrong at byte `offset` of the header.
        case syntax(offset: Int, reason: String)
        /// `key` appears twice in the object at `path` (empty for the top level).
        case duplicateKey(path: [String], key: String)
    }

    /// Objects and arrays nested deeper than this are refused (a header needs three levels).
    static let maximumDepth = 64

    /// The value that `bytes` (UTF-8) hold, with nothing but whitespace around it.
    static func parse(_ bytes: [UInt8]) throws(ParseError) -> HeaderJSON {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(path: [])
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("text after the JSON value") }
        return value
    }

    /// The object's entries, or nil.
    var objectEntries: [(key: String, value: HeaderJSON)]? {
        if case let .object(entries) = self { return entries }
        return nil
    }

    /// The value of `key` in an object, or nil.
    subscript(key: String) -> HeaderJSON? {
        objectEntries?.first { $0.key == key }?.value
    }

    /// The string, or nil.
    var stringValue: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    /// The list of integers, or nil when this is not an array of exact integers.
    var integers: [Int]? {
        guard case let .array(items) = self else { return nil }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case let .integer(n) = item else { return nil }
            out.append(n)
        }
        return out
    }
}

/// A recursive-descent reader over the header's bytes.
private struct Parser {
    let bytes: [UInt8]
    var position = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ reason: String) -> HeaderJSON.ParseError { .syntax(offset: position, reason: reason) }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    mutating func expect(_ literal: String) throws(HeaderJSON.ParseError) {
        for byte in literal.utf8 {
            guard current == byte else { throw error("expected \"\(literal)\"") }
            position += 1
        }
    }

    mutating func value(path: [String]) throws(HeaderJSON.ParseError) -> HeaderJSON {
        guard let byte = current else { throw error("the header ends where a value should be") }
        switch byte {
        case UInt8(ascii: "{"): return try object(path: path)
        case UInt8(ascii: "["): return try array(path: path)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character \(Self.describe(byte))")
        }
    }

    mutating func enter() throws(HeaderJSON.ParseError) {
        depth += 1
        guard depth <= HeaderJSON.maximumDepth else { throw error("nested deeper than \(HeaderJSON.maximumDepth) levels") }
    }

    mutating func object(path: [String]) throws(HeaderJSON.ParseError) -> HeaderJSON {
        try enter()
        defer { depth -= 1 }
        position += 1
        var entries: [(key: String, value: HeaderJSON)] = []
        var keys = Set<String>()
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(entries) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
            let key = try string()
            guard keys.insert(key).inserted else { throw .duplicateKey(path: path, key: key) }
            skipWhitespace()
            try expect(":")
            skipWhitespace()
            entries.append((key, try value(path: path + [key])))
            skipWhitespace()
            if current == UInt8(ascii: ",") { position += 1; continue }
            try expect("}")
            return .object(entries)
        }
    }

    mutating func array(path: [String]) throws(HeaderJSON.ParseError) -> HeaderJSON {
        try enter()
        defer { depth -= 1 }
        position += 1
        var items: [HeaderJSON] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try value(path: path + ["\(items.count)"]))
            skipWhitespace()
            if current == UInt8(ascii: ",") { position += 1; continue }
            try expect("]")
            return .array(items)
        }
    }

    /// A string literal; the bytes are already known to be UTF-8.
    mutating func string() throws(HeaderJSON.ParseError) -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var start = position
        func flush(_ end: Int) { scalars.append(contentsOf: String(decoding: bytes[start..<end], as: UTF8.self).unicodeScalars) }
        while true {
            guard let byte = current else { throw error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                flush(position)
                position += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                flush(position)
                position += 1
                scalars.append(try escape())
                start = position
            case 0..<0x20:
                throw error("control character \(Self.describe(byte)) inside a string")
            default:
                position += 1
            }
        }
    }

    /// The character after a backslash (the backslash already consumed).
    mutating func escape() throws(HeaderJSON.ParseError) -> Unicode.Scalar {
        guard let byte = current else { throw error("unterminated escape") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try hex4()
            if (0xD800..<0xDC00).contains(high) {
                try expect("\\u")
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw error("a high surrogate \\u\(String(high, radix: 16)) without its low half")
                }
                return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
            }
            guard let scalar = Unicode.Scalar(high) else { throw error("a lone low surrogate \\u\(String(high, radix: 16))") }
            return scalar
        default:
            throw error("unknown escape \\\(Self.describe(byte))")
        }
    }

    mutating func hex4() throws(HeaderJSON.ParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current, let digit = Self.hexDigit(byte) else { throw error("\\u needs four hexadecimal digits") }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// A number literal: `.integer` when it has no fraction or exponent and fits in `Int`.
    mutating func number() throws(HeaderJSON.ParseError) -> HeaderJSON {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, Self.isDigit(first) else { throw error("a number needs digits") }
        position += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard let byte = current, Self.isDigit(byte) else { throw error("a decimal point needs digits after it") }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let byte = current, Self.isDigit(byte) else { throw error("an exponent needs digits") }
            skipDigits()
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let n = Int(text) { return .integer(n) }
        return .number(Double(text) ?? .nan)
    }

    mutating func skipDigits() {
        while let byte = current, Self.isDigit(byte) { position += 1 }
    }

    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    static func describe(_ byte: UInt8) -> String {
        (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16, uppercase: true)
    }
}
