// A folder of PNG and JPEG images, each centre-cropped to a square and resized to the model's size.
import Foundation
import DDPMImaging

/// Loads every `*.png`, `*.jpg` and `*.jpeg` file in a folder (subfolders included, sorted by
/// relative path, so the order and hence the batches do not depend on the file system).
public enum PNGFolder {
    /// The images, each decoded (`channels` 1 → gray, 3 → RGB; alpha composited on white),
    /// centre-cropped to its largest square and resized to `size × size` with `filter`.
    /// - Throws: `.missingFile` / `.empty` for the folder; `ImagingError` naming a bad PNG or JPEG.
    public static func load(directory: URL, size: Int, channels: Int = 3, filter: ResizeFilter = .area) throws -> Dataset {
        precondition(channels == 1 || channels == 3, "PNGFolder.load: channels must be 1 or 3, got \(channels)")
        precondition(size > 0, "PNGFolder.load: size must be positive, got \(size)")
        let files = try imageFiles(in: directory)
        let images = try files.map { url in
            try prepare(ImageFile.read(from: url, format: channels == 1 ? .gray : .rgb), size: size, filter: filter)
        }
        return Dataset(name: "png \(directory.lastPathComponent)", rasterImages: images)
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
