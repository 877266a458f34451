import DDPMTestSupport
import Foundation
import Testing
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors

/// The golden fixtures made by scripts/reference/make_diffusers_unet_fixture.py.
private func fixture(_ name: String) -> URL {
    Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(name)
}

private let fixtureNames = ["tiny-diffusers-unet", "tiny-diffusers-unet-heads"]

/// The fixtures' timesteps (timesteps.npy in one folder; the same [0, 999] for both).
private let fixtureTimesteps = [0, 999]

/// Largest |a − b| elementwise, and max |b|.
private func deviation(_ a: [Double], _ b: [Double]) -> (maxError: Double, scale: Double) {
    precondition(a.count == b.count)
    var error = 0.0, scale = 0.0
    for (x, y) in zip(a, b) {
        error = max(error, abs(x - y))
        scale = max(scale, abs(y))
    }
    return (error, scale)
}

/// A copy of a fixture's config.json and weights in a fresh temporary folder.
private func fixtureCopy(_ name: String = "tiny-diffusers-unet", caller: String = #function) throws -> URL {
    let folder = try temporaryFolder(caller)
    for file in [DiffusersFolder.configName, DiffusersFolder.weightsName] {
        try FileManager.default.copyItem(at: fixture(name).appendingPathComponent(file), to: folder.appendingPathComponent(file))
    }
    return folder
}

/// The published CIFAR-10 config.json of google/ddpm-cifar10-32 (docs/diffusers-unet-format.md).
private let cifar10ConfigJSON = """
    {"_class_name": "UNet2DModel", "act_fn": "silu", "attention_head_dim": null,
     "block_out_channels": [128, 256, 256, 256], "center_input_sample": false,
     "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
     "downsample_padding": 0, "flip_sin_to_cos": false, "freq_shift": 1, "in_channels": 3,
     "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-06, "norm_num_groups": 32,
     "out_channels": 3, "sample_size": 32, "time_embedding_type": "positional",
     "up_block_types": ["UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"]}
    """

@Suite struct DiffusersFixtureTests {
    @Test(arguments: fixtureNames)
    func fixtureLoads(_ name: String) throws {
        let model = try DiffusersFolder.load(fixture(name))
        let weights = try SafeTensorsFile(contentsOf: fixture(name).appendingPathComponent(DiffusersFolder.weightsName))
        #expect(model.namedParameters.count == weights.names.count)
        #expect(model.configuration.blockOutChannels == [8, 16])
        #expect(model.configuration.attentionHeadDimension == (name.hasSuffix("heads") ? 8 : nil))
    }

    @Test func timestepsFixtureIsZeroAnd999() throws {
        let array = try NPYFile.read(fixture("tiny-diffusers-unet").appendingPathComponent("timesteps.npy"))
        #expect(array.elements == .int64(fixtureTimesteps.map { Int64($0) }))
    }

    @Test(arguments: fixtureNames)
    func float64ForwardMatchesReference(_ name: String) throws {
        let model = try DiffusersFolder.load(fixture(name))
        model.convertParameters(to: .float64)
        let input = try NPYFile.read(fixture(name).appendingPathComponent("input.npy")).tensor().converted(to: .float64)
        let reference = try NPYFile.read(fixture(name).appendingPathComponent("output64.npy"))
        #expect(reference.shape == [2, 3, 8, 8])
        let output = model(input, timesteps: fixtureTimesteps, mode: .evaluation)
        #expect(output.dtype == .float64)
        #expect(output.shape == reference.shape)
        let (error, scale) = deviation(output.doubles, reference.tensor().doubles)
        print("\(name) float64: max |Δ| = \(error), max |ref| = \(scale), relative \(error / scale)")
        #expect(error <= 1e-9 * scale, "\(name): float64 deviation \(error) > 1e-9 × \(scale)")
    }

    @Test(arguments: fixtureNames)
    func float32ForwardMatchesReference(_ name: String) throws {
        let model = try DiffusersFolder.load(fixture(name))
        let input = try NPYFile.read(fixture(name).appendingPathComponent("input.npy")).tensor()
        #expect(input.dtype == .float32 && input.shape == [2, 3, 8, 8])
        let reference = try NPYFile.read(fixture(name).appendingPathComponent("output.npy")).tensor()
        let output = model(input, timesteps: fixtureTimesteps, mode: .evaluation)
        #expect(output.dtype == .float32)
        let (error, scale) = deviation(output.doubles, reference.doubles)
        print("\(name) float32: max |Δ| = \(error), max |ref| = \(scale), relative \(error / scale)")
        #expect(error <= 1e-4 * scale, "\(name): float32 deviation \(error) > 1e-4 × \(scale)")
    }

