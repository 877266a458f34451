// CIFAR-10 binary batches (Krizhevsky 2009): records of 1 label byte + 3,072 bytes (R, G, B planes of 32×32).
import Foundation

/// Loads the binary version of CIFAR-10 (`cifar-10-batches-bin`).
public enum CIFAR10 {
    /// Bytes per record: 1 label + 3 × 32 × 32 pixels.
    public static let recordSize = 1 + 3 * 32 * 32

    /// The most records one batch file may hold (CIFAR-10's hold 10,000), so that a wrong file
    /// given as a batch is refused before it is read into memory.
    public static let maximumRecords = 100_000

    /// The files of a split: `data_batch_1.bin` … `data_batch_5.bin` (50,000 images) or `test_batch.bin` (10,000).
    public static func fileNames(_ split: DataSplit) -> [String] {
        switch split {
        case .train: (1...5).map { "data_batch_\($0).bin" }
        case .test: ["test_batch.bin"]
        }
    }

    /// The records of one batch file: NCHW bytes (the file's planes are already CHW) and labels.
    /// - Throws: `.missingFile` with where to get CIFAR-10, `.truncated` when the size is not a
    ///   whole number of 3,073-byte records, `.wrongFormat` for a label outside 0…9 or a file of
    ///   more than `maximumRecords` records.
    public static func readBatch(_ url: URL) throws -> (images: [UInt8], labels: [Int]) {
        guard FileManager.default.fileExists(atPath: url.path) else { throw DatasetError.missingFile(url, hint: DatasetHint.cifar10) }
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        guard fileSize <= maximumRecords * recordSize else {
            throw DatasetError.wrongFormat(
                url,
                reason: "\(fileSize) bytes, more than the \(maximumRecords) records of \(recordSize) bytes "
                    + "a batch file may hold (CIFAR-10's hold 10,000); this is not a CIFAR-10 binary batch. \(DatasetHint.cifar10)")
        }
        let data: [UInt8]
        do { data = [UInt8](try Data(contentsOf: url)) } catch { throw DatasetError.unreadable(url, reason: "\(error)") }
        guard !data.isEmpty, data.count % recordSize == 0 else {
            let whole = max(1, (data.count + recordSize - 1) / recordSize)
            throw DatasetError.truncated(
                url, expectedBytes: whole * recordSize, foundBytes: data.count,
                what: "\(whole) CIFAR-10 records of \(recordSize) bytes")
        }
        let count = data.count / recordSize
        var images = [UInt8](repeating: 0, count: count * (recordSize - 1))
        var labels = [Int](repeating: 0, count: count)
        for n in 0..<count {
            let label = Int(data[n * recordSize])
            guard label < 10 else {
                throw DatasetError.wrongFormat(
                    url,
                    reason: "record \(n) has label \(label), not 0…9; this is not a CIFAR-10 binary batch "
                        + "(CIFAR-100 binary files have 2 label bytes). \(DatasetHint.cifar10)")
            }
            labels[n] = label
            images.replaceSubrange(
                (n * (recordSize - 1))..<((n + 1) * (recordSize - 1)),
                with: data[(n * recordSize + 1)..<((n + 1) * recordSize)])
        }
        return (images, labels)
    }

    /// The split from a `cifar-10-batches-bin` folder: 3×32×32 RGB images, labels 0…9.
    public static func load(directory: URL, split: DataSplit) throws -> Dataset {
        guard FileManager.default.fileExists(atPath: directory.path) else {
            throw DatasetError.missingFile(directory, hint: DatasetHint.cifar10)
        }
        var images: [UInt8] = [], labels: [Int] = []
        for name in fileNames(split) {
            let batch = try readBatch(directory.appendingPathComponent(name))
            images += batch.images
            labels += batch.labels
        }
        return Dataset(name: "cifar10 \(split.rawValue)", images: images, channels: 3, height: 32, width: 32, labels: labels)
    }
}
