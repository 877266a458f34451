// Hostile and damaged tensor files: each class of bad input is refused with its own error, before anything large is allocated.
import Foundation
import DDPMNeuralNetworks
import DDPMTensors
import Testing

@Suite("hostile safetensors files")
struct HostileSafeTensorsTests {
    let folder: IOTestFolder
    init() throws { folder = try IOTestFolder() }

    func file(_ header: String, data: [UInt8] = [], name: String = "t.safetensors") throws -> URL {
        try SafeTensorsTests.file(header: header, data: data, in: folder, name: name)
    }

    @Test("a shape of 2^62 elements is refused without overflow")
    func hugeShape() throws {
        let url = try file(
            #"{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 16))
        #expect(throws: TensorFileError.shapeTooLarge(url, tensor: "w", shape: [1 << 62], dataSize: 16)) {
            try SafeTensorsFile(contentsOf: url)
        }
        let error = try #require(throws: TensorFileError.self) { try SafeTensorsFile(contentsOf: url) }
        #expect(error.description.contains("\"w\" of shape [4611686018427387904] would need more bytes than can be counted"))
    }

    @Test("extents whose product overflows are refused even when another extent is 0")
    func overflowBesideZero() throws {
        let url = try file(#"{"w":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}"#)
        #expect(throws: TensorFileError.shapeTooLarge(url, tensor: "w", shape: [0, 1 << 32, 1 << 32], dataSize: 0)) {
            try SafeTensorsFile(contentsOf: url)
        }
    }

