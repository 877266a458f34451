// PyTorch checkpoints (torch.save of a state_dict): the zip format (PyTorch ≥ 1.6) and the legacy format, read without running Python's pickle.
import Foundation
import DDPMTensors

/// The tensors of a state_dict that `torch.save` wrote, read without executing anything.
///
/// Two layouts are read:
/// - the zip format (PyTorch ≥ 1.6, the default): `ARCHIVE/data.pkl` (the pickle), and each
///   storage's bytes in `ARCHIVE/data/KEY`;
/// - the legacy format (`_use_new_zipfile_serialization=False`, and files from before 1.6): five
///   pickles in a row (the magic number, the protocol version 1001, system info, the state_dict,
///   the storage keys), then each storage as an 8-byte element count and its bytes.
///
/// The pickle is read by a restricted reader: it accepts `collections.OrderedDict`,
/// `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter` and the storage types
/// (`torch.FloatStorage`, `DoubleStorage`, `HalfStorage`, `BFloat16Storage`, `LongStorage`,
/// `IntStorage`, `ShortStorage`, `CharStorage`, `ByteStorage`, `BoolStorage`) as persistent ids,
/// and interprets those itself; any other global is refused by name
/// (``TensorFileError/refusedGlobal(_:name:)``) and nothing is ever imported or called. The
/// top-level object must be a dict of tensors (a state_dict; its `_metadata` is dropped).
///
/// Allocations are bounded by the file: every length is checked against the bytes left, each
/// storage's bytes must be exactly its element count × element size, every tensor's
/// offset, sizes and strides must stay inside its storage with no element read twice (so a tensor
/// has at most as many elements as its storage), and all tensors together at most 4× the
/// storages' elements (views of one storage).
public struct PyTorchCheckpoint {
    /// The element types of PyTorch storages this reader accepts.
    public enum ElementType: String, Sendable, CaseIterable {
        case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool

        /// Bytes per element.
        public var byteSize: Int {
            switch self {
            case .float64, .int64: 8
            case .float32, .int32: 4
            case .float16, .bfloat16, .int16: 2
            case .int8, .uint8, .bool: 1
            }
        }
    }

    /// The file this was read from.
    public let url: URL
    /// Tensor names in the state_dict's order.
    public let names: [String]
    /// Each tensor's element type as stored.
    public let elementTypes: [String: ElementType]
    private let tensors: [String: Tensor]

    /// The magic number that opens a legacy checkpoint (its first pickle, a LONG1), little-endian.
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Reads the checkpoint at `url` (zip or legacy format, told apart by their first bytes).
    /// - Throws: ``TensorFileError`` naming the file: `.cannotRead`; `.refusedGlobal` naming a
    ///   global outside the allowed set; `.invalidPickle` or `.invalidArchive` saying what is wrong.
    public init(contentsOf url: URL) throws {
        try self.init(bytes: TensorFileIO.readBytes(url), url: url)
    }

