// PyTorch checkpoints (fixtures written by torch.save, scripts/reference/make_fid_fixture.py), zip archives and NPZ files.
import DDPMTestSupport
import Foundation
import DDPMNeuralNetworks
import DDPMTensors
import Testing

/// Tests/DDPMNeuralNetworksTests/Fixtures/pytorch/NAME.
private func pytorchFixture(_ name: String) -> URL {
    Bundle.module.resourceURL!.appendingPathComponent("Fixtures/pytorch").appendingPathComponent(name)
}

/// expected.json: every tensor's dtype, shape and values, as torch wrote them.
private struct ExpectedTensor: Decodable {
    var dtype: String
    var shape: [Int]
    var values: [Double]
}

private func expectedTensors() throws -> [String: ExpectedTensor] {
    try JSONDecoder().decode([String: ExpectedTensor].self, from: Data(contentsOf: pytorchFixture("expected.json")))
}

/// The state_dict order torch.save wrote.
private let expectedOrder = [
    "conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
    "linear.weight", "linear.bias", "views.transposed", "views.whole", "views.slice", "dtypes.half", "dtypes.bfloat16",
    "dtypes.int64", "dtypes.scalar",
]

/// A zip archive holding one pickle as torch.save lays it out (`archive/data.pkl`) and the given storages.
private func checkpoint(pickle: [UInt8], storages: [(String, [UInt8])] = []) -> [UInt8] {
    ZipArchive.storedArchive([("archive/data.pkl", pickle)] + storages.map { ("archive/data/\($0.0)", $0.1) })
}

/// Pickle bytes from an ASCII-ish description: strings are copied, numbers are single bytes.
private func bytes(_ parts: Any...) -> [UInt8] {
    parts.flatMap { part -> [UInt8] in
        switch part {
        case let text as String: Array(text.utf8)
        case let byte as Int: [UInt8(byte)]
        case let list as [UInt8]: list
        default: preconditionFailure("bytes: \(part)")
        }
    }
}

/// `BINUNICODE text`.
private func unicode(_ text: String) -> [UInt8] {
    let utf8 = Array(text.utf8)
    return [0x58, UInt8(utf8.count), 0, 0, 0] + utf8
}

