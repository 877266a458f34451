// MNIST and Fashion-MNIST: the four IDX files of a folder, train (60,000) or test (10,000) split.
import Foundation

/// A train or test split.
public enum DataSplit: String, Sendable, CaseIterable, Codable {
    /// The training split (MNIST: 60,000 images; CIFAR-10: the five data batches, 50,000 images).
    case train
    /// The test split (10,000 images for MNIST and CIFAR-10), for the held-out bound.
    case test
}

/// Loads MNIST-format datasets from a folder of IDX files.
public enum MNIST {
    /// Where `apt-get install dataset-fashion-mnist` puts Fashion-MNIST.
    public static let fashionMNISTDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    /// The images and labels of `split`: 1×28×28 gray images, labels 0…9.
    ///
    /// The files are `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`
    /// and `t10k-labels-idx1-ubyte`, each gzip-compressed (`.gz`, preferred when both exist) or raw.
    public static func load(directory: URL, split: DataSplit, name: String = "mnist", hint: String = DatasetHint.mnist) throws -> Dataset {
        guard FileManager.default.fileExists(atPath: directory.path) else { throw DatasetError.missingFile(directory, hint: hint) }
        let prefix = split == .train ? "train" : "t10k"
        let imagesURL = locate(directory, "\(prefix)-images-idx3-ubyte")
        let labelsURL = locate(directory, "\(prefix)-labels-idx1-ubyte")
        let images = try IDXFile.readImages(imagesURL, hint: hint)
        let labels = try IDXFile.readLabels(labelsURL, hint: hint)
        guard labels.count == images.count else {
            throw DatasetError.wrongFormat(
                labelsURL,
                reason: "\(labels.count) labels for \(images.count) images in \(imagesURL.lastPathComponent); "
                    + "the two files are from different datasets or splits.")
        }
        return Dataset(
            name: "\(name) \(split.rawValue)", images: images.pixels, channels: 1,
            height: images.height, width: images.width, labels: labels.map(Int.init))
    }

    /// Fashion-MNIST (Xiao et al. 2017) from `directory`, by default the Debian package's folder.
    public static func loadFashion(directory: URL = fashionMNISTDirectory, split: DataSplit) throws -> Dataset {
        try load(directory: directory, split: split, name: "fashion-mnist", hint: DatasetHint.fashionMNIST)
    }

    /// `base.gz` if it exists, else `base` (whose absence is then reported).
    static func locate(_ directory: URL, _ base: String) -> URL {
        let gz = directory.appendingPathComponent(base + ".gz")
        return FileManager.default.fileExists(atPath: gz.path) ? gz : directory.appendingPathComponent(base)
    }
}
