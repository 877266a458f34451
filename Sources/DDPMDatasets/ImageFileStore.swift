// The images of a folder too large to decode whole: each file decoded when a batch asks for it,
// the most recent ones kept in a cache of bounded size.
import Foundation
import DDPMImaging

/// Image files read as they are asked for: file i is decoded, centre-cropped and resized exactly as
/// `PNGFolder.load` does for the whole folder, so a lazily read folder yields the same bytes, and
/// hence the same batches, as an eagerly read one.
///
/// Decoded examples are kept up to `cacheBytes`; beyond that the oldest entry is dropped first
/// (first in, first out: training draws a fresh random permutation every epoch, under which no
/// eviction order does better than keeping any `cacheBytes` worth of examples). Safe to use from
/// several threads.
public final class ImageFileStore: @unchecked Sendable {
    /// The files, in example order.
    public let files: [URL]
    /// Side of the square examples.
    public let size: Int
    /// 1 (gray) or 3 (RGB).
    public let channels: Int
    /// The resize filter.
    public let filter: ResizeFilter
    /// Whether bytes are thresholded at 128 to 0 or 255 (see `Dataset.binarized()`).
    public let binarize: Bool
    /// The most bytes of decoded examples kept.
    public let cacheBytes: Int

    private let lock = NSLock()
    private var cache: [Int: [UInt8]] = [:]
    private var arrivals: [Int] = []
    private var oldest = 0

    /// A store of `files`, each becoming `channels × size × size` bytes (NCHW order within one).
    public init(files: [URL], size: Int, channels: Int, filter: ResizeFilter, binarize: Bool = false, cacheBytes: Int) {
        precondition(channels == 1 || channels == 3, "ImageFileStore: channels must be 1 or 3, got \(channels)")
        precondition(size > 0 && cacheBytes >= 0, "ImageFileStore: size \(size) and cache \(cacheBytes) must be positive")
        self.files = files
        self.size = size
        self.channels = channels
        self.filter = filter
        self.binarize = binarize
        self.cacheBytes = cacheBytes
    }

    /// Bytes of one decoded example.
    public var exampleBytes: Int { channels * size * size }

    /// Example `index` as `channels × size × size` bytes (CHW).
    /// - Throws: `ImagingError` naming the file when it cannot be decoded.
    public func bytes(at index: Int) throws -> [UInt8] {
        precondition(index >= 0 && index < files.count, "ImageFileStore: index \(index) outside 0..<\(files.count)")
        if let hit = lock.withLock({ cache[index] }) { return hit }
        let image = try PNGFolder.prepare(
            ImageFile.read(from: files[index], format: channels == 1 ? .gray : .rgb), size: size, filter: filter)
        var bytes = planarBytes(image)
        if binarize { bytes = bytes.map(Dataset.binaryByte) }
        lock.withLock { remember(bytes, at: index) }
        return bytes
    }

    /// Caches `bytes`, dropping the oldest entries while the cache would exceed `cacheBytes`.
    private func remember(_ bytes: [UInt8], at index: Int) {
        let capacity = cacheBytes / exampleBytes
        guard capacity > 0, cache[index] == nil else { return }
        while cache.count >= capacity, oldest < arrivals.count {
            cache[arrivals[oldest]] = nil
            oldest += 1
        }
        if oldest > capacity {  // Reclaim the consumed head of the queue now and then.
            arrivals.removeFirst(oldest)
            oldest = 0
        }
        cache[index] = bytes
        arrivals.append(index)
    }

    /// The same files with bytes thresholded to 0 and 255.
    public func binarized() -> ImageFileStore {
        ImageFileStore(files: files, size: size, channels: channels, filter: filter, binarize: true, cacheBytes: cacheBytes)
    }

    /// The first `n` files.
    public func prefix(_ n: Int) -> ImageFileStore {
        ImageFileStore(
            files: Array(files.prefix(n)), size: size, channels: channels, filter: filter, binarize: binarize,
            cacheBytes: cacheBytes)
    }
}
