// Tensor file formats: safetensors and NPY round trips (bit-exact), each corrupt case's error, a numpy-written NPY.
import Foundation
import DDPMNeuralNetworks
import DDPMTensors
import Testing

/// A fresh temporary folder, removed on release.
final class IOTestFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("IOTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() }
}

/// Bit patterns of awkward values: signed zero, subnormal, infinity, extremes.
private let awkwardFloats: [Float] = [
    0, -0.0, 1.5, -2.25, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -.infinity, 1e-30, 3.14159265,
]
private let awkwardDoubles: [Double] = [0, -0.0, .pi, -1e300, .leastNonzeroMagnitude, .infinity, 1.0 / 3.0, 2.5]

@Suite("safetensors")
struct SafeTensorsTests {
    @Test("round trip is bit-exact for F32 and F64, with metadata, names sorted, header padded")
    func roundTrip() throws {
        let folder = try IOTestFolder()
        let url = folder.file("model.safetensors")
        let tensors: [String: Tensor] = [
            "b.weight": Tensor(awkwardFloats, shape: [2, 5]),
            "a.bias": Tensor(awkwardDoubles, shape: [8]),
            "scalar": Tensor([Float(7)], shape: []),
            "empty": Tensor([Float](), shape: [0, 3]),
        ]
        try SafeTensorsFile.write(tensors, metadata: ["step": "1200", "note": "quote \" and \\ ok"], to: url)
        #expect(try folder.contents() == ["model.safetensors"])
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.names == ["a.bias", "b.weight", "empty", "scalar"])
        #expect(file.metadata == ["step": "1200", "note": "quote \" and \\ ok"])
        for (name, tensor) in tensors {
            let read = try file.tensor(named: name)
            #expect(read.shape == tensor.shape && read.dtype == tensor.dtype, "\(name)")
            switch tensor.dtype {
            case .float32:
                #expect(read.scalars(as: Float.self).map(\.bitPattern) == tensor.scalars(as: Float.self).map(\.bitPattern), "\(name)")
            case .float64:
                #expect(read.scalars(as: Double.self).map(\.bitPattern) == tensor.scalars(as: Double.self).map(\.bitPattern), "\(name)")
            }
        }
        let bytes = [UInt8](try Data(contentsOf: url))
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        #expect(headerLength % 8 == 0)
        // Data laid out in name order: a.bias (64 bytes) first.
        #expect(file.entries["a.bias"]!.range == 0..<64 && file.entries["b.weight"]!.range == 64..<104)
    }

    /// A file with a hand-written header and data section.
    static func file(header: String, data: [UInt8], in folder: IOTestFolder, name: String = "t.safetensors") throws -> URL {
        let json = Array(header.utf8)
        var bytes: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) }
        bytes += json + data
        let url = folder.file(name)
        try Data(bytes).write(to: url)
        return url
    }

    @Test("F16 and BF16 are read as Float32")
    func halfPrecision() throws {
        let folder = try IOTestFolder()
        // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF, smallest subnormal 0x0001 = 2^-24.
        // BF16: 1.0 = 0x3F80, -3.0 = 0xC040.
        let url = try Self.file(
            header: #"{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}"#,
            data: [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00, 0x80, 0x3F, 0x40, 0xC0], in: folder)
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(try file.tensor(named: "h").scalars(as: Float.self) == [1, -2, 65504, 0x1p-24])
        #expect(try file.tensor(named: "b").scalars(as: Float.self) == [1, -3])
    }

    @Test("each corrupt file gives its specific error")
    func corrupt() throws {
        let folder = try IOTestFolder()
        let short = folder.file("short.safetensors")
        try Data([1, 2, 3]).write(to: short)
        #expect(throws: TensorFileError.fileTooShort(short, size: 3, needed: 8, what: "the safetensors header length")) {
            try SafeTensorsFile(contentsOf: short)
        }

        let past = folder.file("past.safetensors")
        try Data([200, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8)).write(to: past)
        #expect(throws: TensorFileError.headerPastEnd(past, headerLength: 200, fileSize: 10)) { try SafeTensorsFile(contentsOf: past) }

        let json = try Self.file(header: #"{"a": {"dtype": "F32", "#, data: [], in: folder, name: "json.safetensors")
        let jsonError = try #require(throws: TensorFileError.self) { try SafeTensorsFile(contentsOf: json) }
        guard case .invalidJSON(json, _) = jsonError else { Issue.record("expected invalidJSON, got \(jsonError)"); return }

        let dtype = try Self.file(
            header: #"{"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], in: folder, name: "dtype.safetensors")
        #expect(throws: TensorFileError.unknownDtype(dtype, tensor: "w", dtype: "I32")) { try SafeTensorsFile(contentsOf: dtype) }

        let range = try Self.file(
            header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0], in: folder, name: "range.safetensors")
        #expect(throws: TensorFileError.offsetsOutOfRange(range, tensor: "w", begin: 0, end: 8, dataSize: 4)) {
            try SafeTensorsFile(contentsOf: range)
        }

        let size = try Self.file(
            header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8), in: folder,
            name: "size.safetensors")
        #expect(throws: TensorFileError.sizeMismatch(size, tensor: "w", shape: [3], dtype: "F32", expectedBytes: 12, foundBytes: 8)) {
            try SafeTensorsFile(contentsOf: size)
        }
        let error = try #require(throws: TensorFileError.self) { try SafeTensorsFile(contentsOf: size) }
        #expect(error.description.contains("size.safetensors") && error.description.contains("\"w\""))
    }

    @Test("lookup errors: missing tensor and unexpected shape")
    func lookup() throws {
        let folder = try IOTestFolder()
        let url = folder.file("m.safetensors")
        try SafeTensorsFile.write(["w": Tensor([Float](repeating: 1, count: 6), shape: [2, 3])], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(throws: TensorFileError.missingTensor(url, tensor: "v", available: ["w"])) { try file.tensor(named: "v") }
        #expect(throws: TensorFileError.shapeMismatch(url, tensor: "w", expected: [3, 2], found: [2, 3])) {
            try file.tensor(named: "w", expectedShape: [3, 2])
        }
        #expect(try file.tensor(named: "w", expectedShape: [2, 3]).shape == [2, 3])
    }

    @Test("a missing file is cannotRead naming it")
    func missing() throws {
        let url = URL(fileURLWithPath: "/nonexistent/model.safetensors")
        #expect(throws: TensorFileError.cannotRead(url, reason: "no such file")) { try SafeTensorsFile(contentsOf: url) }
    }
}

