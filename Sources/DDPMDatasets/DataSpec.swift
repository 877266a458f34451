// DataSpec: the `--data` string of the command-line tool, parsed into a dataset source (the one place the syntax is defined).
import Foundation
import DDPMImaging
import DDPMTensors

/// Which dataset to use, parsed from a command-line string (`ddpm train --data`, run.json's `data`).
///
/// Syntax: `NAME[:PATH][,KEY=VALUE]...[,binarize]` (see ``syntax``; paths may not contain commas).
///
/// | spec | data | defaults |
/// |---|---|---|
/// | `swissroll[,count=N][,noise=S]` | SD15 swiss roll, 2-D | count 10000, noise 0 |
/// | `gaussians8[,count=N][,std=S]` | ring of 8 Gaussians, 2-D | count 10000, std 0.1 |
/// | `fashion-mnist[:DIR]` | Fashion-MNIST IDX files, 1×28×28 | DIR /usr/share/datasets/fashion-mnist |
/// | `mnist:DIR` | any MNIST-format IDX folder, 1×28×28 | |
/// | `cifar10:DIR` | CIFAR-10 binary batches, 3×32×32 | |
/// | `png:DIR[,size=N][,channels=1\|3][,filter=area\|bilinear]` | PNG folder, centre-cropped, resized | size 32, channels 3, area |
/// | `deadleaves[,size=N][,count=N]` | dead-leaves images, 1×N×N | size 32, count 10000 |
///
/// Any image spec takes the flag `,binarize` (e.g. `fashion-mnist,binarize`): every pixel is
/// thresholded at half intensity (1 where byte/255 > ½, else 0; deterministic) and batches hold
/// {0, 1} instead of [−1, 1], the data of binomial diffusion (`Dataset.binarized()`).
///
/// The split (`--split train|test`) picks the files of MNIST and CIFAR-10; PNG folders and
/// generated data have no split (generated data come from the generator passed to `load`, so
/// give the test split its own generator).
public struct DataSpec: Equatable, Sendable, CustomStringConvertible {
    /// A parsed dataset source with every option filled in.
    public enum Source: Equatable, Sendable {
        /// `swissroll`: `count` points of SD15's swiss roll (``ToyData/swissRoll(count:noise:generator:)``)
        /// with isotropic Gaussian noise of standard deviation `noise`.
        case swissRoll(count: Int, noise: Double)
        /// `gaussians8`: `count` points of the ring of 8 Gaussians (``ToyData/gaussianRing(count:standardDeviation:generator:)``).
        case gaussians8(count: Int, standardDeviation: Double)
        /// `fashion-mnist`: the four Fashion-MNIST IDX files in `directory`.
        case fashionMNIST(directory: URL)
        /// `mnist`: any MNIST-format folder of four IDX files.
        case mnist(directory: URL)
        /// `cifar10`: a `cifar-10-batches-bin` folder.
        case cifar10(directory: URL)
        /// `png`: every `*.png`, `*.jpg` and `*.jpeg` under `directory`, centre-cropped and resized to `size × size` with
        /// `filter`, in `channels` channels (1 gray or 3 RGB).
        case pngFolder(directory: URL, size: Int, channels: Int, filter: ResizeFilter)
        /// `deadleaves`: `count` generated dead-leaves images of `size × size` pixels (``DeadLeaves``).
        case deadLeaves(size: Int, count: Int)
        /// `npy`: the uint8 images of an .npy or .npz file (``ArrayFile``).
        case arrayFile(URL)
    }

    /// The syntax, quoted in parse errors and in the CLI's help.
    public static let syntax = """
        Data specs: swissroll[,count=N][,noise=S] | gaussians8[,count=N][,std=S] | fashion-mnist[:DIR] | \
        mnist:DIR | cifar10:DIR | png:DIR[,size=N][,channels=1|3][,filter=area|bilinear] | npy:FILE (uint8 N×H×W×C or N×H×W; .npz: arr_0) | \
        deadleaves[,size=N][,count=N]; \
        image specs take ,binarize (pixels thresholded at half intensity, values {0, 1})
        """