@Suite struct PyTorchCheckpointTests {
    @Test(arguments: ["state_dict.pth", "state_dict_protocol4.pth", "state_dict_legacy.pth"])
    func readsWhatTorchSaveWrote(file: String) throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: pytorchFixture(file))
        let expected = try expectedTensors()
        #expect(checkpoint.names == expectedOrder)
        for name in expectedOrder {
            let want = try #require(expected[name])
            let tensor = try checkpoint.tensor(named: name)
            #expect(tensor.shape == want.shape, "\(file) \(name)")
            #expect(checkpoint.elementTypes[name]?.rawValue == want.dtype, "\(file) \(name)")
            #expect(tensor.dtype == (want.dtype == "float64" ? .float64 : .float32), "\(file) \(name)")
            // Exact: every stored value is representable in the tensor's dtype (int64 2^40 in Float too).
            #expect(tensor.doubles == want.values, "\(file) \(name)")
        }
    }

    @Test func transposedAndOffsetViewsAreGathered() throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: pytorchFixture("state_dict.pth"))
        // views.transposed is base.t() of arange(12).reshape(4, 3) / 8: strides (1, 3).
        #expect(try checkpoint.tensor(named: "views.transposed").doubles == [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11].map { Double($0) / 8 })
        // views.slice is whole[2:5] of the same storage: offset 2.
        #expect(try checkpoint.tensor(named: "views.slice").doubles == [0.5, 0.75, 1.0])
        #expect(try checkpoint.tensor(named: "dtypes.scalar").shape == [])
        #expect(throws: TensorFileError.self) { try checkpoint.tensor(named: "conv.weight", expectedShape: [2, 3]) }
        #expect(throws: TensorFileError.self) { try checkpoint.tensor(named: "nope") }
    }

    @Test func aPickleNamingAnyOtherGlobalIsRefusedByName() throws {
        let url = pytorchFixture("evil.pth")
        let error = try #require(throws: TensorFileError.self) { try PyTorchCheckpoint(contentsOf: url) }
        #expect(error == .refusedGlobal(url, name: "posix.system"))
        #expect(error.description.contains("\"posix.system\""))
        #expect(error.description.contains("nothing was run"))
    }

    @Test(arguments: [
        "builtins\neval\n", "torch\nload\n", "torch._utils\n_rebuild_qtensor\n", "collections\ndefaultdict\n", "__main__\nEvil\n",
    ])
    func everyGlobalOutsideTheListIsRefused(global: String) throws {
        let pickle = bytes(0x80, 2, "c", global, ")", "R", ".")
        let url = URL(fileURLWithPath: "hand.pth")
        let name = global.split(separator: "\n").joined(separator: ".")
        #expect(throws: TensorFileError.refusedGlobal(url, name: name)) {
            try PyTorchCheckpoint(bytes: checkpoint(pickle: pickle), url: url)
        }
        // Protocol 4's STACK_GLOBAL is checked the same way.
        let parts = global.split(separator: "\n").map(String.init)
        let stacked = bytes(
            0x80, 4, [0x8C, UInt8(parts[0].utf8.count)], parts[0], [0x8C, UInt8(parts[1].utf8.count)], parts[1], 0x93, ".")
        #expect(throws: TensorFileError.refusedGlobal(url, name: name)) {
            try PyTorchCheckpoint(bytes: checkpoint(pickle: stacked), url: url)
        }
    }

    @Test func storageTypesCannotBeCalledAndObjectsCannotBeBuilt() throws {
        let url = URL(fileURLWithPath: "hand.pth")
        for pickle in [
            bytes(0x80, 2, "ctorch\nFloatStorage\n", ")", "R", "."),  // calling a storage type
            bytes(0x80, 2, "ccollections\nOrderedDict\n", ")", 0x81, "."),  // NEWOBJ
            bytes(0x80, 2, "}", "K", 1, "b", "."),  // BUILD on a plain dict
            bytes(0x80, 2, "]", "."),  // a list, not a state_dict
            bytes(0x80, 2, "}", unicode("x"), "K", 3, "s", "."),  // a value that is not a tensor
            bytes(0x80, 2, "}", "0", "0", "."),  // popping an empty stack
            bytes(0x80, 2, "}", "h", 7, "."),  // GET of a memo entry never PUT
            bytes(0x80, 2, "}"),  // no STOP
            bytes(0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, "."),  // a 2 GB string in a 10-byte pickle
        ] {
            #expect(throws: TensorFileError.self, "\(pickle)") { try PyTorchCheckpoint(bytes: checkpoint(pickle: pickle), url: url) }
        }
    }

    /// A one-tensor state_dict whose persistent id, size, stride and offset are given.
    private func oneTensor(size: [Int], stride: [Int], offset: Int, storageSize: Int, recordBytes: Int) -> [UInt8] {
        func long(_ v: Int) -> [UInt8] { [0x8A, 8] + withUnsafeBytes(of: Int64(v).littleEndian, Array.init) }  // LONG1, 8 bytes
        func tuple(_ xs: [Int]) -> [UInt8] { bytes("(") + xs.flatMap(long) + bytes("t") }
        let pid =
            bytes("(", unicode("storage"), "ctorch\nFloatStorage\n", unicode("0"), unicode("cpu")) + long(storageSize) + bytes("t", "Q")
        let pickle =
            bytes(0x80, 2, "ccollections\nOrderedDict\n", ")", "R", unicode("w"), "ctorch._utils\n_rebuild_tensor_v2\n", "(")
            + pid + long(offset) + tuple(size) + tuple(stride)
            + bytes(0x89, "ccollections\nOrderedDict\n", ")", "R", "t", "R", "s", ".")
        return checkpoint(pickle: pickle, storages: [("0", [UInt8](repeating: 0, count: recordBytes))])
    }

    @Test func viewsMustStayInsideTheirStorage() throws {
        let url = URL(fileURLWithPath: "hand.pth")
        // Fine: 2×3 contiguous in 6 floats; a transposed view.
        #expect(
            try PyTorchCheckpoint(bytes: oneTensor(size: [2, 3], stride: [3, 1], offset: 0, storageSize: 6, recordBytes: 24), url: url)
                .tensor(named: "w").shape == [2, 3])
        #expect(
            try PyTorchCheckpoint(bytes: oneTensor(size: [3, 2], stride: [1, 3], offset: 0, storageSize: 6, recordBytes: 24), url: url)
                .tensor(named: "w").shape == [3, 2])
        for (size, stride, offset, storage, record) in [
            ([2, 3], [3, 1], 1, 6, 24),  // one element past the end
            ([2, 3], [3, 1], 0, 6, 20),  // record shorter than the storage
            ([2, 3], [3, 1], 0, 6, 28),  // record longer than the storage
            ([1000, 1000], [0, 0], 0, 1, 4),  // an expanded view: a million elements from one
            ([4, 2], [1, 1], 0, 6, 24),  // an overlapping view
            ([2, 3], [-3, 1], 3, 6, 24),  // negative stride
            ([1 << 40, 1 << 40], [1, 1], 0, 6, 24),  // overflowing sizes
            ([2, 3], [3, 1], 0, 1 << 60, 24),  // a storage of 2^60 elements
        ] {
            #expect(throws: TensorFileError.self, "size \(size) stride \(stride) offset \(offset) storage \(storage) record \(record)") {
                try PyTorchCheckpoint(
                    bytes: oneTensor(size: size, stride: stride, offset: offset, storageSize: storage, recordBytes: record), url: url)
            }
        }
    }

    /// Every prefix and many single-byte changes of a real checkpoint either parse or throw (never trap).
    @Test(arguments: ["state_dict.pth", "state_dict_legacy.pth"])
    func damagedCopiesThrowInsteadOfTrapping(file: String) throws {
        let good = try [UInt8](Data(contentsOf: pytorchFixture(file)))
        let url = URL(fileURLWithPath: file)
        for length in stride(from: 0, to: good.count, by: 7) {
            #expect(throws: TensorFileError.self) { try PyTorchCheckpoint(bytes: Array(good.prefix(length)), url: url) }
        }
        var state: UInt64 = 1
        for _ in 0..<2000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var bad = good
            bad[Int(state >> 33) % bad.count] ^= UInt8(truncatingIfNeeded: state >> 8) | 1
            _ = try? PyTorchCheckpoint(bytes: bad, url: url)
        }
    }
}

