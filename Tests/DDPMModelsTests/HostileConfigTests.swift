// Hostile diffusers configs and weights: every value is checked before a network is built, and huge ones are refused by size.
import Foundation
import DDPMModels
import DDPMNeuralNetworks
import DDPMTensors
import Testing

/// The tiny fixture's config (scripts/reference/make_diffusers_unet_fixture.py) with `changes` applied.
private func config(_ changes: [String: Any]) throws -> Data {
    let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/tiny-diffusers-unet/config.json")
    var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    for (key, value) in changes { object[key] = value }
    return try JSONSerialization.data(withJSONObject: object)
}

/// The message of the error parsing the tiny config with `changes`, or nil when it parses.
private func problem(_ changes: [String: Any]) throws -> String? {
    do {
        _ = try UNetConfiguration(diffusersConfig: config(changes))
        return nil
    } catch let error as DiffusersConfigError {
        return error.message
    }
}

/// The message for the tiny config with `key` set to the JSON text `value`.
private func problem(_ key: String, _ value: String) throws -> String? {
    try problem([key: JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])])
}

@Suite("hostile diffusers configs")
struct HostileConfigTests {
    @Test(
        "zero and negative counts are refused, naming the key",
        arguments: [
            ("in_channels", "0", "\"in_channels\": 0 must be a positive integer"),
            ("out_channels", "-3", "\"out_channels\": -3 must be a positive integer"),
            ("block_out_channels", "[8, 0]", "\"block_out_channels\"[1]: 0 must be a positive integer"),
            ("block_out_channels", "[-8, 16]", "\"block_out_channels\"[0]: -8 must be a positive integer"),
            ("layers_per_block", "0", "\"layers_per_block\": 0 must be in 1…64"),
            ("norm_num_groups", "0", "\"norm_num_groups\": 0 must be a positive integer"),
            ("attention_head_dim", "-2", "\"attention_head_dim\": -2 must be a positive integer (or null for one head)"),
            ("sample_size", "0", "\"sample_size\": 0 must be in 1…16384"),
            ("sample_size", "-8", "\"sample_size\": -8 must be in 1…16384"),
        ])
    func nonPositive(key: String, value: String, message: String) throws {
        #expect(try problem(key, value) == message)
    }

    @Test("groups that do not divide the channels are refused")
    func groupsDoNotDivide() throws {
        #expect(
            try problem(["norm_num_groups": 3]) == "\"norm_num_groups\": 3 does not divide \"block_out_channels\"[0] = 8; "
                + "group normalisation needs channels divisible by the groups")
    }

    @Test("a head dimension that does not split an attention layer's channels is refused")
    func oddHeads() throws {
        #expect(
            try problem(["attention_head_dim": 3])
                == "\"attention_head_dim\": 3 does not divide the 16 channels of an attention layer into whole heads")
        #expect(try problem(["attention_head_dim": 4]) == nil)
    }

    @Test("a sample size that does not halve evenly at every level is refused")
    func oddSampleSize() throws {
        #expect(
            try problem(["sample_size": 9]) == "\"sample_size\": 9 must be divisible by 2^1 (one halving per level after the first), "
                + "or the up path cannot meet the skips")
        #expect(try problem(["sample_size": 100_000]) == "\"sample_size\": 100000 must be in 1…16384")
    }

    @Test(
        "integers must be integers: fractions, booleans and huge numbers are refused",
        arguments: [
            ("in_channels", "1.7", "\"in_channels\" must be an integer, found 1.7"),
            ("layers_per_block", "true", "\"layers_per_block\" must be an integer, found true"),
            ("norm_num_groups", "1e30", "\"norm_num_groups\" must be an integer, found 1e+30"),
            ("block_out_channels", "[8, 16.5]", "\"block_out_channels\" must be a list of integers"),
            ("sample_size", "8.5", "\"sample_size\" must be one integer (square images)"),
        ])
    func nonIntegers(key: String, value: String, message: String) throws {
        #expect(try problem(key, value) == message)
    }

    @Test(
        "other values out of range are refused",
        arguments: [
            ("norm_eps", "0", "\"norm_eps\": 0.0 must be a positive number"),
            ("dropout", "1", "\"dropout\": 1.0 must be in [0, 1)"),
            ("downsample_padding", "2", "\"downsample_padding\": 2 is not supported (0 or 1; any other halves the size unevenly)"),
        ])
    func outOfRange(key: String, value: String, message: String) throws {
        #expect(try problem(key, value) == message)
    }

    @Test("the parameter count from the config is the built network's", arguments: ["tiny-diffusers-unet", "tiny-diffusers-unet-heads"])
    func parameterCountMatches(name: String) throws {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/\(name)")
        let configuration = try DiffusersFolder.configuration(at: url)
        var generator = PhiloxGenerator(seed: 0)
        #expect(configuration.parameterCount == UNet(configuration, generator: &generator).parameterCount)
        for preset in [UNetConfiguration.cifar10, .celebahq256, .fashion] {
            #expect(preset.parameterCount == derivedParameterCount(preset))
        }
    }

    @Test("a config asking for 48 TB of parameters is refused before anything is allocated")
    func fortyEightTerabytes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let configURL = folder.appendingPathComponent(DiffusersFolder.configName)
        try config([
            "block_out_channels": [281_000], "down_block_types": ["DownBlock2D"], "up_block_types": ["UpBlock2D"],
            "add_attention": false, "norm_num_groups": 8,
        ]).write(to: configURL)
        let configuration = try DiffusersFolder.configuration(at: folder)
        let parameters = try #require(configuration.parameterCount)
        #expect(parameters == 12_002_101_786_003 && parameters == derivedParameterCount(configuration))
        #expect(throws: DiffusersFolderError.self) { try DiffusersFolder.load(folder) }
        let error = try #require(throws: DiffusersFolderError.self) {
            try DiffusersFolder.checkMemory(configuration, dtype: .float32, file: configURL, availableMemory: 1 << 40)
        }
        #expect(
            error.description == "\(configURL.path): describes a U-Net of 12002101786003 parameters, which need 48008.4 GB; "
                + "this machine has 1099.5 GB of memory. The config is corrupt or the model is too large for this machine.")
        guard case .tooLarge(configURL, 12_002_101_786_003, 48_008_407_144_012, 1 << 40) = error else {
            Issue.record("expected tooLarge, got \(error)"); return
        }
    }

    @Test("a parameter count beyond Int is refused as uncountable")
    func uncountable() throws {
        #expect(
            try problem(["block_out_channels": [1 << 40, 1 << 40], "norm_num_groups": 1])
                == "the configuration has more parameters than can be counted")
    }

    @Test("NaN weights in a diffusers folder name the weights file and the tensor")
    func nanWeights() throws {
        let source = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/tiny-diffusers-unet")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-weights-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = folder.appendingPathComponent(DiffusersFolder.weightsName)
        var tensors = try SafeTensorsFile(contentsOf: weights).allTensors()
        var values = tensors["conv_out.bias"]!.floats
        values[0] = .nan
        tensors["conv_out.bias"] = Tensor(values, shape: [values.count])
        try SafeTensorsFile.write(tensors, to: weights)
        let error = try #require(throws: DiffusersFolderError.self) { try DiffusersFolder.load(folder) }
        guard case .weights(weights, .nonFiniteValues(weights, "conv_out.bias", 1, 1)) = error else {
            Issue.record("expected nonFiniteValues, got \(error)"); return
        }
        #expect(error.description.contains("diffusion_pytorch_model.safetensors: tensor \"conv_out.bias\" holds 1 NaN or infinite value;"))
    }
}
