// Inputs found by fuzzing (Fuzz/Regressions/diffusers-config/, scripts/fuzz.sh): each must be
// refused with an error, never trap.
import Foundation
import DDPMModels
import DDPMNeuralNetworks
import Testing

@Suite("Fuzzing findings: diffusers config.json")
struct DiffusersConfigFuzzRegressionTests {
    /// A committed finding of the `diffusers-config` fuzz target.
    static func finding(_ name: String) throws -> Data {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try Data(contentsOf: root.appendingPathComponent("Fuzz/Regressions/diffusers-config/\(name)"))
    }

    /// Loads a diffusers folder made of `config` and a weights file without tensors.
    static func load(config: Data) throws -> UNet {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("models-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try config.write(to: folder.appendingPathComponent(DiffusersFolder.configName))
        try SafeTensorsFile.write([:], to: folder.appendingPathComponent(DiffusersFolder.weightsName))
        return try DiffusersFolder.load(folder)
    }

    @Test("block_out_channels that norm_num_groups does not divide are refused")
    func groupsDoNotDivideChannels() throws {
        let config = try Self.finding("groups-do-not-divide-channels.json")
        #expect(throws: (any Error).self) { try Self.load(config: config) }
    }

    @Test("block_out_channels that attention_head_dim does not divide are refused")
    func headsDoNotDivideChannels() throws {
        let config = try Self.finding("heads-do-not-divide-channels.json")
        #expect(throws: (any Error).self) { try Self.load(config: config) }
    }

    @Test("negative channel counts are refused")
    func negativeChannels() throws {
        let config = try Self.finding("negative-channels.json")
        #expect(throws: (any Error).self) { try Self.load(config: config) }
    }

    @Test("a layers_per_block of 14,294,967,296 is refused at once (it made parameter counting run for minutes)")
    func hugeLayersPerBlock() throws {
        let config = try Self.finding("huge-layers-per-block.json")
        let error = try #require(throws: (any Error).self) { try Self.load(config: config) }
        #expect("\(error)".contains("\"layers_per_block\": 14294967296 must be in 1…64"), "\(error)")
    }
}
