// Reading and writing diffusers' UNet2DModel config.json (keys, defaults and null semantics).
import Foundation

/// A config.json that does not describe a U-Net this package can build.
public struct DiffusersConfigError: Error, CustomStringConvertible {
    /// The config file's path (or the name given to ``UNetConfiguration/init(diffusersConfig:file:)``).
    public let file: String
    /// What is wrong, naming the config key, e.g. `"norm_num_groups": 5 does not divide …`.
    public let message: String
    /// `file: message`.
    public var description: String { "\(file): \(message)" }
}

extension UNetConfiguration {
    /// Parses a diffusers `UNet2DModel` config.
    ///
    /// Missing keys take `UNet2DModel`'s defaults (freq_shift 0, flip_sin_to_cos true,
    /// downsample_padding 1, norm_eps 1e-5, norm_num_groups 32, attention_head_dim 8, …); an
    /// explicit `"attention_head_dim": null` means one head over all channels, which differs from
    /// the missing key. Keys that change the computation in ways this U-Net does not implement
    /// (class embeddings, Fourier time embedding, scale-shift norm, resnet-style resampling) are
    /// rejected with a message naming the key. Integers must be written as integers, and the
    /// result must pass `problem` (positive counts, groups and heads that divide the channels, a
    /// sample size that halves evenly), so that a hostile config fails here, not in `UNet.init`.
    ///
    /// - Parameters:
    ///   - data: the bytes of config.json.
    ///   - file: the file's name or path, for error messages.
    /// - Throws: ``DiffusersConfigError`` naming the key that is missing, mistyped, unsupported or
    ///   out of range.
    public init(diffusersConfig data: Data, file: String = "config.json") throws {
        guard let json = DiffusersJSON.object(from: data) else {
            throw DiffusersConfigError(file: file, message: "not a JSON object")
        }
        func fail(_ message: String) -> DiffusersConfigError { DiffusersConfigError(file: file, message: message) }
        func int(_ key: String, _ fallback: Int) throws -> Int {
            guard let value = json[key] else { return fallback }
            guard let n = DiffusersJSON.integer(value) else {
                throw fail("\"\(key)\" must be an integer, found \(DiffusersJSON.describe(value))")
            }
            return n
        }
        func double(_ key: String, _ fallback: Double) throws -> Double {
            guard let value = json[key] else { return fallback }
            guard let n = value as? NSNumber, !DiffusersJSON.isBoolean(n), n.doubleValue.isFinite else {
                throw fail("\"\(key)\" must be a number, found \(value)")
            }
            return n.doubleValue
        }
        func bool(_ key: String, _ fallback: Bool) throws -> Bool {
            guard let value = json[key] else { return fallback }
            guard let b = value as? Bool else { throw fail("\"\(key)\" must be true or false, found \(value)") }
            return b
        }
        func strings(_ key: String, _ fallback: [String]) throws -> [String] {
            guard let value = json[key] else { return fallback }
            guard let list = value as? [String] else { throw fail("\"\(key)\" must be a list of strings") }
            return list
        }
        if let name = json["_class_name"] as? String, name != "UNet2DModel" {
            throw fail("_class_name is \"\(name)\"; only UNet2DModel folders can be loaded")
        }
        for (key, expected) in [
            ("time_embedding_type", "positional"), ("act_fn", "silu"), ("resnet_time_scale_shift", "default"),
            ("downsample_type", "conv"), ("upsample_type", "conv"),
        ] {
            if let value = json[key], !(value is NSNull), (value as? String) != expected {
                throw fail("\"\(key)\": \(value) is not supported (only \"\(expected)\")")
            }
        }
        for key in ["class_embed_type", "num_class_embeds"] {
            if let value = json[key], !(value is NSNull) { throw fail("\"\(key)\": class conditioning is not supported") }
        }
        if try bool("center_input_sample", false) { throw fail("\"center_input_sample\": true is not supported") }
        if try double("mid_block_scale_factor", 1) != 1 { throw fail("\"mid_block_scale_factor\" other than 1 is not supported") }
        if let groups = json["attn_norm_num_groups"], !(groups is NSNull) { throw fail("\"attn_norm_num_groups\" is not supported") }

        let down = try strings("down_block_types", ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"])
        let up = try strings("up_block_types", ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"])
        let channels: [Int]
        if let value = json["block_out_channels"] {
            guard let list = value as? [Any], case let integers = list.compactMap(DiffusersJSON.integer), integers.count == list.count
            else {
                throw fail("\"block_out_channels\" must be a list of integers")
            }
            channels = integers
        } else {
            channels = [224, 448, 672, 896]
        }
        guard down.count == channels.count, up.count == channels.count else {
            throw fail("\(down.count) down blocks, \(up.count) up blocks and \(channels.count) block_out_channels must agree")
        }
        func attention(_ type: String, plain: String, attn: String) throws -> Bool {
            switch type {
            case plain: return false
            case attn: return true
            default: throw fail("block type \"\(type)\" is not supported (only \(plain) and \(attn))")
            }
        }
        let headDimension: Int?
        switch json["attention_head_dim"] {
        case .none: headDimension = 8
        case is NSNull: headDimension = nil
        case let value? where DiffusersJSON.integer(value) != nil: headDimension = DiffusersJSON.integer(value)
        case let other?: throw fail("\"attention_head_dim\" must be an integer or null, found \(other)")
        }
        let sampleSize: Int
        switch json["sample_size"] {
        case let value? where DiffusersJSON.integer(value) != nil: sampleSize = DiffusersJSON.integer(value)!
        case let pair as [Any]
        where pair.count == 2 && DiffusersJSON.integer(pair[0]) != nil && DiffusersJSON.integer(pair[0]) == DiffusersJSON.integer(pair[1]):
            sampleSize = DiffusersJSON.integer(pair[0])!
        default: throw fail("\"sample_size\" must be one integer (square images)")
        }
        let configuration = UNetConfiguration(
            sampleSize: sampleSize, inChannels: try int("in_channels", 3), outChannels: try int("out_channels", 3),
            blockOutChannels: channels, layersPerBlock: try int("layers_per_block", 2),
            downBlockAttention: try down.map { try attention($0, plain: "DownBlock2D", attn: "AttnDownBlock2D") },
            upBlockAttention: try up.map { try attention($0, plain: "UpBlock2D", attn: "AttnUpBlock2D") },
            midBlockAttention: try bool("add_attention", true), dropout: try double("dropout", 0),
            normGroups: try int("norm_num_groups", 32), normEps: try double("norm_eps", 1e-5),
            attentionHeadDimension: headDimension, flipSinToCos: try bool("flip_sin_to_cos", true),
            freqShift: try double("freq_shift", 0), downsamplePadding: try int("downsample_padding", 1))
        if let problem = configuration.problem { throw fail(problem) }
        self = configuration
    }

    /// This configuration as a diffusers `UNet2DModel` config.json (every key written explicitly,
    /// keys sorted; `attention_head_dim` is `null` for one head), which
    /// ``init(diffusersConfig:file:)`` reads back to an equal configuration.
    public func diffusersConfig() -> Data {
        let object: [String: Any] = [
            "_class_name": "UNet2DModel",
            "sample_size": sampleSize, "in_channels": inChannels, "out_channels": outChannels,
            "block_out_channels": blockOutChannels, "layers_per_block": layersPerBlock,
            "down_block_types": downBlockAttention.map { $0 ? "AttnDownBlock2D" : "DownBlock2D" },
            "up_block_types": upBlockAttention.map { $0 ? "AttnUpBlock2D" : "UpBlock2D" },
            "add_attention": midBlockAttention, "dropout": dropout, "norm_num_groups": normGroups, "norm_eps": normEps,
            "attention_head_dim": attentionHeadDimension.map { $0 as Any } ?? NSNull(),
            "flip_sin_to_cos": flipSinToCos, "freq_shift": freqShift, "downsample_padding": downsamplePadding,
            "act_fn": "silu", "time_embedding_type": "positional", "center_input_sample": false, "mid_block_scale_factor": 1,
            "resnet_time_scale_shift": "default",
        ]
        return try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}

/// Values of diffusers' JSON files as `JSONSerialization` returns them, read strictly.
public enum DiffusersJSON {
    /// A JSON integer: a number written without fraction or exponent (not `true`/`false`, not
    /// `1.0`), as `Int`; nil for anything else.
    public static func integer(_ value: Any) -> Int? {
        guard let n = value as? NSNumber, !isBoolean(n) else { return nil }
        switch UInt8(bitPattern: n.objCType.pointee) {
        case UInt8(ascii: "d"), UInt8(ascii: "f"): return nil
        case UInt8(ascii: "Q"): return n.uint64Value <= UInt64(Int.max) ? Int(n.uint64Value) : nil
        default: return Int(exactly: n.int64Value)
        }
    }

    /// A JSON value as it was written, for messages (`true` rather than `1`).
    public static func describe(_ value: Any) -> String {
        if let n = value as? NSNumber, isBoolean(n) { return n.boolValue ? "true" : "false" }
        return "\(value)"
    }

    /// Whether a number from `JSONSerialization` was `true` or `false`.
    public static func isBoolean(_ n: NSNumber) -> Bool {
        UInt8(bitPattern: n.objCType.pointee) == UInt8(ascii: "c")
    }

    /// The JSON object in `data` as Python's `json` module writes it: its tokens `NaN`, `Infinity`
    /// and `-Infinity`, which JSON lacks and `JSONSerialization` refuses (diffusers writes
    /// `"lambda_min_clipped": -Infinity` in every DPMSolverMultistepScheduler config), are read as
    /// the strings "NaN", "Infinity" and "-Infinity" (see ``nonFinite(_:)``). Nil when `data` is
    /// not a JSON object.
    public static func object(from data: Data) -> [String: Any]? {
        var bytes = [UInt8](data), out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var inString = false, escaped = false, i = 0
        bytes.append(0)  // a sentinel, so that a token test never reads past the end
        while i < bytes.count - 1 {
            let byte = bytes[i]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if let token = ["-Infinity", "Infinity", "NaN"].first(where: { bytes[i...].starts(with: $0.utf8) }) {
                out += Array("\"\(token)\"".utf8)
                i += token.utf8.count
                continue
            }
            out.append(byte)
            i += 1
        }
        return (try? JSONSerialization.jsonObject(with: Data(out))) as? [String: Any]
    }

    /// The value of a non-finite token Python's `json` wrote (`NaN`, `Infinity`, `-Infinity`, read
    /// by ``object(from:)`` as strings), or nil for anything else.
    public static func nonFinite(_ value: Any) -> Double? {
        switch value as? String {
        case "-Infinity": -.infinity
        case "Infinity": .infinity
        case "NaN": .nan
        default: nil
        }
    }
}
