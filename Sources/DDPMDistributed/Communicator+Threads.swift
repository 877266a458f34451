// How many compute threads a rank should use when the user did not say: its share of the machine.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Communicator {
    /// The compute threads this rank should use when not told: the CPUs of its affinity mask when
    /// the launcher bound it to fewer than the machine has (Open MPI's `mpirun` binds each rank to
    /// a core when there are at most 2 ranks, to a socket otherwise; `srun --cpus-per-task`), else
    /// the machine's CPUs divided by the ranks on the machine (``localSize``), at least 1.
    ///
    /// Why: every rank defaults to all of the machine's cores otherwise, and N ranks × all cores
    /// oversubscribe the machine N times over, which is slower than either alone.
    public var suggestedThreadCount: Int {
        let online = Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let allowed = Self.affinityCount() ?? online
        if allowed < online { return Swift.max(1, allowed) }
        return Swift.max(1, online / Swift.max(1, localSize ?? size))
    }

    /// The number of CPUs this process may run on (`sched_getaffinity`), or nil where unknown.
    ///
    /// Glibc's module does not export `sched_getaffinity` (it needs `_GNU_SOURCE`), so it is looked
    /// up with `dlsym`; the mask is read into 1024 bits, glibc's `cpu_set_t`.
    static func affinityCount() -> Int? {
        #if os(Linux)
        typealias GetAffinity = @convention(c) (Int32, Int, UnsafeMutableRawPointer?) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_getaffinity") else { return nil }
        let getAffinity = unsafeBitCast(symbol, to: GetAffinity.self)
        var mask = [UInt64](repeating: 0, count: 16)
        let status = mask.withUnsafeMutableBytes { getAffinity(0, $0.count, $0.baseAddress) }
        guard status == 0 else { return nil }
        return mask.reduce(0) { $0 + $1.nonzeroBitCount }
        #else
        return nil
        #endif
    }
}