    /// What to load, with every option filled in.
    public var source: Source
    /// Whether images are thresholded to {0, 1} (the `,binarize` flag; image data only).
    public var binarize: Bool
    /// The string it was parsed from.
    public let text: String

    /// The text the spec was parsed from.
    public var description: String { text }

    /// The most examples a generated data set may have (swiss roll, 8 Gaussians, dead leaves).
    public static let maximumGeneratedCount = 100_000_000
    /// The most bytes of generated images (dead leaves).
    public static let maximumGeneratedBytes = 4 << 30
    /// The largest image side a spec may ask for (`size=` of `png` and `deadleaves`).
    public static let maximumImageSize = 4096

    /// Parses `text` (see the table above). Nothing is read: files are opened by
    /// ``load(split:generator:)``.
    /// - Throws: ``DatasetError/invalidSpec(_:reason:)`` naming the spec, what is wrong, and the
    ///   syntax: an unknown name or option, an option that is not `KEY=VALUE`, a value out of range
    ///   (see the caps above), a missing or unexpected `:PATH`, or `,binarize` on points.
    public init(parsing text: String) throws {
        self.text = text
        var parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let head = parts.removeFirst()
        let name: String, argument: String?
        if let colon = head.firstIndex(of: ":") {
            name = String(head[..<colon])
            argument = String(head[head.index(after: colon)...])
        } else {
            name = head
            argument = nil
        }
        binarize = parts.contains("binarize")
        parts.removeAll { $0 == "binarize" }
        var options: [String: String] = [:]
        for part in parts {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, !pair[0].isEmpty else {
                throw DatasetError.invalidSpec(text, reason: "option \"\(part)\" is not KEY=VALUE")
            }
            options[pair[0]] = pair[1]
        }
        func directory() throws -> URL {
            guard let argument, !argument.isEmpty else {
                throw DatasetError.invalidSpec(text, reason: "\(name) needs a folder: \(name):DIR")
            }
            return URL(fileURLWithPath: argument)
        }
        func allow(_ keys: Set<String>) throws {
            if let bad = options.keys.sorted().first(where: { !keys.contains($0) }) {
                throw DatasetError.invalidSpec(
                    text,
                    reason: "\(name) has no option \"\(bad)\""
                        + (keys.isEmpty ? "" : " (options: \(keys.sorted().joined(separator: ", ")))"))
            }
        }
        func noArgument() throws {
            if argument != nil { throw DatasetError.invalidSpec(text, reason: "\(name) takes no :ARGUMENT") }
        }
        func integer(_ key: String, default value: Int, range: ClosedRange<Int> = 1...Int.max) throws -> Int {
            guard let raw = options[key] else { return value }
            guard let v = Int(raw), range.contains(v) else {
                throw DatasetError.invalidSpec(text, reason: "\(key)=\(raw) is not an integer in \(range)")
            }
            return v
        }
        func real(_ key: String, default value: Double) throws -> Double {
            guard let raw = options[key] else { return value }
            guard let v = Double(raw), v.isFinite, v >= 0 else {
                throw DatasetError.invalidSpec(text, reason: "\(key)=\(raw) is not a non-negative number")
            }
            return v
        }
        switch name {
        case "swissroll":
            try noArgument()
            try allow(["count", "noise"])
            source = .swissRoll(
                count: try integer("count", default: 10_000, range: 1...Self.maximumGeneratedCount), noise: try real("noise", default: 0))
        case "gaussians8":
            try noArgument()
            try allow(["count", "std"])
            source = .gaussians8(
                count: try integer("count", default: 10_000, range: 1...Self.maximumGeneratedCount),
                standardDeviation: try real("std", default: 0.1))
        case "fashion-mnist":
            try allow([])
            source = .fashionMNIST(directory: argument.map { URL(fileURLWithPath: $0) } ?? MNIST.fashionMNISTDirectory)
        case "mnist":
            try allow([])
            source = .mnist(directory: try directory())
        case "cifar10":
            try allow([])
            source = .cifar10(directory: try directory())
        case "png":
            try allow(["size", "channels", "filter"])
            let channels = try integer("channels", default: 3)
            guard channels == 1 || channels == 3 else {
                throw DatasetError.invalidSpec(text, reason: "channels=\(channels) must be 1 or 3")
            }
            let filterName = options["filter"] ?? "area"
            guard let filter = ResizeFilter(rawValue: filterName) else {
                throw DatasetError.invalidSpec(text, reason: "filter=\(filterName) must be area or bilinear")
            }
            source = .pngFolder(
                directory: try directory(), size: try integer("size", default: 32, range: 1...Self.maximumImageSize),
                channels: channels, filter: filter)
        case "npy":
            try allow([])
            guard let argument, !argument.isEmpty else { throw DatasetError.invalidSpec(text, reason: "npy needs a file: npy:FILE") }
            source = .arrayFile(URL(fileURLWithPath: argument))
        case "deadleaves":
            try noArgument()
            try allow(["size", "count"])
            let size = try integer("size", default: 32, range: 1...Self.maximumImageSize)
            let count = try integer("count", default: 10_000, range: 1...Self.maximumGeneratedCount)
            guard count.multipliedReportingOverflow(by: size * size).partialValue <= Self.maximumGeneratedBytes else {
                throw DatasetError.invalidSpec(
                    text, reason: "count=\(count) images of \(size)×\(size) exceed \(Self.maximumGeneratedBytes >> 30) GiB; generate fewer")
            }
            source = .deadLeaves(size: size, count: count)
        default:
            throw DatasetError.invalidSpec(text, reason: "unknown dataset \"\(name)\"")
        }
        if binarize, !isImages {
            throw DatasetError.invalidSpec(text, reason: "binarize applies to image data only; \(name) gives points")
        }
    }