    /// Parses checkpoint bytes; `url` names the source in errors.
    /// - Throws: as ``init(contentsOf:)``.
    public init(bytes: [UInt8], url: URL) throws {
        self.url = url
        var storages = StorageTable(url: url)
        var unpickler: RestrictedUnpickler
        let root: PickleValue
        let data: [UInt8]  // the storages' bytes, in `storages` order
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            // 1a. Zip: the pickle in ARCHIVE/data.pkl, storage KEY in ARCHIVE/data/KEY.
            let archive = try ZipArchive(bytes: bytes, url: url)
            guard let pickle = archive.entries.first(where: { $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/").count == 2 })
            else {
                throw TensorFileError.invalidPickle(url, reason: "a zip archive without ARCHIVE/data.pkl is not a torch.save checkpoint")
            }
            let prefix = String(pickle.name.dropLast("data.pkl".count))
            if let order = archive.entry(named: prefix + "byteorder"), try archive.contents(of: order) != Array("little".utf8) {
                throw TensorFileError.invalidPickle(
                    url, reason: "the storages are big-endian (\(prefix)byteorder); only little-endian checkpoints are read")
            }
            unpickler = RestrictedUnpickler(bytes: try archive.contents(of: pickle), url: url)
            root = try unpickler.load { try storages.add(persistentID: $0, legacy: false) }
            var joined: [UInt8] = []
            for storage in storages.entries {
                let record = try archive.contents(named: prefix + "data/" + storage.key)
                try storages.check(storage, byteCount: record.count)
                joined += record
            }
            data = joined
        } else if bytes.starts(with: [0x80, 0x02, 0x8A, 0x0A]) {
            // 1b. Legacy: magic, protocol version, system info, the object, the storage keys, then the storages.
            var header = RestrictedUnpickler(bytes: bytes, url: url)
            guard
                case let .bigInt(magic) = try header.load(persistentLoad: { _ in
                    throw TensorFileError.invalidPickle(url, reason: "a persistent id in the header")
                }),
                magic == Self.legacyMagic
            else {
                throw TensorFileError.invalidPickle(url, reason: "the legacy magic number is wrong; this is not a torch.save checkpoint")
            }
            header = RestrictedUnpickler(bytes: bytes, url: url, start: header.position)
            guard case .int(1001) = try header.load(persistentLoad: { _ in 0 }) else {
                throw TensorFileError.invalidPickle(url, reason: "legacy protocol version other than 1001")
            }
            header = RestrictedUnpickler(bytes: bytes, url: url, start: header.position)
            guard case let .dict(info) = try header.load(persistentLoad: { _ in 0 }) else {
                throw TensorFileError.invalidPickle(url, reason: "the legacy system info is not a dict")
            }
            for (key, value) in info.items {
                if case .string("little_endian") = key, case .bool(false) = value {
                    throw TensorFileError.invalidPickle(url, reason: "the storages are big-endian; only little-endian checkpoints are read")
                }
            }
            unpickler = RestrictedUnpickler(bytes: bytes, url: url, start: header.position)
            root = try unpickler.load { try storages.add(persistentID: $0, legacy: true) }
            var keysReader = RestrictedUnpickler(bytes: bytes, url: url, start: unpickler.position)
            guard case let .list(keyList) = try keysReader.load(persistentLoad: { _ in 0 }) else {
                throw TensorFileError.invalidPickle(url, reason: "the legacy storage key list is missing")
            }
            var position = keysReader.position
            var records: [String: [UInt8]] = [:]
            for item in keyList.items {
                guard case let .string(key) = item, let storage = storages.index[key].map({ storages.entries[$0] }) else {
                    throw TensorFileError.invalidPickle(url, reason: "the legacy key list names a storage no tensor uses (\(item.kind))")
                }
                guard bytes.count - position >= 8 else { throw TensorFileError.invalidPickle(url, reason: "storage \(key) is cut off") }
                let count = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[position + $1]) << (8 * UInt64($1)) }
                position += 8
                guard count == UInt64(storage.count) else {
                    throw TensorFileError.invalidPickle(
                        url, reason: "storage \(key) holds \(count) elements, its tensors say \(storage.count)")
                }
                let size = storage.count * storage.type.byteSize
                guard bytes.count - position >= size else { throw TensorFileError.invalidPickle(url, reason: "storage \(key) is cut off") }
                records[key] = Array(bytes[position..<(position + size)])
                position += size
            }
            var joined: [UInt8] = []
            for storage in storages.entries {
                guard let record = records[storage.key] else {
                    throw TensorFileError.invalidPickle(url, reason: "storage \(storage.key) has no data")
                }
                joined += record
            }
            data = joined
        } else {
            let tar = bytes.count > 262 && Array(bytes[257..<262]) == Array("ustar".utf8)
            throw TensorFileError.invalidPickle(
                url,
                reason: tar
                    ? "the tar checkpoint format of PyTorch < 0.4 is not supported; load and re-save it with a recent PyTorch"
                    : "neither a zip archive nor a legacy pickle; this is not a torch.save checkpoint")
        }

