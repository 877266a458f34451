// Loading and saving a U-Net as a diffusers folder: config.json + diffusion_pytorch_model.safetensors.
import DDPMFileSupport
import Foundation
import DDPMNeuralNetworks
import DDPMTensors

/// What went wrong loading or saving a diffusers folder. `description` names the file (and,
/// for weights, the tensor) and says what was expected.
public enum DiffusersFolderError: Error, CustomStringConvertible {
    /// The folder does not exist or is not a folder.
    case notAFolder(URL)
    /// The folder has no config.json.
    case missingConfig(URL)
    /// The folder has no diffusion_pytorch_model.safetensors.
    case missingWeights(URL)
    /// config.json cannot be read or does not describe a supported U-Net.
    case invalidConfig(URL, message: String)
    /// The weights file is unreadable, corrupt, or does not match config.json (the underlying
    /// error names the file and tensor).
    case weights(URL, TensorFileError)
    /// The parameters config.json describes would need more memory than the machine has.
    case tooLarge(URL, parameters: Int, bytes: Int?, available: UInt64)
    /// Writing the folder failed.
    case cannotWrite(URL, reason: String)

    /// One message naming the file (and for weights the tensor), what was expected, and what to do.
    public var description: String {
        switch self {
        case let .notAFolder(url):
            return
                "\(url.path): not a folder; a diffusers model folder holds \(DiffusersFolder.configName) and \(DiffusersFolder.weightsName)."
        case let .missingConfig(url):
            return "\(url.path): missing; a diffusers model folder needs \(DiffusersFolder.configName) (a UNet2DModel config)."
        case let .missingWeights(url):
            return "\(url.path): missing; a diffusers model folder needs \(DiffusersFolder.weightsName) "
                + "(PyTorch .bin weights are not supported: convert them with save_pretrained(..., safe_serialization=True))."
        case let .invalidConfig(url, message):
            return "\(url.path): \(message)"
        case let .weights(_, error):
            return error.description
        case let .tooLarge(url, parameters, bytes, available):
            let size = bytes.map { "\(Self.gigabytes(UInt64($0))) GB" } ?? "more bytes than can be counted"
            return "\(url.path): describes a U-Net of \(parameters) parameters, which need \(size); this machine has "
                + "\(Self.gigabytes(available)) GB of memory. The config is corrupt or the model is too large for this machine."
        case let .cannotWrite(url, reason):
            return "\(url.path): cannot write (\(reason))."
        }
    }

    /// Bytes in GB (10⁹), one decimal.
    static func gigabytes(_ bytes: UInt64) -> String {
        let tenths = bytes / 100_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// The file the error is about.
    public var file: URL {
        switch self {
        case let .notAFolder(url), let .missingConfig(url), let .missingWeights(url), let .invalidConfig(url, _),
            let .weights(url, _), let .tooLarge(url, _, _, _), let .cannotWrite(url, _):
            return url
        }
    }
}

/// A diffusers `UNet2DModel` folder (`save_pretrained` layout).
public enum DiffusersFolder {
    /// `config.json`: the `UNet2DModel` configuration.
    public static let configName = "config.json"
    /// `diffusion_pytorch_model.safetensors`: the weights, under diffusers' parameter names.
    public static let weightsName = "diffusion_pytorch_model.safetensors"

    /// Reads only the configuration of the folder at `url` (no weights are read).
    ///
    /// - Throws: ``DiffusersFolderError/notAFolder(_:)``, ``DiffusersFolderError/missingConfig(_:)``,
    ///   or ``DiffusersFolderError/invalidConfig(_:message:)`` naming the key.
    public static func configuration(at url: URL) throws -> UNetConfiguration {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DiffusersFolderError.notAFolder(url)
        }
        let configURL = url.appendingPathComponent(configName)
        guard FileManager.default.fileExists(atPath: configURL.path) else { throw DiffusersFolderError.missingConfig(configURL) }
        let data: Data
        do {
            data = try Data(contentsOf: configURL)
        } catch {
            throw DiffusersFolderError.invalidConfig(configURL, message: "cannot read (\(error.localizedDescription))")
        }
        do {
            return try UNetConfiguration(diffusersConfig: data, file: configURL.path)
        } catch let error as DiffusersConfigError {
            throw DiffusersFolderError.invalidConfig(configURL, message: error.message)
        }
    }

