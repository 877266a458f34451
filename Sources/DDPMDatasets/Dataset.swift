// Dataset: examples held in memory (uint8 images or float points) or image files read as drawn,
// converted to tensors per batch.
import DDPMImaging
import DDPMTensors

/// A dataset held in memory, or image files decoded as batches draw them (`ImageFileStore`).
///
/// Images are stored as uint8, NCHW (`count × channels × height × width`), and only converted to
/// `Float` when batched: `x / 127.5 − 1`, which maps 0…255 onto [−1, 1] (DDPM §4: "data scaled
/// linearly to [−1, 1]"). Binarised images (`binarized()`) hold only 0 and 255 and batch to {0, 1}
/// instead. Points (2-D toy data) are stored as `Float`, `count × dimension`.
public struct Dataset: Sendable {
    /// The stored examples.
    public enum Examples: Sendable, Equatable {
        /// `count × C × H × W` bytes, NCHW.
        case images([UInt8])
        /// `count × D` coordinates, row-major.
        case points([Float])
        /// Image files decoded when asked for, `C × H × W` bytes each.
        case imageFiles(ImageFileStore)

        /// Equal bytes or points; file stores only when they are the same store.
        public static func == (a: Examples, b: Examples) -> Bool {
            switch (a, b) {
            case let (.images(x), .images(y)): x == y
            case let (.points(x), .points(y)): x == y
            case let (.imageFiles(x), .imageFiles(y)): x === y
            default: false
            }
        }
    }

    /// A short name for logs ("fashion-mnist train", "swissroll").
    public let name: String
    /// The shape of one example: `[C, H, W]` for images, `[D]` for points.
    public let exampleShape: [Int]
    /// Number of examples.
    public let count: Int
    /// The examples themselves: bytes for images, coordinates for points.
    public let examples: Examples
    /// Class labels (0…9 for MNIST and CIFAR-10), when the data has them.
    public let labels: [Int]?
    /// Whether the images are binarised: bytes 0 or 255, batched as 0 or 1 (see `binarized()`).
    public private(set) var isBinary = false

    /// Images from NCHW bytes.
    public init(name: String, images: [UInt8], channels: Int, height: Int, width: Int, labels: [Int]? = nil) {
        let size = channels * height * width
        precondition(
            size > 0 && images.count % size == 0,
            "Dataset: \(images.count) bytes are not whole \(channels)×\(height)×\(width) images")
        precondition(
            labels == nil || labels!.count == images.count / size,
            "Dataset: \(labels!.count) labels for \(images.count / size) images")
        self.name = name
        self.exampleShape = [channels, height, width]
        self.count = images.count / size
        self.examples = .images(images)
        self.labels = labels
    }

    /// Images read from files as they are drawn (see ``ImageFileStore``).
    public init(name: String, imageFiles store: ImageFileStore) {
        precondition(!store.files.isEmpty, "Dataset: no image files")
        self.name = name
        self.exampleShape = [store.channels, store.size, store.size]
        self.count = store.files.count
        self.examples = .imageFiles(store)
        self.labels = nil
        self.isBinary = store.binarize
    }

    /// Points from row-major coordinates.
    public init(name: String, points: [Float], dimension: Int, labels: [Int]? = nil) {
        precondition(dimension > 0 && points.count % dimension == 0, "Dataset: \(points.count) values are not \(dimension)-D points")
        self.name = name
        self.exampleShape = [dimension]
        self.count = points.count / dimension
        self.examples = .points(points)
        self.labels = labels
    }

    /// Whether the examples are images.
    public var isImages: Bool {
        if case .points = examples { return false }
        return true
    }

    /// Elements per example.
    public var exampleSize: Int { exampleShape.reduce(1, *) }

    /// The examples at `indices` as one Float32 tensor: `[B, C, H, W]` scaled to [−1, 1] for
    /// images (to {0, 1} for binarised images), `[B, D]` for points. When `flips[i]` is true, image i is mirrored left–right
    /// (ignored for points).
    /// - Throws: `ImagingError` naming a file of an ``ImageFileStore`` that cannot be decoded.
    public func batch(indices: [Int], flips: [Bool]? = nil) throws -> Tensor {
        precondition(flips == nil || flips!.count == indices.count, "Dataset.batch: \(flips!.count) flips for \(indices.count) indices")
        let size = exampleSize
        var values = [Float](repeating: 0, count: indices.count * size)
        if case let .points(points) = examples {
            for (b, index) in indices.enumerated() {
                precondition(index >= 0 && index < count, "Dataset.batch: index \(index) outside 0..<\(count)")
                for k in 0..<size { values[b * size + k] = points[index * size + k] }
            }
            return Tensor(values, shape: [indices.count] + exampleShape)
        }
        let width = exampleShape[2], rows = size / width
        let (divisor, offset): (Float, Float) = isBinary ? (255, 0) : (127.5, -1)
        for (b, index) in indices.enumerated() {
            let bytes = try imageBytes(at: index)
            let flip = flips?[b] ?? false
            for row in 0..<rows {
                let source = bytes.startIndex + row * width, dest = b * size + row * width
                for x in 0..<width {
                    values[dest + x] = Float(bytes[source + (flip ? width - 1 - x : x)]) / divisor + offset
                }
            }
        }
        return Tensor(values, shape: [indices.count] + exampleShape)
    }