        // 2. The state_dict: string keys to tensors, in order.
        guard case let .dict(dict) = root else {
            throw TensorFileError.invalidPickle(url, reason: "the checkpoint holds a \(root.kind), not a state_dict (a dict of tensors)")
        }
        var names: [String] = [], tensors: [String: Tensor] = [:], types: [String: ElementType] = [:]
        let budget = 4 * storages.entries.reduce(0) { $0 + $1.count } + 1024
        var used = 0
        for (key, value) in dict.items {
            guard case let .string(name) = key else {
                throw TensorFileError.invalidPickle(url, reason: "a state_dict key is a \(key.kind), not a string")
            }
            guard case let .tensor(index) = value else {
                throw TensorFileError.invalidPickle(
                    url, reason: "\"\(name)\" is a \(value.kind), not a tensor; only a flat state_dict is read")
            }
            guard tensors[name] == nil else { throw TensorFileError.duplicateTensor(url, tensor: name) }
            let pickled = unpickler.tensors[index]
            let storage = storages.entries[pickled.storage]
            let elements = try storages.elementIndices(of: pickled, name: name)
            used += elements.count
            guard used <= budget else {
                throw TensorFileError.invalidPickle(
                    url, reason: "the tensors read \(used) elements from \(budget / 4) stored ones; views that large are not a state_dict")
            }
            switch elements {
            case let .contiguous(range): tensors[name] = Self.tensor(data, from: storage, elements: range, shape: pickled.shape)
            case let .gathered(indices): tensors[name] = Self.tensor(data, from: storage, elements: indices, shape: pickled.shape)
            }
            types[name] = storage.type
            names.append(name)
        }
        self.names = names
        self.tensors = tensors
        self.elementTypes = types
    }

    /// The tensor `name`: Float64 storages as `.float64`, every other type converted to `.float32`
    /// (Float16 and BFloat16 exactly; integers rounded to the nearest Float, booleans 0 or 1).
    /// - Throws: ``TensorFileError/missingTensor(_:tensor:available:)``, or
    ///   ``TensorFileError/shapeMismatch(_:tensor:expected:found:)`` when `expectedShape` is given and differs.
    public func tensor(named name: String, expectedShape: [Int]? = nil) throws -> Tensor {
        guard let tensor = tensors[name] else { throw TensorFileError.missingTensor(url, tensor: name, available: names) }
        if let expectedShape, tensor.shape != expectedShape {
            throw TensorFileError.shapeMismatch(url, tensor: name, expected: expectedShape, found: tensor.shape)
        }
        return tensor
    }

    /// Every tensor by name (as ``tensor(named:expectedShape:)`` converts them).
    public var allTensors: [String: Tensor] { tensors }

    /// The elements at `elements` of the storage whose bytes start at `storage.start` in `data`.
    private static func tensor<Elements: Collection<Int>>(
        _ data: [UInt8], from storage: StorageTable.Storage, elements: Elements, shape: [Int]
    ) -> Tensor {
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + storage.start
            func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
                T(littleEndian: base.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
            }
            switch storage.type {
            case .float64: return Tensor(elements.map { Double(bitPattern: load($0, UInt64.self)) }, shape: shape)
            case .float32: return Tensor(elements.map { Float(bitPattern: load($0, UInt32.self)) }, shape: shape)
            case .float16: return Tensor(elements.map { SafeTensorsFile.halfToFloat(load($0, UInt16.self)) }, shape: shape)
            case .bfloat16: return Tensor(elements.map { Float(bitPattern: UInt32(load($0, UInt16.self)) << 16) }, shape: shape)
            case .int64: return Tensor(elements.map { Float(load($0, Int64.self)) }, shape: shape)
            case .int32: return Tensor(elements.map { Float(load($0, Int32.self)) }, shape: shape)
            case .int16: return Tensor(elements.map { Float(load($0, Int16.self)) }, shape: shape)
            case .int8: return Tensor(elements.map { Float(load($0, Int8.self)) }, shape: shape)
            case .uint8: return Tensor(elements.map { Float(load($0, UInt8.self)) }, shape: shape)
            case .bool: return Tensor(elements.map { load($0, UInt8.self) != 0 ? Float(1) : 0 }, shape: shape)
            }
        }
    }
}

/// The storages a checkpoint's persistent ids name, in first-use order, and the checks on them.
private struct StorageTable {
    struct Storage {
        var key: String
        var type: PyTorchCheckpoint.ElementType
        var count: Int
        /// Where its bytes start in the joined data.
        var start: Int
    }

    let url: URL
    var entries: [Storage] = []
    var index: [String: Int] = [:]
    var bytes = 0

    init(url: URL) { self.url = url }

