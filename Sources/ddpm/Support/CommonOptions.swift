// Options shared by the subcommands.
import ArgumentParser
import Tensors

/// `--threads`: how many threads the kernels use (Swift kernels and oneDNN together).
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for the compute kernels (default: all cores). On a shared machine 1 can be faster.")
    var threads: Int?

    func apply() throws {
        if let threads {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
            ComputeThreads.set(threads)
        }
    }
}
