// Errors from loading datasets: each names the file, what was expected, and how to get the data.
import Foundation

/// What went wrong loading a dataset. `description` names the file, says what was expected and
/// what was found, and where the data can be had.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    /// The file or folder does not exist.
    case missingFile(URL, hint: String)
    /// The file exists but could not be read (permissions, I/O or a corrupt gzip stream).
    case unreadable(URL, reason: String)
    /// An IDX file starts with the wrong magic number (e.g. a labels file given for images).
    case wrongMagic(URL, expected: UInt32, found: UInt32)
    /// The file holds fewer bytes than its header (or the record size) says.
    case truncated(URL, expectedBytes: Int, foundBytes: Int, what: String)
    /// The contents are not of the expected format (sizes that disagree, extra bytes, …).
    case wrongFormat(URL, reason: String)
    /// A folder holds no usable files.
    case empty(URL, what: String)
    /// A `DataSpec` string could not be parsed.
    case invalidSpec(String, reason: String)

    /// The message printed for the error: the file or spec, what was expected and found, and what to do.
    public var description: String {
        switch self {
        case let .missingFile(url, hint):
            return "\(url.path): no such file or folder. \(hint)"
        case let .unreadable(url, reason):
            return "\(url.path): cannot read (\(reason)); check permissions, or re-download the file if it is corrupt."
        case let .wrongMagic(url, expected, found):
            return "\(url.path): IDX magic number \(expected) (\(Self.hex(expected))) expected, found \(found) (\(Self.hex(found)))"
                + "; \(Self.idxKind(expected)) — check that the right file was given."
        case let .truncated(url, expected, found, what):
            return "\(url.path): truncated: \(what) needs \(expected) bytes, the file has \(found); re-download or re-create it."
        case let .wrongFormat(url, reason):
            return "\(url.path): \(reason)"
        case let .empty(url, what):
            return "\(url.path): no \(what) found; check the folder."
        case let .invalidSpec(spec, reason):
            return "data spec \"\(spec)\": \(reason). \(DataSpec.syntax)"
        }
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    static func idxKind(_ magic: UInt32) -> String {
        switch magic {
        case IDXFile.imagesMagic: "an IDX images file (…-images-idx3-ubyte) was expected"
        case IDXFile.labelsMagic: "an IDX labels file (…-labels-idx1-ubyte) was expected"
        default: "an IDX file was expected"
        }
    }
}

/// Where each dataset can be had, quoted in errors.
public enum DatasetHint {
    /// Where Fashion-MNIST can be had: the Debian package or the four `*-ubyte.gz` files.
    public static let fashionMNIST =
        "Fashion-MNIST: `apt-get install dataset-fashion-mnist` installs it in "
        + "/usr/share/datasets/fashion-mnist, or download the four *-ubyte.gz files from "
        + "https://github.com/zalandoresearch/fashion-mnist and pass `fashion-mnist:DIR`."
    /// The four IDX files an `mnist:DIR` folder must hold.
    public static let mnist =
        "MNIST: the four IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
        + "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) must be in the folder given as `mnist:DIR`."
    /// Where the binary version of CIFAR-10 can be had and which folder to pass.
    public static let cifar10 =
        "CIFAR-10: download the binary version (cifar-10-binary.tar.gz) from "
        + "https://www.cs.toronto.edu/~kriz/cifar.html, extract it, and pass the cifar-10-batches-bin folder "
        + "(data_batch_1.bin … data_batch_5.bin, test_batch.bin) as `cifar10:DIR`."
    /// How a PNG folder is given.
    public static let png = "An image folder is given as `png:DIR`; it must hold *.png, *.jpg or *.jpeg files (subfolders are read too)."
}
