// Inputs found by fuzzing (Fuzz/Regressions/npy/, scripts/fuzz.sh): each must be refused with an
// error, never trap.
import Foundation
import DDPMNeuralNetworks
import Testing

@Suite("Fuzzing findings: NPY")
struct NPYFuzzRegressionTests {
    /// A committed finding of the `npy` fuzz target.
    static func finding(_ name: String) throws -> [UInt8] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return [UInt8](try Data(contentsOf: root.appendingPathComponent("Fuzz/Regressions/npy/\(name)")))
    }

    @Test("a shape whose element count overflows Int is refused")
    func overflowingShape() throws {
        let bytes = try Self.finding("shape-product-overflow.npy")
        #expect(throws: TensorFileError.self) { try NPYFile.decode(bytes, url: URL(fileURLWithPath: "shape-product-overflow.npy")) }
    }

    @Test("a shape whose byte count overflows Int is refused")
    func overflowingByteCount() throws {
        let bytes = try Self.finding("byte-count-overflow.npy")
        #expect(throws: TensorFileError.self) { try NPYFile.decode(bytes, url: URL(fileURLWithPath: "byte-count-overflow.npy")) }
    }
}
