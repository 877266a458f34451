// JSON decoding that refuses what it does not understand: a missing, mistyped or unknown key, or an
// unknown value, is an error that names the file and the key path.
import Foundation

enum StrictJSON {
    /// Decodes `T` from `data` (read from `path`), then checks that every key of the input is one
    /// that `T` writes back (a key `T` does not know would otherwise be ignored silently).
    static func decode<T: Codable>(_: T.Type, from data: Data, path: String) throws -> T {
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw TrainingError.invalidFile(
                path: path,
                message: fractionKey(T.self, in: data).map {
                    "key \"\($0)\": expected an integer, found a fraction."
                } ?? describe(error))
        } catch {
            throw TrainingError.invalidFile(path: path, message: "not valid JSON (\(error)).")
        }
        let input = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        let written = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value), options: [.fragmentsAllowed])
        if let key = unknownKey(in: input, comparedWith: written, path: []) {
            throw TrainingError.invalidFile(path: path, message: "unknown key \"\(key)\"; remove it (or check its spelling).")
        }
        return value
    }

    /// The key of a fraction where `T` wants an integer: Foundation's decoder reports that as
    /// invalid JSON without a key, so each fraction is rounded in turn until `T` decodes.
    private static func fractionKey<T: Decodable>(_: T.Type, in data: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: data) else { return nil }
        var fractions: [[String]] = []
        func collect(_ value: Any, _ path: [String]) {
            if let dictionary = value as? [String: Any] {
                for (key, inner) in dictionary { collect(inner, path + [key]) }
            } else if let array = value as? [Any] {
                for (i, inner) in array.enumerated() { collect(inner, path + ["\(i)"]) }
            } else if let number = value as? NSNumber, number.doubleValue.isFinite, number.doubleValue.rounded() != number.doubleValue {
                fractions.append(path)
            }
        }
        func replacing(_ value: Any, _ path: ArraySlice<String>) -> Any {
            guard let key = path.first else { return ((value as? NSNumber)?.doubleValue.rounded()).map { NSNumber(value: $0) } ?? value }
            if var dictionary = value as? [String: Any], let inner = dictionary[key] {
                dictionary[key] = replacing(inner, path.dropFirst())
                return dictionary
            }
            if var array = value as? [Any], let i = Int(key), array.indices.contains(i) {
                array[i] = replacing(array[i], path.dropFirst())
                return array
            }
            return value
        }
        collect(object, [])
        for path in fractions.sorted(by: { $0.joined(separator: ".") < $1.joined(separator: ".") }) {
            if let patched = try? JSONSerialization.data(withJSONObject: replacing(object, path[...])),
                (try? JSONDecoder().decode(T.self, from: patched)) != nil
            {
                return path.joined(separator: ".")
            }
        }
        return nil
    }

    /// The first key path of `input` that `known` lacks (null values count as absent).
    private static func unknownKey(in input: Any, comparedWith known: Any, path: [String]) -> String? {
        if let object = input as? [String: Any] {
            let knownObject = known as? [String: Any] ?? [:]
            for key in object.keys.sorted() {
                let value = object[key]!
                if value is NSNull { continue }
                guard let knownValue = knownObject[key] else { return (path + [key]).joined(separator: ".") }
                if let found = unknownKey(in: value, comparedWith: knownValue, path: path + [key]) { return found }
            }
        } else if let array = input as? [Any], let knownArray = known as? [Any] {
            for (i, value) in array.enumerated() where i < knownArray.count {
                if let found = unknownKey(in: value, comparedWith: knownArray[i], path: path + ["\(i)"]) { return found }
            }
        }
        return nil
    }

    /// "key a.b.c: what is wrong".
    static func describe(_ error: DecodingError) -> String {
        func name(_ path: [any CodingKey]) -> String {
            path.isEmpty ? "(top level)" : path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key \"\(name(context.codingPath + [key]))\"."
        case .typeMismatch(let type, let context):
            return "key \"\(name(context.codingPath))\": expected \(type) (\(context.debugDescription))."
        case .valueNotFound(let type, let context):
            return "key \"\(name(context.codingPath))\": expected \(type), found null."
        case .dataCorrupted(let context):
            return "key \"\(name(context.codingPath))\": \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
