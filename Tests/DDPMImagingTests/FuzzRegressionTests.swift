// Inputs recorded for the `png` fuzz target (Fuzz/Regressions/png/, scripts/fuzz.sh): each must be
// refused with an error, never trap or exhaust memory.
import Foundation
import DDPMImaging
import Testing

@Suite("Fuzzing findings: PNG")
struct PNGFuzzRegressionTests {
    /// The committed input `name` of the `png` fuzz target.
    static func finding(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/Regressions/png/\(name)")
    }

    @Test("a 68-byte file declaring 1,000,000 × 1,000,000 pixels is refused before any allocation")
    func hugeDimensions() throws {
        #expect(throws: ImagingError.self) { try PNGCodec.read(from: Self.finding("dimensions-1000000x1000000.png")) }
    }
}
