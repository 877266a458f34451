// Typed reads of a scheduler config's keys: each falls back to diffusers' default when absent or
// null, and fails naming the file and the key.
import DDPMModels
import Foundation

/// The keys of one scheduler config, read strictly (see ``SchedulerConfigFile``).
struct SchedulerConfigKeys {
    /// The parsed file.
    let object: [String: Any]
    /// diffusers' defaults for the file's scheduler class.
    let defaults: [String: Any]
    /// The file, for errors.
    let path: String

    func fail(_ key: String, _ message: String) -> TrainingError {
        .invalidFile(path: path, message: "\(key) \(message)")
    }

    /// The value written, or diffusers' default when the key is absent or null.
    func value(_ key: String) -> Any {
        guard let v = object[key], !(v is NSNull) else { return defaults[key] ?? NSNull() }
        return v
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        let v = value(key)
        guard let n = DiffusersJSON.integer(v), range.contains(n) else {
            throw fail(key, "\(DiffusersJSON.describe(v)) is not an integer in \(range.lowerBound)…\(range.upperBound).")
        }
        return n
    }

    /// A number; ±∞ (Python's `Infinity`) only where `range` reaches it.
    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double {
        let v = value(key)
        let n: Double? =
            if let number = v as? NSNumber, !DiffusersJSON.isBoolean(number) { SchedulerConfigFile.double(number) } else {
                DiffusersJSON.nonFinite(v)
            }
        guard let n, !n.isNaN, range.contains(n) else {
            throw fail(key, "\(DiffusersJSON.describe(v)) is not a number in \(range.lowerBound)…\(range.upperBound).")
        }
        return n
    }

    func boolean(_ key: String) throws -> Bool {
        let v = value(key)
        guard let n = v as? NSNumber, DiffusersJSON.isBoolean(n) else {
            throw fail(key, "\(DiffusersJSON.describe(v)) is not true or false.")
        }
        return n.boolValue
    }

    /// One of `supported`; `why` says why another value is not supported.
    func choice(_ key: String, _ supported: [String], why: [String: String] = [:]) throws -> String {
        let v = value(key)
        guard let text = v as? String, supported.contains(text) else {
            let reason = (v as? String).flatMap { why[$0] }.map { " (\($0))" } ?? ""
            throw fail(key, "\"\(DiffusersJSON.describe(v))\" is not supported\(reason); supported: \(supported.joined(separator: ", ")).")
        }
        return text
    }

    /// Refuses a key unless it holds its default (`false`, null or an empty list): a setting this
    /// toolkit does not implement, with what it would have done.
    func requireDefault(_ key: String, _ what: String) throws {
        let v = value(key)
        let isDefault =
            v is NSNull || (v as? [Any])?.isEmpty == true
            || ((v as? NSNumber).map { DiffusersJSON.isBoolean($0) && !$0.boolValue } ?? false)
        guard isDefault else {
            throw fail(key, "\(DiffusersJSON.describe(v)) is not supported (\(what)); remove the key or set it to its default.")
        }
    }
}
