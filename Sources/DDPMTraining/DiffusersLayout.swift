// Where a diffusers model's files are: a pipeline folder (model_index.json, unet/, scheduler/), as
// `save_pretrained` of a DDPMPipeline writes it and the Hub serves it, or a bare UNet2DModel folder.
import DDPMModels
import Foundation

/// The files of a diffusers model.
public struct DiffusersLayout {
    /// The pipeline index file's name.
    public static let indexName = "model_index.json"
    /// The pipeline classes whose parts this toolkit reads (others are read with a warning).
    public static let pipelineClasses = ["DDPMPipeline", "DDIMPipeline"]

    /// The folder holding config.json and the weights.
    public var unet: URL
    /// scheduler_config.json, when the folder has one.
    public var schedulerConfig: URL?
    /// What was assumed, one line each.
    public var warnings: [String] = []

    /// The layout of `folder`, or nil when it is not a diffusers folder (no model_index.json and no
    /// config.json).
    /// - Throws: `TrainingError.invalidFile` for a model_index.json that is malformed or names no
    ///   `unet`, or whose unet/ folder is missing.
    public init?(_ folder: URL) throws {
        let manager = FileManager.default
        let index = folder.appendingPathComponent(Self.indexName)
        if manager.fileExists(atPath: index.path) {
            guard let data = try? Data(contentsOf: index), data.count <= 1 << 20,
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { throw TrainingError.invalidFile(path: index.path, message: "not a JSON object of at most 1 MiB.") }
            guard let unet = object["unet"] as? [Any], unet.count == 2, unet.last as? String == "UNet2DModel" else {
                throw TrainingError.invalidFile(
                    path: index.path,
                    message:
                        "\"unet\" must be [\"diffusers\", \"UNet2DModel\"] (a DDPMPipeline); found \(object["unet"].map { "\($0)" } ?? "nothing")."
                )
            }
            self.unet = folder.appendingPathComponent("unet")
            guard manager.fileExists(atPath: self.unet.appendingPathComponent(DiffusersFolder.configName).path) else {
                throw TrainingError.invalidFile(
                    path: self.unet.path, message: "model_index.json names a unet, but unet/config.json is missing.")
            }
            if let name = object["_class_name"] as? String, !Self.pipelineClasses.contains(name) {
                warnings.append("\(index.path): pipeline \(name): only its unet and scheduler are read.")
            }
            let scheduler = folder.appendingPathComponent("scheduler").appendingPathComponent(SchedulerConfigFile.fileName)
            schedulerConfig = manager.fileExists(atPath: scheduler.path) ? scheduler : nil
            return
        }
        guard manager.fileExists(atPath: folder.appendingPathComponent(DiffusersFolder.configName).path) else { return nil }
        unet = folder
        schedulerConfig = [
            folder.appendingPathComponent(SchedulerConfigFile.fileName),
            folder.deletingLastPathComponent().appendingPathComponent("scheduler").appendingPathComponent(SchedulerConfigFile.fileName),
        ].first { manager.fileExists(atPath: $0.path) }
    }

    /// T: `num_train_timesteps` of the scheduler config, or diffusers' default 1000 without one.
    /// - Throws: `TrainingError.invalidFile` for a scheduler config that cannot be followed.
    public func trainingSteps() throws -> Int {
        guard let schedulerConfig else { return 1000 }
        return try SchedulerConfigFile.read(schedulerConfig).scheduler.trainingSteps
    }
}