    @Test("a header length above 100 MB is refused before it is compared with the file")
    func hugeHeaderLength() throws {
        let url = folder.file("huge.safetensors")
        try Data([0, 0, 0, 0, 0, 1, 0, 0] + [UInt8](repeating: 0x20, count: 92)).write(to: url)
        #expect(throws: TensorFileError.headerTooLarge(url, headerLength: 1 << 40, limit: 100_000_000)) {
            try SafeTensorsFile(contentsOf: url)
        }
    }

    @Test("overlapping offsets are refused, naming both tensors")
    func overlap() throws {
        let url = try file(
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            data: [UInt8](repeating: 0, count: 12))
        #expect(throws: TensorFileError.offsetsOverlap(url, tensor: "b", begin: 4, previous: "a", previousEnd: 8)) {
            try SafeTensorsFile(contentsOf: url)
        }
    }

    @Test("two tensors on the same bytes are an overlap")
    func sharedBytes() throws {
        let url = try file(
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            data: [UInt8](repeating: 0, count: 8))
        #expect(throws: TensorFileError.offsetsOverlap(url, tensor: "b", begin: 0, previous: "a", previousEnd: 8)) {
            try SafeTensorsFile(contentsOf: url)
        }
    }

    @Test("offsets that end before they begin are out of range")
    func reversedOffsets() throws {
        let url = try file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: [UInt8](repeating: 0, count: 8))
        #expect(throws: TensorFileError.offsetsOutOfRange(url, tensor: "a", begin: 8, end: 0, dataSize: 8)) {
            try SafeTensorsFile(contentsOf: url)
        }
    }

    @Test("bytes between tensors that belong to none are a gap")
    func gap() throws {
        let url = try file(
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
            data: [UInt8](repeating: 0, count: 12))
        #expect(throws: TensorFileError.offsetsGap(url, tensor: "b", begin: 8, previousEnd: 4)) { try SafeTensorsFile(contentsOf: url) }
    }

    @Test("a data section longer than the last offset is refused")
    func trailingData() throws {
        let url = try file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [UInt8](repeating: 0, count: 12))
        #expect(throws: TensorFileError.dataSizeMismatch(url, tensorsEnd: 4, dataSize: 12)) { try SafeTensorsFile(contentsOf: url) }
    }

    @Test("offsets laid out in another order than the header's are accepted")
    func headerOrderDiffersFromLayout() throws {
        let url = try file(
            #"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            data: [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40])
        let read = try SafeTensorsFile(contentsOf: url)
        #expect(try read.tensor(named: "a").floats == [1] && read.tensor(named: "b").floats == [2])
    }

    @Test("a tensor named twice is refused (JSON keeps one of them silently)")
    func duplicateName() throws {
        let url = try file(
            #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            data: [UInt8](repeating: 0, count: 8))
        #expect(throws: TensorFileError.duplicateTensor(url, tensor: "w")) { try SafeTensorsFile(contentsOf: url) }
        let error = try #require(throws: TensorFileError.self) { try SafeTensorsFile(contentsOf: url) }
        #expect(error.description.contains("tensor \"w\" is named twice"))
    }

    @Test("a field named twice inside an entry is refused")
    func duplicateField() throws {
        let url = try file(#"{"w":{"dtype":"F32","shape":[1],"shape":[2],"data_offsets":[0,4]}}"#, data: [UInt8](repeating: 0, count: 4))
        #expect(throws: TensorFileError.invalidJSON(url, reason: "key \"shape\" appears twice in \"w\"")) {
            try SafeTensorsFile(contentsOf: url)
        }
    }

    @Test("a header that is not UTF-8 is refused")
    func notUTF8() throws {
        let url = folder.file("latin1.safetensors")
        var header = Array(#"{"caf"#.utf8) + [0xE9] + Array(#"":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        try Data((0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header).write(to: url)
        #expect(throws: TensorFileError.invalidJSON(url, reason: "the header is not UTF-8 text; the file is corrupt or not safetensors")) {
            try SafeTensorsFile(contentsOf: url)
        }
    }

    @Test("offsets and extents must be integers: a fraction is malformed")
    func fractionalOffset() throws {
        let url = try file(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}"#, data: [UInt8](repeating: 0, count: 4))
        #expect(throws: TensorFileError.malformedEntry(url, tensor: "w", reason: "\"data_offsets\" is not a list of two integers")) {
            try SafeTensorsFile(contentsOf: url)
        }
    }

    @Test("nesting deeper than 64 levels is refused without exhausting the stack")
    func deepNesting() throws {
        let url = try file(#"{"__metadata__":"# + String(repeating: "[", count: 100_000) + "}")
        let error = try #require(throws: TensorFileError.self) { try SafeTensorsFile(contentsOf: url) }
        guard case let .invalidJSON(_, reason) = error else { Issue.record("expected invalidJSON, got \(error)"); return }
        #expect(reason.contains("nested deeper than 64 levels"))
    }

    @Test("escaped names are read as written")
    func escapedNames() throws {
        let tensors = ["quote \" back \\ tab \t é 😀": Tensor([Float(3)], shape: [1])]
        let url = folder.file("escaped.safetensors")
        try SafeTensorsFile.write(tensors, to: url)
        #expect(try SafeTensorsFile(contentsOf: url).names == ["quote \" back \\ tab \t é 😀"])
        let surrogate = try file(#"{"\ud83d\ude00\u00e9":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#, name: "surrogate.safetensors")
        #expect(try SafeTensorsFile(contentsOf: surrogate).names == ["😀é"])
    }
}

@Suite("hostile NPY files")
struct HostileNPYTests {
    let url = URL(fileURLWithPath: "/tmp/hostile.npy")

    /// A version 1.0 NPY file with `header` (unpadded) and `data`.
    static func npy(_ header: String, data: [UInt8] = []) -> [UInt8] {
        let text = Array(header.utf8) + [0x0A]
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + data
    }

    @Test("a 100-byte file claiming 10^12 elements is truncated, not allocated")
    func claimsTerabytes() throws {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"
        let bytes = Self.npy(header, data: [UInt8](repeating: 0, count: 100 - 11 - header.utf8.count))
        #expect(bytes.count == 100)
        #expect(throws: TensorFileError.truncatedData(url, expectedBytes: 4_000_000_000_000, foundBytes: 100 - 11 - header.utf8.count)) {
            try NPYFile.decode(bytes, url: url)
        }
    }

    @Test("a shape whose byte count overflows is refused", arguments: ["(4611686018427387904,)", "(0, 4294967296, 4294967296)"])
    func overflowingShape(shape: String) throws {
        let bytes = Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }")
        let error = try #require(throws: TensorFileError.self) { try NPYFile.decode(bytes, url: url) }
        guard case .shapeTooLarge(url, "array", _, 0) = error else { Issue.record("expected shapeTooLarge, got \(error)"); return }
    }

    @Test("an extent beyond Int is an unparsable header")
    func extentBeyondInt() throws {
        let bytes = Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }")
        #expect(
            throws: TensorFileError.invalidNPYHeader(url, reason: "'shape' entry \"99999999999999999999\" is not a non-negative integer")
        ) {
            try NPYFile.decode(bytes, url: url)
        }
    }
}

@Suite("non-finite weights")
struct NonFiniteWeightTests {
    @Test("loading NaN or infinite weights names the file, the first tensor and the count")
    func nanWeights() throws {
        let folder = try IOTestFolder()
        let url = folder.file("nan.safetensors")
        var generator = PhiloxGenerator(seed: 0)
        let layer = Linear(2, 3, generator: &generator)
        let before = layer.weight.value.floats
        try SafeTensorsFile.write(
            [
                "weight": Tensor([Float]([1, .nan, 2, .infinity, 3, .nan]), shape: [3, 2]),
                "bias": Tensor([Float]([0, -.infinity, 0]), shape: [3]),
            ], to: url)
        #expect(throws: TensorFileError.nonFiniteValues(url, tensor: "weight", count: 3, tensors: 2)) {
            try layer.loadParameters(from: url)
        }
        #expect(layer.weight.value.floats == before)
        let error = try #require(throws: TensorFileError.self) { try layer.loadParameters(from: url) }
        #expect(
            error.description == "\(url.path): tensor \"weight\" holds 3 NaN or infinite values (and 1 more tensor holds some); "
                + "the weights are damaged or from a diverged training run — use other weights.")
        try layer.loadParameters(from: url, allowNonFinite: true)
        #expect(layer.weight.value.floats[1].isNaN)
    }
}