    /// Loads the folder at `url` into a `UNet` whose parameters have `dtype`.
    ///
    /// The network is built with a fixed seed (the initial values are all replaced), then every
    /// parameter is read from the weights file; a missing, extra or misshapen tensor is an error,
    /// and so are NaN or infinite weights. A configuration whose parameters would not fit in the
    /// machine's physical memory is refused before anything is allocated.
    ///
    /// Attention tensors may use the older diffusers names (`query`, `key`, `value`, `proj_attn`)
    /// as well as `to_q`, `to_k`, `to_v`, `to_out.0`; F16 and BF16 weights are widened to Float32.
    ///
    /// - Parameters:
    ///   - url: the folder holding config.json and diffusion_pytorch_model.safetensors.
    ///   - dtype: the parameters' element type (`.float64` widens the stored weights).
    /// - Throws: ``DiffusersFolderError``: the folder or a file is missing, the config is invalid
    ///   (``DiffusersFolderError/invalidConfig(_:message:)``), the parameters would not fit in memory
    ///   (``DiffusersFolderError/tooLarge(_:parameters:bytes:available:)``), or the weights are corrupt,
    ///   misshapen, missing, extra or not finite (``DiffusersFolderError/weights(_:_:)``).
    public static func load(_ url: URL, dtype: DType = .float32) throws -> UNet {
        let configuration = try configuration(at: url)
        try checkMemory(configuration, dtype: dtype, file: url.appendingPathComponent(configName))
        let weightsURL = url.appendingPathComponent(weightsName)
        guard FileManager.default.fileExists(atPath: weightsURL.path) else { throw DiffusersFolderError.missingWeights(weightsURL) }
        // Parse the weights before building the network, so a corrupt file fails fast.
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(contentsOf: weightsURL)
        } catch let error as TensorFileError {
            throw DiffusersFolderError.weights(weightsURL, error)
        }
        var generator = PhiloxGenerator(seed: 0)
        let model = UNet(configuration, generator: &generator)
        if dtype != .float32 { model.convertParameters(to: dtype) }
        do {
            try model.loadParameters(from: file)
        } catch let error as TensorFileError {
            throw DiffusersFolderError.weights(weightsURL, error)
        }
        return model
    }

    /// Throws `.tooLarge` when the parameters of `configuration` in `dtype` need more than
    /// `availableMemory` bytes (by default the machine's physical memory).
    ///
    /// Only the parameters are counted (``UNetConfiguration/parameterCount`` × the dtype's size):
    /// a check that the file is plausible, not that a forward pass fits.
    ///
    /// - Parameters:
    ///   - configuration: the U-Net the folder describes.
    ///   - dtype: the parameters' element type.
    ///   - file: the config file, named in the error.
    ///   - availableMemory: the limit in bytes.
    /// - Throws: ``DiffusersFolderError/tooLarge(_:parameters:bytes:available:)``, or
    ///   ``DiffusersFolderError/invalidConfig(_:message:)`` when the count overflows `Int`.
    public static func checkMemory(
        _ configuration: UNetConfiguration, dtype: DType, file: URL, availableMemory: UInt64 = ProcessInfo.processInfo.physicalMemory
    ) throws {
        guard let parameters = configuration.parameterCount else {
            throw DiffusersFolderError.invalidConfig(file, message: "the configuration has more parameters than can be counted")
        }
        let (bytes, overflow) = parameters.multipliedReportingOverflow(by: dtype.byteSize)
        guard overflow || UInt64(bytes) > availableMemory else { return }
        throw DiffusersFolderError.tooLarge(file, parameters: parameters, bytes: overflow ? nil : bytes, available: availableMemory)
    }

    /// Writes `model` as a diffusers folder at `url` (created if needed): config.json and the
    /// weights in the parameters' current dtype. Each file is replaced atomically and synced to
    /// disk (temporary file, `fsync`, `rename`).
    ///
    /// - Throws: ``DiffusersFolderError/cannotWrite(_:reason:)`` or
    ///   ``DiffusersFolderError/weights(_:_:)``.
    public static func save(_ model: UNet, to url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw DiffusersFolderError.cannotWrite(url, reason: error.localizedDescription)
        }
        let weightsURL = url.appendingPathComponent(weightsName)
        do {
            try model.saveParameters(to: weightsURL, metadata: ["format": "pt"])
        } catch let error as TensorFileError {
            throw DiffusersFolderError.weights(weightsURL, error)
        }
        let configURL = url.appendingPathComponent(configName)
        do {
            try AtomicFile.write(model.configuration.diffusersConfig(), to: configURL)
        } catch let error as FileWriteError {
            throw DiffusersFolderError.cannotWrite(configURL, reason: error.reason)
        }
    }
}

extension UNet {
    /// Loads a diffusers folder (see `DiffusersFolder.load`).
    public static func load(diffusersFolder url: URL, dtype: DType = .float32) throws -> UNet {
        try DiffusersFolder.load(url, dtype: dtype)
    }

    /// Saves this network as a diffusers folder (see `DiffusersFolder.save`).
    public func save(diffusersFolder url: URL) throws {
        try DiffusersFolder.save(self, to: url)
    }
}
