// `ddpm train --config FILE` (a run from a run.json-style file, flags overriding it) and
// `--model-config FILE` (any U-Net a diffusers UNet2DModel config describes).
import DDPMTestSupport
import Foundation
import Testing

@Suite struct RunSettingsTests {
    static let tiny = [
        "--data", "deadleaves,size=8,count=16", "--model", "tiny", "--timesteps", "50", "--batch-size", "8", "--steps", "3", "--seed", "5",
        "--warmup", "0", "--threads", "1",
    ]

    func settings(_ run: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("run.json"))) as! [String: Any]
    }

    @Test func aRunFromAnotherRunsSettingsIsThatRunAndFlagsOverrideIt() throws {
        let dir = try temporaryFolder()
        let first = dir.appendingPathComponent("first"), again = dir.appendingPathComponent("again")
        let other = dir.appendingPathComponent("other")
        #expect(try runDDPM(["train", "--output", first.path] + Self.tiny).status == 0)
        let config = first.appendingPathComponent("run.json").path
        let repeated = try runDDPM(["train", "--config", config, "--output", again.path, "--threads", "1"])
        #expect(repeated.status == 0, "\(repeated.standardError)")
        for name in ["model.safetensors", "ema.safetensors", "optimizer.safetensors", "state.json"] {
            #expect(
                try Data(contentsOf: first.appendingPathComponent("checkpoint/" + name))
                    == Data(contentsOf: again.appendingPathComponent("checkpoint/" + name)), "\(name) differs")
        }
        let changed = try runDDPM(
            [
                "train", "--config", config, "--output", other.path, "--steps", "4", "--seed", "9", "--learning-rate", "1e-3", "--threads",
                "1",
            ])
        #expect(changed.status == 0, "\(changed.standardError)")
        let a = try settings(first), b = try settings(other)
        #expect(b["steps"] as? Int == 4 && b["seed"] as? Int == 9)
        #expect((b["optimizer"] as? [String: Any])?["learningRate"] as? Double == 1e-3)
        #expect(
            (a["model"] as? NSDictionary) == (b["model"] as? NSDictionary)
                && (a["process"] as? NSDictionary) == (b["process"] as? NSDictionary))
        // Flags that would change the network or the process are refused by name.
        let refused = try runDDPM(["train", "--config", config, "--output", dir.appendingPathComponent("x").path, "--timesteps", "10"])
        #expect(refused.status == 64 && refused.standardError.contains("--config: --timesteps would change"), "\(refused.standardError)")
        let broken = dir.appendingPathComponent("broken.json")
        try Data("{\"formatVersion\": 1, \"steps\": -3}".utf8).write(to: broken)
        let bad = try runDDPM(["train", "--config", broken.path, "--output", dir.appendingPathComponent("y").path])
        #expect(bad.status == 1 && bad.standardError.contains("--config: \(broken.path)"), "\(bad.standardError)")
    }

    @Test func aDiffusersConfigGivesTheNetwork() throws {
        let dir = try temporaryFolder()
        let config = dir.appendingPathComponent("config.json")
        // No sample_size and no channels: they follow --data (8×8, one channel).
        try Data(
            """
            {"_class_name": "UNet2DModel", "block_out_channels": [32, 64], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
             "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "layers_per_block": 1, "norm_num_groups": 8, "attention_head_dim": null}
            """.utf8
        ).write(to: config)
        let run = dir.appendingPathComponent("run")
        let data = ["--data", "deadleaves,size=8,count=16", "--batch-size", "8", "--timesteps", "20", "--threads", "1"]
        let trained = try runDDPM(["train", "--model-config", config.path, "--output", run.path, "--steps", "2"] + data)
        #expect(trained.status == 0, "\(trained.standardError)")
        let saved = try settings(run)
        #expect(saved["architecture"] as? String == "custom")
        let unet = try #require(((saved["model"] as? [String: Any])?["unet"] as? [String: Any])?["_0"] as? [String: Any])
        #expect(unet["blockOutChannels"] as? [Int] == [32, 64] && unet["sampleSize"] as? Int == 8 && unet["inChannels"] as? Int == 1)
        #expect(try runDDPM(["train", "--resume", "--output", run.path, "--steps", "3"]).status == 0)
        let sampled = try runDDPM(["sample", "--checkpoint", run.path, "--count", "2", "--steps", "2", "--threads", "1"])
        #expect(sampled.status == 0, "\(sampled.standardError)")
        // A config the U-Net cannot build is refused, naming the key.
        let bad = dir.appendingPathComponent("bad.json")
        try Data(
            """
            {"block_out_channels": [30, 60], "down_block_types": ["DownBlock2D", "DownBlock2D"],
             "up_block_types": ["UpBlock2D", "UpBlock2D"], "norm_num_groups": 8}
            """.utf8
        ).write(to: bad)
        let refused = try runDDPM(
            ["train", "--model-config", bad.path, "--output", dir.appendingPathComponent("b").path, "--steps", "1"] + data)
        #expect(refused.status == 1 && refused.standardError.contains("norm_num_groups"), "\(refused.standardError)")
        let both = try runDDPM(["train", "--model-config", config.path, "--model", "tiny", "--output", run.path] + data)
        #expect(both.status == 64 && both.standardError.contains("pass one of them"))
    }
}