@Suite struct ZipAndNPZTests {
    @Test func storedArchivesRoundTrip() throws {
        let members: [(name: String, bytes: [UInt8])] = [
            ("a.txt", Array("hello".utf8)), ("dir/b.bin", (0..<300).map { UInt8($0 % 256) }), ("empty", []),
        ]
        let archive = try ZipArchive(bytes: ZipArchive.storedArchive(members), url: URL(fileURLWithPath: "t.zip"))
        #expect(archive.entries.map(\.name) == members.map(\.name))
        for member in members { #expect(try archive.contents(named: member.name) == member.bytes) }
    }

    @Test func damagedArchivesAreRefused() throws {
        let url = URL(fileURLWithPath: "t.zip")
        let good = ZipArchive.storedArchive([("a", Array("hello world".utf8))])
        var badCRC = good
        badCRC[30 + 1 + 3] ^= 1  // a data byte: the CRC-32 no longer matches
        let archive = try ZipArchive(bytes: badCRC, url: url)
        #expect(throws: TensorFileError.self) { try archive.contents(named: "a") }
        #expect(throws: TensorFileError.self) { try ZipArchive(bytes: Array(good.prefix(good.count - 1)), url: url) }
        #expect(throws: TensorFileError.self) { try ZipArchive(bytes: [UInt8](repeating: 0, count: 100), url: url) }
        // A directory entry declaring 4 GB deflated from 11 bytes is refused before any allocation.
        var huge = good
        let directory = good.count - 22 - 46 - 1
        huge[directory + 10] = 8  // method: deflate
        for i in 0..<4 { huge[directory + 24 + i] = 0xFE }  // uncompressed size
        #expect(throws: TensorFileError.self) { try ZipArchive(bytes: huge, url: url) }
    }

    @Test func npzRoundTrip() throws {
        let arrays: [(name: String, array: NPYArray)] = [
            ("mu", NPYArray(shape: [3], elements: .float64([1, -2.5, 1e-300]))),
            ("arr_0", NPYArray(shape: [2, 2, 1], elements: .uint8([0, 1, 254, 255]))),
        ]
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("x.npz")
        try NPZFile.write(arrays, to: url)
        let back = try NPZFile.read(url)
        #expect(back.map(\.name) == ["mu", "arr_0"])
        #expect(back.map(\.array) == arrays.map(\.array))
    }
}