    /// Image `index` as its `C × H × W` bytes.
    /// - Throws: `ImagingError` naming a file of an ``ImageFileStore`` that cannot be decoded.
    public func imageBytes(at index: Int) throws -> ArraySlice<UInt8> {
        precondition(index >= 0 && index < count, "Dataset: index \(index) outside 0..<\(count)")
        switch examples {
        case let .images(bytes): return bytes[(index * exampleSize)..<((index + 1) * exampleSize)]
        case let .imageFiles(store): return try store.bytes(at: index)[...]
        case .points: preconditionFailure("Dataset: \(name) holds points, not images")
        }
    }

    /// Labels at `indices`, or nil when the dataset has none.
    public func labels(at indices: [Int]) -> [Int]? {
        labels.map { all in indices.map { all[$0] } }
    }

    /// Image `index` as a `RasterImage` (gray for 1 channel, RGB for 3), e.g. for a data grid.
    /// - Throws: `ImagingError` naming a file of an ``ImageFileStore`` that cannot be decoded.
    public func image(at index: Int) throws -> RasterImage {
        let (c, h, w) = (exampleShape[0], exampleShape[1], exampleShape[2])
        return rasterImage(planar: Array(try imageBytes(at: index)), channels: c, height: h, width: w)
    }

    /// The first `n` examples (or all, if fewer).
    public func prefix(_ n: Int) -> Dataset {
        let n = min(n, count)
        switch examples {
        case let .images(bytes):
            var head = Dataset(
                name: name, images: Array(bytes.prefix(n * exampleSize)), channels: exampleShape[0],
                height: exampleShape[1], width: exampleShape[2], labels: labels.map { Array($0.prefix(n)) })
            head.isBinary = isBinary
            return head
        case let .points(points):
            return Dataset(
                name: name, points: Array(points.prefix(n * exampleSize)), dimension: exampleShape[0],
                labels: labels.map { Array($0.prefix(n)) })
        case let .imageFiles(store):
            return Dataset(name: name, imageFiles: store.prefix(n))
        }
    }
}

extension Dataset {
    /// The images thresholded at half intensity: a pixel becomes 1 where byte/255 > ½ (byte ≥ 128)
    /// and 0 otherwise — deterministic, no sampling. Stored as bytes 0 and 255 (so pictures of the
    /// data still show black and white), batched as 0 and 1 for binomial diffusion (SD15 §2.4).
    /// Multi-channel images are thresholded per channel.
    public func binarized() -> Dataset {
        switch examples {
        case let .images(bytes):
            var out = Dataset(
                name: name + " binarized", images: bytes.map(Dataset.binaryByte), channels: exampleShape[0],
                height: exampleShape[1], width: exampleShape[2], labels: labels)
            out.isBinary = true
            return out
        case let .imageFiles(store):
            return Dataset(name: name + " binarized", imageFiles: store.binarized())
        case .points:
            preconditionFailure("Dataset.binarized: \(name) holds points, not images")
        }
    }

    /// A byte thresholded at half intensity: 255 for 128…255, 0 below.
    static func binaryByte(_ byte: UInt8) -> UInt8 { byte >= 128 ? 255 : 0 }

    /// Images given as HWC `RasterImage`s of one size and format (gray or RGB), stored as NCHW.
    public init(name: String, rasterImages: [RasterImage], labels: [Int]? = nil) {
        precondition(!rasterImages.isEmpty, "Dataset: no images")
        let first = rasterImages[0]
        precondition(first.format != .rgba, "Dataset: RGBA images; convert to .rgb first")
        let (c, h, w) = (first.channels, first.height, first.width)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rasterImages.count * c * h * w)
        for (n, image) in rasterImages.enumerated() {
            precondition(
                image.width == w && image.height == h && image.format == first.format,
                "Dataset: image \(n) is \(image.width)×\(image.height) \(image.format), not \(w)×\(h) \(first.format)")
            bytes += planarBytes(image)
        }
        self.init(name: name, images: bytes, channels: c, height: h, width: w, labels: labels)
    }
}
