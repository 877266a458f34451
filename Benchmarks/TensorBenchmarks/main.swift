// Release-mode benchmarks of the tensor kernels. Run with `make bench`; `--threads K` sets the thread count.
import DDPMTensors

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
if let flag = arguments.firstIndex(of: "--threads") {
    guard flag + 1 < arguments.count, let threads = Int(arguments[flag + 1]), threads >= 1 else {
        print("usage: TensorBenchmarks [--threads K]  (K ≥ 1)")
        exit(2)
    }
    ComputeThreads.set(threads)
}
print("TensorBenchmarks (\(ComputeThreads.count) threads)")

let gemmGFLOPS = runGEMMBenchmark()
runConvolutionBenchmarks(gemmGFLOPS: gemmGFLOPS)
runElementwiseBenchmarks()
