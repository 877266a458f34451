// Inputs found by fuzzing (Fuzz/Regressions/idx/, scripts/fuzz.sh): each must be refused with an
// error, never trap.
import DDPMTestSupport
import DDPMDatasets
import Foundation
import Testing

@Suite("Fuzzing findings: IDX")
struct IDXFuzzRegressionTests {
    /// A committed finding of the `idx` fuzz target.
    static func finding(_ name: String) throws -> [UInt8] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return [UInt8](try Data(contentsOf: root.appendingPathComponent("Fuzz/Regressions/idx/\(name)")))
    }

    /// Loads an input of the `idx` target as its fuzz target does: a little-endian UInt16 n, the n
    /// bytes of the labels file, then the images file, as the test split of an MNIST folder.
    static func load(_ input: [UInt8]) throws -> Dataset {
        let folder = try temporaryFolder()
        let split = min(input.count, 2 + (Int(input[0]) | Int(input[1]) << 8))
        try Data(input[2..<split]).write(to: folder.appendingPathComponent("t10k-labels-idx1-ubyte"))
        try Data(input[split...]).write(to: folder.appendingPathComponent("t10k-images-idx3-ubyte"))
        return try MNIST.load(directory: folder, split: .test)
    }

    @Test("extents whose product overflows Int are refused")
    func overflowingExtents() throws {
        let input = try Self.finding("extents-overflow.idx")
        #expect(throws: DatasetError.self) { try Self.load(input) }
    }
}
