// Saving and loading a module's parameters by name in safetensors files.
import Foundation
import DDPMTensors

extension Module {
    /// Every parameter's current value (detached), by name: what ``saveParameters(to:metadata:)``
    /// writes.
    public var parameterTensors: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedParameters.map { ($0.name, $0.parameter.value.detached()) })
    }

    /// Writes the parameters to a safetensors file (atomically), in their current dtype, under
    /// their ``namedParameters`` names (diffusers' and PyTorch's `state_dict` keys).
    /// - Parameters:
    ///   - url: the destination file (its folder must exist).
    ///   - metadata: the `__metadata__` string map, e.g. `["format": "pt"]` for diffusers.
    /// - Throws: `TensorFileError.cannotWrite` naming the file and the failing system call.
    public func saveParameters(to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensorsFile.write(parameterTensors, metadata: metadata, to: url)
    }

    /// Replaces every parameter with the tensor of the same name in `file`, converted to the
    /// parameter's current dtype.
    ///
    /// Older diffusers uploads name the attention projections `query`, `key`, `value` and
    /// `proj_attn` instead of `to_q`, `to_k`, `to_v` and `to_out.0`; both are accepted.
    /// NaN and infinite values are refused unless `allowNonFinite` is true: sampling with them
    /// gives NaN images without a word, so damaged weights are reported when they are loaded.
    /// - Throws: `TensorFileError.missingTensor` or `.shapeMismatch` naming the file and tensor,
    ///   `.unexpectedTensors` when the file holds tensors the module has no place for (a sign
    ///   that the configuration does not match the weights), and `.nonFiniteValues` naming the
    ///   first tensor (in parameter order) with NaN or infinite values and how many it holds.
    ///   Nothing is replaced unless every tensor passes, so a failed load leaves the module as it
    ///   was.
    public func loadParameters(from file: SafeTensorsFile, allowNonFinite: Bool = false) throws {
        var used = Set<String>()
        var loaded: [(Parameter, Tensor)] = []
        var firstNonFinite: (name: String, count: Int)?
        var nonFiniteTensors = 0
        for (name, parameter) in namedParameters {
            let stored = ([name] + legacyNames(of: name)).first { file.entries[$0] != nil } ?? name
            let tensor = try file.tensor(named: stored, expectedShape: parameter.value.shape).converted(to: parameter.value.dtype)
            used.insert(stored)
            loaded.append((parameter, tensor))
            let count = allowNonFinite ? 0 : nonFiniteCount(tensor)
            if count > 0 {
                nonFiniteTensors += 1
                if firstNonFinite == nil { firstNonFinite = (stored, count) }
            }
        }
        let extra = Set(file.names).subtracting(used)
        if !extra.isEmpty {
            throw TensorFileError.unexpectedTensors(file.url, tensors: extra.sorted())
        }
        if let firstNonFinite {
            throw TensorFileError.nonFiniteValues(
                file.url, tensor: firstNonFinite.name, count: firstNonFinite.count, tensors: nonFiniteTensors)
        }
        for (parameter, tensor) in loaded { parameter.value = tensor }
    }

    /// Loads parameters from the safetensors file at `url`: reads and validates the file
    /// (``SafeTensorsFile/init(contentsOf:)``), then loads it as the overload that takes a
    /// ``SafeTensorsFile`` does.
    /// - Throws: `TensorFileError` naming the file: any error of reading or validating it, or of
    ///   matching its tensors to the parameters.
    public func loadParameters(from url: URL, allowNonFinite: Bool = false) throws {
        try loadParameters(from: SafeTensorsFile(contentsOf: url), allowNonFinite: allowNonFinite)
    }
}

/// How many of the tensor's values are NaN or infinite.
private func nonFiniteCount(_ tensor: Tensor) -> Int {
    switch tensor.dtype {
    case .float32: tensor.withUnsafeBufferPointer(as: Float.self) { values in values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) } }
    case .float64: tensor.withUnsafeBufferPointer(as: Double.self) { values in values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) } }
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
