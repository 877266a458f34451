// What the CPU can do that the kernels choose between: BFloat16 dot products (avx512_bf16).
import Foundation

/// Instruction-set features of this CPU that change which kernels can run.
public enum CPUFeatures {
    /// Whether the CPU has AVX-512 BFloat16 instructions (`avx512_bf16`: `vdpbf16ps`), which
    /// oneDNN's BFloat16 convolutions need. Read from /proc/cpuinfo on Linux; false elsewhere.
    /// Setting the environment variable `DDPM_DISABLE_BF16=1` makes it false (to test the refusal).
    public static let hasBFloat16: Bool = {
        if ProcessInfo.processInfo.environment["DDPM_DISABLE_BF16"] == "1" { return false }
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return text.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").contains("avx512_bf16") ?? false
    }()
}
