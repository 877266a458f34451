// Errors from reading and writing tensor files (safetensors, NPY, NPZ, PyTorch checkpoints); each names the file and, where it applies, the tensor.
import Foundation

/// What went wrong reading or writing a tensor file. `description` names the file (and tensor)
/// and says what was expected.
public enum TensorFileError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or read.
    case cannotRead(URL, reason: String)
    /// Writing the temporary file, syncing it or renaming it into place failed.
    case cannotWrite(URL, reason: String)
    /// The file is shorter than its fixed-size prefix.
    case fileTooShort(URL, size: Int, needed: Int, what: String)
    /// The safetensors header length points past the end of the file.
    case headerPastEnd(URL, headerLength: UInt64, fileSize: Int)
    /// The safetensors header length is above `SafeTensorsFile.maximumHeaderLength`.
    case headerTooLarge(URL, headerLength: UInt64, limit: Int)
    /// The safetensors header is not a JSON object of the expected form.
    case invalidJSON(URL, reason: String)
    /// A tensor's entry lacks a field or has one of the wrong type.
    case malformedEntry(URL, tensor: String, reason: String)
    /// A tensor's dtype is not one this reader supports.
    case unknownDtype(URL, tensor: String, dtype: String)
    /// A tensor's data offsets fall outside the data section (or end before they begin).
    case offsetsOutOfRange(URL, tensor: String, begin: Int, end: Int, dataSize: Int)
    /// A tensor's shape × dtype size is more bytes than `Int` can count.
    case shapeTooLarge(URL, tensor: String, shape: [Int], dataSize: Int)
    /// A tensor's byte range does not hold shape × dtype size bytes.
    case sizeMismatch(URL, tensor: String, shape: [Int], dtype: String, expectedBytes: Int, foundBytes: Int)
    /// The safetensors header names the same tensor twice.
    case duplicateTensor(URL, tensor: String)
    /// A tensor's data starts before the one laid out before it ends.
    case offsetsOverlap(URL, tensor: String, begin: Int, previous: String, previousEnd: Int)
    /// Bytes of the data section between two tensors (or before the first) belong to no tensor.
    case offsetsGap(URL, tensor: String, begin: Int, previousEnd: Int)
    /// The tensors end before the data section does.
    case dataSizeMismatch(URL, tensorsEnd: Int, dataSize: Int)
    /// A tensor holds NaN or infinite values; `count` of them in `tensor`, the first of `tensors` such tensors.
    case nonFiniteValues(URL, tensor: String, count: Int, tensors: Int)
    /// The file has no tensor of that name.
    case missingTensor(URL, tensor: String, available: [String])
    /// The tensor's shape is not the one the caller expected.
    case shapeMismatch(URL, tensor: String, expected: [Int], found: [Int])
    /// The file holds tensors the model has no parameter for.
    case unexpectedTensors(URL, tensors: [String])
    /// The file does not start with the NPY magic string `\x93NUMPY`.
    case notNPY(URL)
    /// The NPY format version is not 1.0, 2.0 or 3.0.
    case unsupportedNPYVersion(URL, major: UInt8, minor: UInt8)
    /// The NPY header dictionary could not be parsed.
    case invalidNPYHeader(URL, reason: String)
    /// The array is stored in Fortran (column-major) order.
    case fortranOrder(URL)
    /// The NPY data section is shorter than shape × element size.
    case truncatedData(URL, expectedBytes: Int, foundBytes: Int)
    /// The zip container (of an NPZ file or a PyTorch checkpoint) is not one this reader accepts.
    case invalidArchive(URL, reason: String)
    /// The pickle of a PyTorch checkpoint is malformed or uses something a state_dict does not need.
    case invalidPickle(URL, reason: String)
    /// The pickle of a PyTorch checkpoint names a global outside the allowed set (`module.name`);
    /// nothing is ever imported or called, the file is refused.
    case refusedGlobal(URL, name: String)

    /// The message for the user: the file's path, what was found, what was expected and, where
    /// one helps, what to do (e.g. "the checkpoint is from a different model configuration").
    public var description: String {
        switch self {
        case let .cannotRead(url, reason):
            return "\(url.path): cannot read (\(reason)); check the path and permissions."
        case let .cannotWrite(url, reason):
            return "\(url.path): cannot write (\(reason)); check that the folder exists, is writable and the disk is not full."
        case let .fileTooShort(url, size, needed, what):
            return
                "\(url.path): file too short: \(size) bytes, \(what) needs at least \(needed); the file is truncated or not a tensor file."
        case let .headerPastEnd(url, length, size):
            return
                "\(url.path): safetensors header length \(length) runs past the end of the \(size)-byte file; the file is truncated or not safetensors."
        case let .headerTooLarge(url, length, limit):
            return
                "\(url.path): safetensors header length \(length) is above the limit of \(limit) bytes; the file is corrupt or not safetensors."
        case let .invalidJSON(url, reason):
            return "\(url.path): safetensors header is not valid: \(reason)."
        case let .malformedEntry(url, tensor, reason):
            return "\(url.path): tensor \"\(tensor)\": \(reason)."
        case let .unknownDtype(url, tensor, dtype):
            return "\(url.path): tensor \"\(tensor)\" has dtype \(dtype); supported: F32, F64 (read and write), F16, BF16 (read as F32) "
                + "for safetensors, <f4, <f8, |u1, <i8 for NPY."
        case let .offsetsOutOfRange(url, tensor, begin, end, size):
            return
                "\(url.path): tensor \"\(tensor)\" data_offsets [\(begin), \(end)] are outside the \(size)-byte data section; the file is truncated or corrupt."
        case let .shapeTooLarge(url, tensor, shape, size):
            return "\(url.path): tensor \"\(tensor)\" of shape \(shape) would need more bytes than can be counted, "
                + "and the data section holds \(size); the header is corrupt."
        case let .duplicateTensor(url, tensor):
            return "\(url.path): tensor \"\(tensor)\" is named twice in the safetensors header; the file is corrupt — re-create it."
        case let .offsetsOverlap(url, tensor, begin, previous, previousEnd):
            return "\(url.path): tensor \"\(tensor)\" starts at byte \(begin) of the data section, inside tensor \"\(previous)\" "
                + "(which ends at \(previousEnd)); tensors must not share bytes — the file is corrupt."
        case let .offsetsGap(url, tensor, begin, previousEnd):
            return "\(url.path): bytes \(previousEnd)..<\(begin) of the data section, before tensor \"\(tensor)\", belong to no tensor; "
                + "the header and the data disagree — the file is corrupt."
        case let .dataSizeMismatch(url, end, size):
            return "\(url.path): the tensors end at byte \(end) of the data section, which holds \(size) bytes; "
                + "the header and the data disagree — the file is corrupt."
        case let .nonFiniteValues(url, tensor, count, tensors):
            return "\(url.path): tensor \"\(tensor)\" holds \(count) NaN or infinite value\(count == 1 ? "" : "s")"
                + (tensors > 1 ? " (and \(tensors - 1) more tensor\(tensors == 2 ? " holds" : "s hold") some)" : "")
                + "; the weights are damaged or from a diverged training run — use other weights."
        case let .sizeMismatch(url, tensor, shape, dtype, expected, found):
            return
                "\(url.path): tensor \"\(tensor)\" of shape \(shape) and dtype \(dtype) needs \(expected) bytes, its data_offsets span \(found)."
        case let .missingTensor(url, tensor, available):
            let list = available.prefix(20).joined(separator: ", ") + (available.count > 20 ? ", …" : "")
            return "\(url.path): no tensor \"\(tensor)\"; the file has: \(list). Was it written by another model configuration?"
        case let .shapeMismatch(url, tensor, expected, found):
            return
                "\(url.path): tensor \"\(tensor)\" has shape \(found), expected \(expected); the checkpoint is from a different model configuration."
        case let .unexpectedTensors(url, tensors):
            let list = tensors.prefix(20).joined(separator: ", ") + (tensors.count > 20 ? ", …" : "")
            return "\(url.path): tensors the model has no parameter for: \(list); the checkpoint is from a different model configuration."
        case let .notNPY(url):
            return "\(url.path): not an NPY file (the magic string \\x93NUMPY is missing)."
        case let .unsupportedNPYVersion(url, major, minor):
            return "\(url.path): NPY format version \(major).\(minor) is not supported (1.0, 2.0 and 3.0 are)."
        case let .invalidNPYHeader(url, reason):
            return "\(url.path): NPY header cannot be parsed: \(reason)."
        case let .fortranOrder(url):
            return "\(url.path): the array is stored in Fortran order (fortran_order: True); only C order is supported — "
                + "save it with numpy.ascontiguousarray(a) first."
        case let .truncatedData(url, expected, found):
            return "\(url.path): NPY data truncated: the header's shape and dtype need \(expected) bytes, the file has \(found)."
        case let .invalidArchive(url, reason):
            return "\(url.path): not a zip archive this reader accepts: \(reason)."
        case let .invalidPickle(url, reason):
            return "\(url.path): not a PyTorch state_dict this reader accepts: \(reason)."
        case let .refusedGlobal(url, name):
            return "\(url.path): the checkpoint's pickle names the global \"\(name)\", which a plain state_dict never needs; "
                + "refused (nothing was run). Only tensors, storages and ordered dicts are read — save a state_dict "
                + "(`torch.save(model.state_dict(), path)`) or convert the weights to safetensors."
        }
    }
}
