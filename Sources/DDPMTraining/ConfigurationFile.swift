// run.json: writing format 1, reading format 1 strictly or format 0 by migration.
import DDPMFileSupport
import Foundation
import DDPMImaging

extension TrainingConfiguration {
    /// The name of the settings file in a run folder.
    public static let fileName = "run.json"

    /// The settings in `url`, validated, and the format they were migrated from (nil when the
    /// file is in the current format).
    ///
    /// A file without `formatVersion` is a format-0 file of `ddpm train` before typed settings and
    /// is migrated (0 is returned); a file with it is decoded strictly as format 1: a missing,
    /// mistyped or unknown key, or an unknown value, is an error naming the key path.
    /// - Throws: ``TrainingError/invalidFile(path:message:)`` naming `url` and the key: unreadable,
    ///   not a JSON object, written by a newer format, not decodable, or a value out of range
    ///   (``validate()``).
    public static func load(from url: URL) throws -> (configuration: TrainingConfiguration, migratedFrom: Int?) {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrainingError.invalidFile(
                path: path, message: "cannot be read (\(error.localizedDescription)); is the folder a run made by `ddpm train`?")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TrainingError.invalidFile(path: path, message: "not a JSON object.")
        }
        let configuration: TrainingConfiguration
        var migratedFrom: Int?
        if object["formatVersion"] == nil {
            configuration = try StrictJSON.decode(LegacyRunSettings.self, from: data, path: path).migrated(path: path)
            migratedFrom = 0
        } else {
            if let version = object["formatVersion"] as? Int, version > currentFormatVersion {
                throw TrainingError.invalidFile(
                    path: path,
                    message:
                        "format \(version) was written by a newer version of this package (this one reads up to \(currentFormatVersion)).")
            }
            configuration = try StrictJSON.decode(TrainingConfiguration.self, from: data, path: path)
        }
        do { try configuration.validate() } catch let error as TrainingError {
            throw TrainingError.invalidFile(path: path, message: "\(error)")
        }
        return (configuration, migratedFrom)
    }

    /// Writes the settings to `url` atomically (sorted keys, indented): a crash leaves the old
    /// file or the new one, never a mix.
    public func write(to url: URL) throws {
        try AtomicFile.write(Self.encoder.encode(self), to: url)
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }
}