@Suite("NPY")
struct NPYTests {
    @Test(
        "round trips are bit-exact for every dtype and both versions", arguments: [UInt8(1), 2],
        [
            NPYArray(shape: [2, 5], elements: .float32(awkwardFloats)),
            NPYArray(shape: [8], elements: .float64(awkwardDoubles)),
            NPYArray(shape: [3, 1, 2], elements: .uint8([0, 1, 127, 128, 254, 255])),
            NPYArray(shape: [], elements: .int64([-9_223_372_036_854_775_807])),
            NPYArray(shape: [0], elements: .int64([])),
        ])
    func roundTrip(version: UInt8, array: NPYArray) throws {
        let folder = try IOTestFolder()
        let url = folder.file("a.npy")
        try NPYFile.write(array, to: url, version: version)
        #expect(try folder.contents() == ["a.npy"])
        let bytes = [UInt8](try Data(contentsOf: url))
        #expect(bytes[6] == version)
        let dataStart = version == 1 ? 10 + (Int(bytes[8]) | Int(bytes[9]) << 8) : 12 + (Int(bytes[8]) | Int(bytes[9]) << 8)
        #expect(dataStart % 64 == 0)
        let read = try NPYFile.read(url)
        #expect(read.shape == array.shape)
        switch (read.elements, array.elements) {
        case let (.float32(a), .float32(b)): #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
        case let (.float64(a), .float64(b)): #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
        default: #expect(read == array)
        }
    }

