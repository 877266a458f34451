// Options shared by the subcommands.
import ArgumentParser
import DDPMTensors

/// `--threads` (how many threads the Swift kernels and oneDNN use together), `--convolution`
/// (Winograd or direct convolutions), `--precision` and `--activations` (their memory layout).
struct ComputeOptions: ParsableArguments {
    @Option(help: "Threads for the compute kernels (default: all cores). On a shared machine 1 can be faster.")
    var threads: Int?

    @Option(
        help: ArgumentHelp(
            "Convolution algorithm: winograd (Winograd F(4×4, 3×3) for 3×3 stride-1 convolutions where oneDNN has it, direct elsewhere) or direct.",
            valueName: "winograd|direct"))
    var convolution: Convolution = .winograd

    /// `--convolution`.
    enum Convolution: String, ExpressibleByArgument, CaseIterable {
        case winograd, direct
    }

    @Option(
        help: ArgumentHelp(
            "Precision of the products of the convolutions and of attention: fp32, or bf16 (BFloat16 factors, Float32 sums; everything else Float32: weights, Adam, EMA, normalisation, softmax, the diffusion update; needs avx512_bf16).",
            valueName: "fp32|bf16"))
    var precision: Precision = .fp32

    /// `--precision`.
    enum Precision: String, ExpressibleByArgument, CaseIterable {
        case fp32, bf16
    }

    @Option(
        help: ArgumentHelp(
            "Memory layout of the network's activations: blocked (oneDNN's nChw16c wherever there are 16·k channels, so convolutions need no reorders) or row-major (NCHW throughout). Same results either way up to Float32 rounding.",
            valueName: "blocked|row-major"))
    var activations: Activations = .blocked

    /// `--activations`.
    enum Activations: String, ExpressibleByArgument, CaseIterable {
        case blocked
        case rowMajor = "row-major"
    }

    func validate() throws {
        if let threads { guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") } }
    }

    func apply() throws {
        if precision == .bf16 && !CPUFeatures.hasBFloat16 {
            throw CommandFailure(
                "--precision bf16: this CPU has no avx512_bf16 instructions (BFloat16 dot products); use --precision fp32.")
        }
        if let threads { ComputeThreads.set(threads) }
        DNNLConvolution.defaultAlgorithm = convolution == .winograd ? .winograd : .direct
        DNNLConvolution.defaultPrecision = precision == .bf16 ? .bfloat16 : .float32
        TensorLayout.blockedActivations = activations == .blocked
    }
}
