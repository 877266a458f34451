// Saving and loading a module's parameters by name in safetensors files.
import Foundation
import Tensors

extension Module {
    /// Every parameter's current value (detached), by name.
    public var parameterTensors: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedParameters.map { ($0.name, $0.parameter.value.detached()) })
    }

    /// Writes the parameters to a safetensors file (atomically), in their current dtype.
    public func saveParameters(to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensorsFile.write(parameterTensors, metadata: metadata, to: url)
    }

    /// Replaces every parameter with the tensor of the same name in `file`, converted to the
    /// parameter's current dtype.
    ///
    /// Older diffusers uploads name the attention projections `query`, `key`, `value` and
    /// `proj_attn` instead of `to_q`, `to_k`, `to_v` and `to_out.0`; both are accepted.
    /// - Throws: `TensorFileError.missingTensor` or `.shapeMismatch` naming the file and tensor,
    ///   and `.unexpectedTensors` when the file holds tensors the module has no place for (a sign
    ///   that the configuration does not match the weights).
    public func loadParameters(from file: SafeTensorsFile) throws {
        var used = Set<String>()
        var loaded: [(Parameter, Tensor)] = []
        for (name, parameter) in namedParameters {
            let stored = ([name] + legacyNames(of: name)).first { file.entries[$0] != nil } ?? name
            let tensor = try file.tensor(named: stored, expectedShape: parameter.value.shape)
            used.insert(stored)
            loaded.append((parameter, tensor.converted(to: parameter.value.dtype)))
        }
        let extra = Set(file.names).subtracting(used)
        if !extra.isEmpty {
            throw TensorFileError.unexpectedTensors(file.url, tensors: extra.sorted())
        }
        for (parameter, tensor) in loaded { parameter.value = tensor }
    }

    /// Loads parameters from the safetensors file at `url`.
    public func loadParameters(from url: URL) throws {
        try loadParameters(from: SafeTensorsFile(contentsOf: url))
    }
}

/// The older diffusers names of an attention parameter, if `name` is one.
private func legacyNames(of name: String) -> [String] {
    for (new, old) in [(".to_q.", ".query."), (".to_k.", ".key."), (".to_v.", ".value."), (".to_out.0.", ".proj_attn.")]
    where name.contains(new) {
        return [name.replacingOccurrences(of: new, with: old)]
    }
    return []
}