    /// `np.save(f, np.array([[1.5, -2], [0.25, 3]], dtype='<f4'))` with numpy 2.4.6: 144 bytes.
    static let numpyBytes: [UInt8] = {
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [0x01, 0x00, 0x76, 0x00]
        bytes += Array("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }".utf8)
        bytes += [UInt8](repeating: 0x20, count: 58) + [0x0A]
        bytes += [0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x80, 0x3E, 0x00, 0x00, 0x40, 0x40]
        return bytes
    }()

    @Test("a file as numpy writes it parses, and our encoding of the same array is byte-identical")
    func numpyWritten() throws {
        #expect(Self.numpyBytes.count == 144)
        let array = try NPYFile.decode(Self.numpyBytes, url: URL(fileURLWithPath: "numpy.npy"))
        #expect(array == NPYArray(shape: [2, 2], elements: .float32([1.5, -2, 0.25, 3])))
        #expect(array.tensor().shape == [2, 2] && array.tensor().floats == [1.5, -2, 0.25, 3])
        #expect(NPYFile.encode(array) == Self.numpyBytes)
    }

    static func corrupted(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = numpyBytes
        edit(&bytes)
        return bytes
    }

    static func replaceHeader(_ bytes: inout [UInt8], _ header: String) {
        var text = Array(header.utf8)
        text += [UInt8](repeating: 0x20, count: 118 - 1 - text.count) + [0x0A]
        bytes.replaceSubrange(10..<128, with: text)
    }

    @Test("each corrupt case gives its specific error")
    func corrupt() throws {
        let url = URL(fileURLWithPath: "/tmp/bad.npy")
        func decode(_ bytes: [UInt8]) throws { _ = try NPYFile.decode(bytes, url: url) }
        #expect(throws: TensorFileError.notNPY(url)) { try decode(Array("PK\u{3}\u{4} zip file".utf8)) }
        #expect(throws: TensorFileError.fileTooShort(url, size: 8, needed: 10, what: "the NPY preamble")) {
            try decode(Array(Self.numpyBytes.prefix(8)))
        }
        #expect(throws: TensorFileError.unsupportedNPYVersion(url, major: 4, minor: 0)) { try decode(Self.corrupted { $0[6] = 4 }) }
        #expect(throws: TensorFileError.fileTooShort(url, size: 60, needed: 128, what: "the NPY header of 118 bytes")) {
            try decode(Array(Self.numpyBytes.prefix(60)))
        }
        #expect(throws: TensorFileError.truncatedData(url, expectedBytes: 16, foundBytes: 10)) {
            try decode(Array(Self.numpyBytes.prefix(138)))
        }
        #expect(throws: TensorFileError.fortranOrder(url)) {
            try decode(Self.corrupted { Self.replaceHeader(&$0, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }") })
        }
        #expect(throws: TensorFileError.unknownDtype(url, tensor: "array", dtype: ">f4")) {
            try decode(Self.corrupted { Self.replaceHeader(&$0, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }") })
        }
        let noShape = try #require(throws: TensorFileError.self) {
            try decode(Self.corrupted { Self.replaceHeader(&$0, "{'descr': '<f4', 'fortran_order': False}") })
        }
        guard case .invalidNPYHeader(url, _) = noShape else { Issue.record("expected invalidNPYHeader, got \(noShape)"); return }
        #expect(TensorFileError.fortranOrder(url).description.contains("Fortran order"))
    }

    @Test("a tensor writes as <f4 / <f8 and reads back")
    func tensor() throws {
        let folder = try IOTestFolder()
        let url = folder.file("t.npy")
        try NPYFile.write(Tensor(awkwardDoubles, shape: [2, 4]), to: url)
        let read = try NPYFile.read(url).tensor()
        #expect(read.dtype == .float64 && read.shape == [2, 4])
        #expect(read.scalars(as: Double.self).map(\.bitPattern) == awkwardDoubles.map(\.bitPattern))
    }
}
