// The example program of the README ("Using the libraries") builds with the tests and runs.
import DDPMTestSupport
import Foundation
import DDPMImaging
import Testing

@Suite("example program")
struct ExampleTests {
    @Test func trainOnImagesWritesACheckpointAndASampleGrid() throws {
        let folder = try temporaryFolder()
        let images = folder.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        for i in 0..<16 {  // 20×20 stripes of varying width: cropped and resized to 16×16 by the data spec
            let pixels = (0..<400).map { p in UInt8((p % 20) / (i % 4 + 1) % 2 == 0 ? 0 : 255) }
            try RasterImage(width: 20, height: 20, format: .gray, pixels: pixels).writePNG(to: images.appendingPathComponent("\(i).png"))
        }
        let executable = builtExecutable("TrainOnImages")
        let output = folder.appendingPathComponent("run")
        let process = Process()
        process.executableURL = executable
        process.arguments = [images.path, output.path, "20"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(printed)")
        #expect(printed.contains("wrote \(output.path)/samples.png"), "\(printed)")
        let grid = try PNGCodec.read(from: output.appendingPathComponent("samples.png"))
        #expect(grid.width == 4 * 32 + 5 * 2 && grid.height == grid.width)  // 4 × 4 samples of 32×32 with 2-pixel padding
        let state =
            try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("checkpoint/state.json")))
            as! [String: Any]
        #expect((state["step"] as? NSNumber)?.intValue == 20)
    }
}