    /// The storage of a persistent id `('storage', torch.XStorage, key, location, numel)` (the legacy
    /// format appends a view, which must be None).
    mutating func add(persistentID: PickleValue, legacy: Bool) throws -> Int {
        guard case let .tuple(items) = persistentID, items.count == (legacy ? 6 : 5), case .string("storage") = items[0],
            case let .global(global) = items[1], case let .string(key) = items[2], case .string = items[3],
            case let .int(count) = items[4], count >= 0
        else {
            throw TensorFileError.invalidPickle(url, reason: "a persistent id is not ('storage', type, key, location, size)")
        }
        guard let type = global.storageType else {
            throw TensorFileError.invalidPickle(url, reason: "a persistent id names \(global.rawValue), not a storage type")
        }
        if legacy, case .none = items[5] {
        } else if legacy {
            throw TensorFileError.invalidPickle(
                url, reason: "storage \(key) is a view of another storage (legacy view metadata); re-save the checkpoint")
        }
        if let existing = index[key] {
            guard entries[existing].type == type, entries[existing].count == count else {
                throw TensorFileError.invalidPickle(url, reason: "storage \(key) is named with two types or sizes")
            }
            return existing
        }
        let (size, overflow) = count.multipliedReportingOverflow(by: type.byteSize)
        guard !overflow, size <= Int(Int32.max) * 64 else {
            throw TensorFileError.invalidPickle(url, reason: "storage \(key) declares \(count) elements")
        }
        index[key] = entries.count
        entries.append(Storage(key: key, type: type, count: count, start: bytes))
        bytes += size
        return entries.count - 1
    }

    /// A record's size must be exactly the storage's element count × element size.
    func check(_ storage: Storage, byteCount: Int) throws {
        guard byteCount == storage.count * storage.type.byteSize else {
            throw TensorFileError.invalidPickle(
                url,
                reason:
                    "storage \(storage.key) holds \(byteCount) bytes; \(storage.count) \(storage.type.rawValue) elements need \(storage.count * storage.type.byteSize)"
            )
        }
    }

    /// Where a tensor's elements lie in its storage.
    enum Elements {
        /// A contiguous row-major tensor: these storage elements in order.
        case contiguous(Range<Int>)
        /// Any other view: the storage element of each tensor element, row-major.
        case gathered([Int])

        var count: Int {
            switch self {
            case let .contiguous(range): range.count
            case let .gathered(indices): indices.count
            }
        }
    }

    /// The storage element of each of the tensor's elements, row-major; the view must stay inside
    /// its storage and read no element twice.
    func elementIndices(of tensor: PickledTensor, name: String) throws -> Elements {
        let storage = entries[tensor.storage]
        func fail(_ reason: String) -> TensorFileError { .invalidPickle(url, reason: "tensor \"\(name)\": \(reason)") }
        guard tensor.offset >= 0, tensor.shape.allSatisfy({ $0 >= 0 }), tensor.strides.allSatisfy({ $0 >= 0 }) else {
            throw fail("negative offset \(tensor.offset), size \(tensor.shape) or stride \(tensor.strides)")
        }
        var count = 1, last = tensor.offset
        for (size, stride) in zip(tensor.shape, tensor.strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: size)
            let (reach, o2) = (size == 0 ? 0 : size - 1).multipliedReportingOverflow(by: stride)
            let (l, o3) = last.addingReportingOverflow(reach)
            guard !o1, !o2, !o3 else { throw fail("size \(tensor.shape) with stride \(tensor.strides) overflows") }
            (count, last) = (c, l)
        }
        if count == 0 { return .contiguous(0..<0) }
        guard last < storage.count else {
            throw fail(
                "size \(tensor.shape), stride \(tensor.strides) and offset \(tensor.offset) reach element \(last) of a \(storage.count)-element storage"
            )
        }
        guard count <= storage.count else { throw fail("\(count) elements from a \(storage.count)-element storage: an expanded view") }
        var contiguousStride = 1
        var isContiguous = true
        for (size, stride) in zip(tensor.shape, tensor.strides).reversed() where size > 1 {
            if stride != contiguousStride { isContiguous = false }
            contiguousStride *= size
        }
        if isContiguous { return .contiguous(tensor.offset..<(tensor.offset + count)) }
        // Row-major walk over the multi-index.
        var indices = [Int](repeating: 0, count: count)
        var position = [Int](repeating: 0, count: tensor.shape.count)
        var current = tensor.offset
        for i in 0..<count {
            indices[i] = current
            var axis = tensor.shape.count - 1
            while axis >= 0 {
                position[axis] += 1
                current += tensor.strides[axis]
                if position[axis] < tensor.shape[axis] { break }
                current -= tensor.strides[axis] * tensor.shape[axis]
                position[axis] = 0
                axis -= 1
            }
        }
        // No element read twice (a state_dict's tensors never overlap themselves).
        var seen = Set<Int>(minimumCapacity: count)
        for i in indices where !seen.insert(i).inserted { throw fail("reads storage element \(i) twice (an overlapping view)") }
        return .gathered(indices)
    }
}
