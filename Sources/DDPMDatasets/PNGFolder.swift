// A folder of PNG and JPEG images, each centre-cropped to a square and resized to the model's size.
import Foundation
import DDPMImaging

/// Loads every `*.png`, `*.jpg` and `*.jpeg` file in a folder (subfolders included, sorted by
/// relative path, so the order and hence the batches do not depend on the file system).
public enum PNGFolder {
    /// The images, each decoded (`channels` 1 → gray, 3 → RGB; alpha composited on white),
    /// centre-cropped to its largest square and resized to `size × size` with `filter`.
    ///
    /// A folder whose decoded images fit in `memoryBudget` bytes is decoded whole, now; a larger
    /// one becomes an ``ImageFileStore`` that decodes each file when a batch draws it and keeps up
    /// to `memoryBudget` bytes of decoded images (the first file is decoded now, so that a folder
    /// of unreadable files fails here). Both yield the same bytes and batches.
    /// - Throws: `.missingFile` / `.empty` for the folder; `ImagingError` naming a bad PNG or JPEG.
    public static func load(
        directory: URL, size: Int, channels: Int = 3, filter: ResizeFilter = .area, memoryBudget: Int = defaultMemoryBudget
    ) throws -> Dataset {
        precondition(channels == 1 || channels == 3, "PNGFolder.load: channels must be 1 or 3, got \(channels)")
        precondition(size > 0, "PNGFolder.load: size must be positive, got \(size)")
        let files = try imageFiles(in: directory)
        let name = "png \(directory.lastPathComponent)"
        let (decodedBytes, overflow) = files.count.multipliedReportingOverflow(by: channels * size * size)
        let lazy = overflow || decodedBytes > memoryBudget
        // One decoding path for both reads: the store's, uncached when the whole folder is decoded now.
        let store = ImageFileStore(files: files, size: size, channels: channels, filter: filter, cacheBytes: lazy ? memoryBudget : 0)
        if lazy {
            _ = try store.bytes(at: 0)
            return Dataset(name: name + " (decoded as drawn, cache \(memoryBudget >> 20) MiB)", imageFiles: store)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(decodedBytes)
        for index in files.indices { bytes += try store.bytes(at: index) }
        return Dataset(name: name, images: bytes, channels: channels, height: size, width: size)
    }

    /// The decoded bytes a folder may take before it is read as batches draw it: a quarter of the
    /// machine's memory, or `DDPM_IMAGE_MEMORY_MB` mebibytes when that is set.
    public static var defaultMemoryBudget: Int {
        if let text = ProcessInfo.processInfo.environment["DDPM_IMAGE_MEMORY_MB"], let megabytes = Int(text), megabytes >= 0 {
            return megabytes.multipliedReportingOverflow(by: 1 << 20).overflow ? Int.max : megabytes << 20
        }
        return Int(clamping: ProcessInfo.processInfo.physicalMemory / 4)
    }

    /// Centre crop to a square, then resize to `size × size`.
    public static func prepare(_ image: RasterImage, size: Int, filter: ResizeFilter = .area) -> RasterImage {
        image.centerCroppedToSquare().resized(width: size, height: size, filter: filter)
    }

    /// The `.png`, `.jpg` and `.jpeg` files under `directory` (case-insensitive extension, hidden
    /// files excluded), sorted by relative path.
    public static func imageFiles(in directory: URL) throws -> [URL] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw DatasetError.missingFile(directory, hint: DatasetHint.png)
        }
        guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else {
            throw DatasetError.unreadable(directory, reason: "cannot list the folder")
        }
        var paths: [String] = []
        while let path = enumerator.nextObject() as? String {
            if ImageFile.isImage(path) { paths.append(path) }
        }
        guard !paths.isEmpty else { throw DatasetError.empty(directory, what: "*.png, *.jpg or *.jpeg files") }
        return paths.sorted().map { directory.appendingPathComponent($0) }
    }
}