    @Test(arguments: fixtureNames)
    func exportReloadIsBitExact(_ name: String) throws {
        let model = try DiffusersFolder.load(fixture(name))
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("exported")
        try model.save(diffusersFolder: out)
        let reloaded = try UNet.load(diffusersFolder: out)
        #expect(reloaded.configuration == model.configuration)
        let a = model.parameterTensors, b = reloaded.parameterTensors
        #expect(a.keys.sorted() == b.keys.sorted())
        for (key, tensor) in a {
            #expect(tensor.shape == b[key]!.shape, "\(key)")
            #expect(tensor.scalars(as: Float.self).map(\.bitPattern) == b[key]!.scalars(as: Float.self).map(\.bitPattern), "\(key)")
        }
        // The exported weights hold the same tensors as the fixture's file, bit for bit.
        let original = try SafeTensorsFile(contentsOf: fixture(name).appendingPathComponent(DiffusersFolder.weightsName))
        let exported = try SafeTensorsFile(contentsOf: out.appendingPathComponent(DiffusersFolder.weightsName))
        #expect(original.names == exported.names)
        for tensorName in original.names {
            #expect(
                try original.tensor(named: tensorName).floats.map(\.bitPattern)
                    == exported.tensor(named: tensorName).floats.map(\.bitPattern), "\(tensorName)")
        }
        // Same outputs from the reloaded network.
        let input = try NPYFile.read(fixture(name).appendingPathComponent("input.npy")).tensor()
        let y0 = model(input, timesteps: fixtureTimesteps, mode: .evaluation).floats
        let y1 = reloaded(input, timesteps: fixtureTimesteps, mode: .evaluation).floats
        #expect(y0.map(\.bitPattern) == y1.map(\.bitPattern))
        // The written config reads back as the same configuration.
        let config = try Data(contentsOf: out.appendingPathComponent(DiffusersFolder.configName))
        #expect(try UNetConfiguration(diffusersConfig: config) == model.configuration)
    }

    @Test func float64ExportReloadIsBitExact() throws {
        let model = try DiffusersFolder.load(fixture("tiny-diffusers-unet"), dtype: .float64)
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.save(diffusersFolder: folder)
        let reloaded = try DiffusersFolder.load(folder, dtype: .float64)
        for (key, tensor) in model.parameterTensors {
            #expect(
                tensor.scalars(as: Double.self).map(\.bitPattern)
                    == reloaded.parameterTensors[key]!.scalars(as: Double.self).map(\.bitPattern), "\(key)")
        }
    }

    // MARK: - Config semantics

    @Test func cifar10PublishedConfigMapsToPreset() throws {
        let c = try UNetConfiguration(diffusersConfig: Data(cifar10ConfigJSON.utf8))
        var expected = UNetConfiguration.cifar10
        expected.dropout = 0
        #expect(c == expected)
        #expect(c.attentionHeadDimension == nil)
        // The preset's parameter count (the preset network itself is built in UNetTests).
        #expect(derivedParameterCount(c) == 35_746_307)
    }

    @Test func nullHeadDimensionDiffersFromMissingKey() throws {
        let explicitNull = try UNetConfiguration(diffusersConfig: Data(cifar10ConfigJSON.utf8))
        #expect(explicitNull.attentionHeadDimension == nil)
        var object = try JSONSerialization.jsonObject(with: Data(cifar10ConfigJSON.utf8)) as! [String: Any]
        object.removeValue(forKey: "attention_head_dim")
        let missing = try UNetConfiguration(diffusersConfig: JSONSerialization.data(withJSONObject: object))
        #expect(missing.attentionHeadDimension == 8)
        var withoutHeads = missing
        withoutHeads.attentionHeadDimension = nil
        #expect(withoutHeads == explicitNull)
        // And it survives the round trip through diffusersConfig().
        #expect(try UNetConfiguration(diffusersConfig: explicitNull.diffusersConfig()) == explicitNull)
        #expect(try UNetConfiguration(diffusersConfig: missing.diffusersConfig()) == missing)
    }

    // MARK: - Corrupt and incomplete folders

    private func rewriteWeights(_ folder: URL, _ change: (inout [String: Tensor]) -> Void) throws {
        let url = folder.appendingPathComponent(DiffusersFolder.weightsName)
        var tensors = try SafeTensorsFile(contentsOf: url).allTensors()
        change(&tensors)
        try SafeTensorsFile.write(tensors, to: url)
    }

    private func loadError(_ folder: URL) -> DiffusersFolderError? {
        do {
            _ = try DiffusersFolder.load(folder)
            return nil
        } catch let error as DiffusersFolderError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    @Test func wrongShapeNamesFileAndTensor() throws {
        let folder = try fixtureCopy()
        defer { try? FileManager.default.removeItem(at: folder) }
        try rewriteWeights(folder) { $0["conv_in.weight"] = Tensor(zeros: [8, 3, 1, 1]) }
        let error = try #require(loadError(folder))
        guard case .weights(let url, .shapeMismatch(_, let tensor, let expected, let found)) = error else {
            Issue.record("expected a shape mismatch, got \(error)")
            return
        }
        #expect(url.lastPathComponent == DiffusersFolder.weightsName)
        #expect(tensor == "conv_in.weight" && expected == [8, 3, 3, 3] && found == [8, 3, 1, 1])
        #expect(error.description.contains(DiffusersFolder.weightsName) && error.description.contains("conv_in.weight"))
    }

    @Test func missingTensorNamesFileAndTensor() throws {
        let folder = try fixtureCopy()
        defer { try? FileManager.default.removeItem(at: folder) }
        try rewriteWeights(folder) { $0.removeValue(forKey: "mid_block.attentions.0.to_q.weight") }
        let error = try #require(loadError(folder))
        guard case .weights(_, .missingTensor(_, let tensor, _)) = error else {
            Issue.record("expected a missing tensor, got \(error)")
            return
        }
        #expect(tensor == "mid_block.attentions.0.to_q.weight")
        #expect(
            error.description.contains(DiffusersFolder.weightsName)
                && error.description.contains("mid_block.attentions.0.to_q.weight"))
    }

    @Test func extraTensorNamesFileAndTensor() throws {
        let folder = try fixtureCopy()
        defer { try? FileManager.default.removeItem(at: folder) }
        try rewriteWeights(folder) { $0["class_embedding.weight"] = Tensor(zeros: [10, 32]) }
        let error = try #require(loadError(folder))
        guard case .weights(_, .unexpectedTensors(_, let tensors)) = error else {
            Issue.record("expected unexpected tensors, got \(error)")
            return
        }
        #expect(tensors == ["class_embedding.weight"])
        #expect(error.description.contains(DiffusersFolder.weightsName) && error.description.contains("class_embedding.weight"))
    }

    @Test func truncatedWeightsNameTheFile() throws {
        let folder = try fixtureCopy()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(DiffusersFolder.weightsName)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 100).write(to: url)
        let error = try #require(loadError(folder))
        guard case .weights(_, let underlying) = error else {
            Issue.record("expected a weights error, got \(error)")
            return
        }
        switch underlying {
        case .offsetsOutOfRange(_, let tensor, _, _, _), .sizeMismatch(_, let tensor, _, _, _, _):
            #expect(!tensor.isEmpty)
            #expect(error.description.contains(tensor))
        default:
            Issue.record("expected the last tensor's offsets to run past the end, got \(underlying)")
        }
        #expect(error.description.contains(url.path))
        // Cut inside the header: still an error naming the file.
        try bytes.prefix(40).write(to: url)
        let headerError = try #require(loadError(folder))
        #expect(headerError.description.contains(url.path))
    }

    @Test func missingFilesAreNamed() throws {
        let folder = try fixtureCopy()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.removeItem(at: folder.appendingPathComponent(DiffusersFolder.weightsName))
        let noWeights = try #require(loadError(folder))
        guard case .missingWeights(let url) = noWeights else {
            Issue.record("expected missing weights, got \(noWeights)")
            return
        }
        #expect(url.lastPathComponent == DiffusersFolder.weightsName)
        #expect(noWeights.description.contains(DiffusersFolder.weightsName))

        try FileManager.default.removeItem(at: folder.appendingPathComponent(DiffusersFolder.configName))
        let noConfig = try #require(loadError(folder))
        guard case .missingConfig(let configURL) = noConfig else {
            Issue.record("expected missing config, got \(noConfig)")
            return
        }
        #expect(configURL.lastPathComponent == DiffusersFolder.configName)
        #expect(noConfig.description.contains("config.json"))

        let nowhere = folder.appendingPathComponent("does-not-exist")
        guard case .notAFolder = try #require(loadError(nowhere)) else {
            Issue.record("expected not a folder")
            return
        }
    }

    @Test func configMismatchNamesTheFile() throws {
        let folder = try fixtureCopy()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A config with wider blocks than the weights: every affected tensor is misshapen.
        let configURL = folder.appendingPathComponent(DiffusersFolder.configName)
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        object["block_out_channels"] = [8, 24]
        try JSONSerialization.data(withJSONObject: object).write(to: configURL)
        let error = try #require(loadError(folder))
        guard case .weights(_, .shapeMismatch(_, let tensor, _, _)) = error else {
            Issue.record("expected a shape mismatch, got \(error)")
            return
        }
        #expect(error.description.contains(tensor))
        // An unsupported config is reported against config.json.
        object["class_embed_type"] = "timestep"
        try JSONSerialization.data(withJSONObject: object).write(to: configURL)
        let configError = try #require(loadError(folder))
        guard case .invalidConfig(let url, _) = configError else {
            Issue.record("expected an invalid config, got \(configError)")
            return
        }
        #expect(url.lastPathComponent == DiffusersFolder.configName)
        #expect(configError.description.contains("config.json") && configError.description.contains("class_embed_type"))
    }
}
