// The files `ddpm sample` writes (--format grid, png-dir, npz, npy) and what a resumed png-dir run
// reads back.
import DDPMFileSupport
import DDPMImaging
import DDPMNeuralNetworks
import DDPMTensors
import Foundation

/// The output formats of `ddpm sample` and the files behind them.
struct SampleFiles {
    /// One of `--format`'s values.
    enum Format: String, CaseIterable {
        /// samples.png: a grid of the images (a scatter plot of points).
        case grid
        /// images/000000.png, …: one PNG per sample (what FID tools and other pipelines read).
        case pngDir = "png-dir"
        /// samples.npz: `arr_0`, uint8 N × H × W × C (improved-diffusion's convention).
        case npz
        /// samples.npy: uint8 N × H × W × C (float32 N × D for points).
        case npy
    }

    /// `--format`'s default.
    static let defaultFormats = "grid,npy"

    /// The formats of a comma-separated `--format` value.
    static func formats(_ text: String) throws -> Set<Format> {
        var formats = Set<Format>()
        for name in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let format = Format(rawValue: name) else {
                throw CommandFailure(
                    "--format \(text): unknown format '\(name)'; expected a comma-separated list of "
                        + Format.allCases.map(\.rawValue).joined(separator: ", ") + ".")
            }
            formats.insert(format)
        }
        return formats
    }

    /// The output folder.
    let folder: URL
    /// Channels, height and width of an image sample.
    let channels: Int, height: Int, width: Int

    /// Bytes per sample (H × W × C).
    var sampleBytes: Int { channels * height * width }

    /// The folder of one PNG per sample.
    var imageFolder: URL { folder.appendingPathComponent("images") }

    /// images/NNNNNN.png of sample `index` (at least six digits).
    func pngURL(_ index: Int) -> URL { imageFolder.appendingPathComponent(String(format: "%06d.png", index)) }

    /// Whether every sample of `batch` has its PNG (written atomically, so a file that exists is whole).
    func hasImages(_ batch: Range<Int>) -> Bool {
        batch.allSatisfy { FileManager.default.fileExists(atPath: pngURL($0).path) }
    }

    /// [N, C, H, W] samples in [−1, 1] as interleaved H × W × C bytes per sample, in sample order
    /// (the pixels of `Pictures.images`).
    func bytes(of samples: Tensor) -> [UInt8] { Pictures.images(samples).flatMap(\.pixels) }

    /// The image of sample `i` of `bytes` (interleaved, `sampleBytes` per sample).
    func image(_ bytes: ArraySlice<UInt8>) -> RasterImage {
        RasterImage(width: width, height: height, format: channels == 1 ? .gray : .rgb, pixels: Array(bytes))
    }

    /// Writes the PNG of each sample of `batch` (`bytes`: its samples' bytes in order).
    func writeImages(_ bytes: [UInt8], batch: Range<Int>) throws {
        for (k, index) in batch.enumerated() {
            let start = k * sampleBytes
            try CommandFailure.wrap { try image(bytes[start..<start + sampleBytes]).writePNG(to: pngURL(index)) }
        }
    }

    /// The bytes of `batch`'s PNG files, which a resumed run reads instead of drawing the samples
    /// again.
    func readImages(_ batch: Range<Int>) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(batch.count * sampleBytes)
        for index in batch {
            let url = pngURL(index)
            let image = try CommandFailure.wrap("--resume: ") { try PNGCodec.read(from: url, format: channels == 1 ? .gray : .rgb) }
            guard image.width == width, image.height == height else {
                throw CommandFailure(
                    "--resume: \(url.path) is \(image.width)×\(image.height); this model draws \(width)×\(height) samples. "
                        + "Use another --output, or remove the folder to start over.")
            }
            bytes += image.pixels
        }
        return bytes
    }

    /// Writes the whole set of image samples in `formats` (all but png-dir, written as they come).
    func writeImageSet(_ bytes: [UInt8], count: Int, formats: Set<Format>) throws {
        let array = NPYArray(shape: [count, height, width, channels], elements: .uint8(bytes))
        if formats.contains(.npy) { try CommandFailure.wrap { try NPYFile.write(array, to: folder.appendingPathComponent("samples.npy")) } }
        if formats.contains(.npz) {
            try CommandFailure.wrap { try NPZFile.write([("arr_0", array)], to: folder.appendingPathComponent("samples.npz")) }
        }
        if formats.contains(.grid) {
            let images = (0..<count).map { image(bytes[($0 * sampleBytes)..<(($0 + 1) * sampleBytes)]) }
            try CommandFailure.wrap { try RasterImage.grid(images).writePNG(to: folder.appendingPathComponent("samples.png")) }
        }
    }

    /// Checks that a folder being resumed was written by the same settings: its sampler.json must
    /// equal `record` (the rank count aside).
    static func checkResumable(_ folder: URL, record: SamplerRecord) throws {
        let url = folder.appendingPathComponent("sampler.json")
        guard let data = try? Data(contentsOf: url) else {
            throw CommandFailure(
                "--resume: \(url.path) is missing, so nothing says how the samples there were drawn; use another --output.")
        }
        guard let saved = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CommandFailure("--resume: \(url.path) is not a JSON object; use another --output.")
        }
        let wanted = try JSONSerialization.jsonObject(with: Pictures.jsonEncoder.encode(record)) as! [String: Any]
        let keys = Set(saved.keys).union(wanted.keys).subtracting(["ranks"])
        let differing = keys.sorted().filter { key in
            !((saved[key] as? NSObject)?.isEqual(wanted[key]) ?? (wanted[key] == nil))
        }
        guard differing.isEmpty else {
            throw CommandFailure(
                "--resume: the samples in \(folder.path) were drawn with other settings (" + differing.joined(separator: ", ")
                    + " differ); resume with the same flags, or use another --output.")
        }
    }
}