    /// Loads (or generates, drawing from `generator`) the dataset, binarised when the spec says
    /// `,binarize`.
    /// - Parameters:
    ///   - split: which files of MNIST and CIFAR-10 to read; ignored by PNG folders and generated data.
    ///   - generator: the source of generated data (swiss roll, 8 Gaussians, dead leaves); unused
    ///     for files.
    /// - Throws: ``DatasetError`` naming the file (missing, unreadable, truncated, of another
    ///   format, or declaring more than a reader's cap), or DDPMImaging's `ImagingError` naming a bad PNG.
    public func load(split: DataSplit, generator: inout PhiloxGenerator) throws -> Dataset {
        let dataset = try loadSource(split: split, generator: &generator)
        return binarize ? dataset.binarized() : dataset
    }

    func loadSource(split: DataSplit, generator: inout PhiloxGenerator) throws -> Dataset {
        switch source {
        case let .swissRoll(count, noise): ToyData.swissRoll(count: count, noise: noise, generator: &generator)
        case let .gaussians8(count, std): ToyData.gaussianRing(count: count, standardDeviation: std, generator: &generator)
        case let .fashionMNIST(directory): try MNIST.loadFashion(directory: directory, split: split)
        case let .mnist(directory): try MNIST.load(directory: directory, split: split)
        case let .cifar10(directory): try CIFAR10.load(directory: directory, split: split)
        case let .pngFolder(directory, size, channels, filter):
            try PNGFolder.load(directory: directory, size: size, channels: channels, filter: filter)
        case let .deadLeaves(size, count): DeadLeaves(size: size).dataset(count: count, generator: &generator)
        case let .arrayFile(url): try ArrayFile.load(url)
        }
    }

    /// Whether examples are images (`[C, H, W]`) rather than 2-D points.
    public var isImages: Bool {
        switch source {
        case .swissRoll, .gaussians8: false
        case .fashionMNIST, .mnist, .cifar10, .pngFolder, .deadLeaves, .arrayFile: true
        }
    }
}
