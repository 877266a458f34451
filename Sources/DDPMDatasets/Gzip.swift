// Whole-file reading through zlib's gz* API (gzip or raw, detected by zlib) and in-memory gzip compression.
import CZlib
import Foundation

/// Reading and writing files that may be gzip-compressed.
public enum Gzip {
    /// A file read incrementally, decompressed if it is gzip (zlib's `gzread` reads uncompressed
    /// files unchanged, so raw and `.gz` files need no separate code). Only what is asked for is
    /// decompressed, so a reader that knows from a header how much it needs never inflates more.
    public final class Reader {
        /// The file being read.
        public let url: URL
        /// Decompressed bytes handed out so far.
        public private(set) var bytesRead = 0
        private let file: gzFile

        /// Opens the file at `url`.
        /// - Throws: `DatasetError.missingFile` (with `hint`), or `.unreadable` when it cannot be opened.
        public init(_ url: URL, hint: String) throws {
            guard FileManager.default.fileExists(atPath: url.path) else { throw DatasetError.missingFile(url, hint: hint) }
            guard let file = gzopen(url.path, "rb") else {
                throw DatasetError.unreadable(url, reason: String(cString: strerror(errno)))
            }
            self.url = url
            self.file = file
        }

        deinit { gzclose(file) }

        /// The next `count` bytes, or fewer at the end of the file. Memory grows with the bytes
        /// actually read (1 MiB at a time), never with `count` alone.
        /// - Throws: `DatasetError.unreadable` for I/O errors and corrupt or truncated gzip streams.
        public func read(upTo count: Int) throws -> [UInt8] {
            precondition(count >= 0, "Gzip.Reader.read: count \(count) is negative")
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: min(count, 1 << 20))
            while bytes.count < count {
                let wanted = min(count - bytes.count, chunk.count)
                let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32(wanted)) }
                if n <= 0 { break }
                bytes.append(contentsOf: chunk[0..<Int(n)])
            }
            var code: Int32 = 0
            let message = String(cString: gzerror(file, &code))
            if code != Z_OK && code != Z_STREAM_END {
                throw DatasetError.unreadable(url, reason: "gzip: \(message)")
            }
            bytesRead += bytes.count
            return bytes
        }
    }

    /// All bytes of the file at `url`, decompressed if it is gzip.
    /// - Throws: `DatasetError.missingFile` (with `hint`), or `.unreadable` for I/O errors and
    ///   corrupt or truncated gzip streams.
    public static func readAll(_ url: URL, hint: String) throws -> [UInt8] {
        let reader = try Reader(url, hint: hint)
        var bytes: [UInt8] = []
        while true {
            let chunk = try reader.read(upTo: 1 << 20)
            if chunk.isEmpty { return bytes }
            bytes += chunk
        }
    }

    /// The gzip encoding of `bytes` (deflate with a gzip wrapper: zlib window bits 15 + 16).
    public static func compress(_ bytes: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION) -> [UInt8] {
        var stream = z_stream()
        let status = deflateInit2_(
            &stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
            zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "Gzip.compress: deflateInit2 failed (\(status))")
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 32)
        var input = bytes
        let produced: Int = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = destination.baseAddress
                stream.avail_out = UInt32(destination.count)
                let result = deflate(&stream, Z_FINISH)
                precondition(result == Z_STREAM_END, "Gzip.compress: deflate returned \(result)")
                return Int(stream.total_out)
            }
        }
        return Array(output.prefix(produced))
    }
}
