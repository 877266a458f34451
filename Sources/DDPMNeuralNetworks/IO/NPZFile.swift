// NPZ files (numpy.savez, numpy.savez_compressed): a zip archive of NPY files, one per named array.
import Foundation

/// Reads and writes NPZ files: a zip archive whose members `NAME.npy` are NPY files
/// (``NPYFile``), as `numpy.savez` (stored) and `numpy.savez_compressed` (deflate) write them and
/// `numpy.load` reads them. pytorch-fid's statistics files (`mu`, `sigma`) and improved-diffusion's
/// sample files (`arr_0`) are NPZ files.
public enum NPZFile {
    /// Reads the NPZ file at `url`: its arrays by name (the member names without `.npy`), in the
    /// archive's order.
    /// - Throws: ``TensorFileError`` naming the file: any error of reading the archive
    ///   (``ZipArchive``) or of decoding a member (``NPYFile/decode(_:url:)``, naming `FILE/MEMBER`).
    public static func read(_ url: URL) throws -> [(name: String, array: NPYArray)] {
        try decode(TensorFileIO.readBytes(url), url: url)
    }

    /// Parses NPZ bytes; `url` names the source in errors. Members whose names do not end in
    /// `.npy` are skipped (numpy ignores them too).
    /// - Throws: as ``read(_:)``.
    public static func decode(_ bytes: [UInt8], url: URL) throws -> [(name: String, array: NPYArray)] {
        let archive = try ZipArchive(bytes: bytes, url: url)
        return try archive.entries.filter { $0.name.hasSuffix(".npy") }.map { entry in
            let array = try NPYFile.decode(archive.contents(of: entry), url: url.appendingPathComponent(entry.name))
            return (String(entry.name.dropLast(4)), array)
        }
    }

    /// The NPZ encoding of `arrays` as `numpy.savez` writes it: each array an NPY member
    /// `NAME.npy` (version 1.0 header), stored uncompressed, in the given order.
    public static func encode(_ arrays: [(name: String, array: NPYArray)]) -> [UInt8] {
        ZipArchive.storedArchive(arrays.map { ($0.name + ".npy", NPYFile.encode($0.array)) })
    }

    /// Writes `arrays` to `url` atomically (see ``encode(_:)``), so a reader sees the old file or
    /// the whole new one.
    /// - Throws: ``TensorFileError/cannotWrite(_:reason:)`` naming the file and the failing system call.
    public static func write(_ arrays: [(name: String, array: NPYArray)], to url: URL) throws {
        try TensorFileIO.atomicWrite(encode(arrays), to: url)
    }
}
