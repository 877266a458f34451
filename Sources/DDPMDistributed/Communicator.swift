// The processes of a job and the few collectives data-parallel training needs: all-reduce (sum) of
// Float32 and Float64 buffers, broadcast, gather, barrier; over Open MPI, or one process alone.
import Foundation

/// The processes (ranks) of a job and the collective operations between them.
///
/// A job is either one process alone (``singleProcess``: rank 0 of 1, every collective a copy or
/// nothing) or the ranks an MPI launcher started (`mpirun -np N`, `srun`), talking through Open MPI
/// loaded at run time (see ``world(environment:)``). Code written against a communicator runs
/// unchanged in both: a program that never runs across processes never loads MPI.
///
/// Every collective must be called by every rank, in the same order, with the same lengths (as in
/// MPI); a rank that skips one leaves the others waiting. The calls are made from one thread, the
/// one that created the communicator (`MPI_THREAD_FUNNELED`). MPI's errors come back as
/// ``DistributedError/callFailed(function:rank:code:message:)`` (`MPI_ERRORS_RETURN`); a rank that
/// dies ends the whole job, as the launcher does it (Open MPI's `mpirun` and SLURM's `srun` both
/// kill the other ranks).
///
/// ```swift
/// let world = try Communicator.world()          // rank 0 of 1 unless started by mpirun/srun
/// var gradient: [Float] = …
/// try world.allReduceSum(&gradient)             // Σ over ranks, the same on every rank
/// if world.rank == 0 { /* write files */ }
/// try world.finalize()
/// ```
public final class Communicator: @unchecked Sendable {
    /// This process's rank, 0..<``size``.
    public let rank: Int
    /// The number of ranks in the job.
    public let size: Int
    /// The ranks on this machine (`OMPI_COMM_WORLD_LOCAL_SIZE`, SLURM's tasks per node), when the
    /// launcher says; nil otherwise.
    public let localSize: Int?
    /// What carries the messages: nothing (one process) or Open MPI.
    public let transport: Transport
    private let mpi: MPILibrary?
    private var isFinalized = false

    /// What carries a communicator's messages.
    public enum Transport: Equatable, Sendable {
        /// One process, no MPI: every collective is a copy or nothing.
        case singleProcess
        /// Open MPI, loaded from the library path given.
        case openMPI(library: String)
    }

    /// Whether this is rank 0, the rank that writes files and prints progress in this toolkit.
    public var isRoot: Bool { rank == 0 }

    /// One process alone: rank 0 of 1, no MPI.
    public static let singleProcess = Communicator(rank: 0, size: 1, localSize: 1, mpi: nil)

    private init(rank: Int, size: Int, localSize: Int?, mpi: MPILibrary?) {
        self.rank = rank
        self.size = size
        self.localSize = localSize
        self.mpi = mpi
        transport = mpi.map { .openMPI(library: $0.path) } ?? .singleProcess
    }

    // MARK: The world

    /// The environment variables whose presence says an MPI launcher started this process: Open
    /// MPI's `mpirun` (`OMPI_COMM_WORLD_SIZE`), a PMIx launcher such as `srun --mpi=pmix` or
    /// `prterun` (`PMIX_RANK`), a PMI-1/2 launcher (`PMI_RANK`).
    public static let launchVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]

    /// The launch variable set in `environment`, if any (see ``launchVariables``).
    public static func launcherVariable(in environment: [String: String]) -> String? {
        launchVariables.first { environment[$0] != nil }
    }

    nonisolated(unsafe) private static var cachedWorld: Communicator?
    private static let worldLock = NSLock()

    /// All the ranks of the job this process belongs to.
    ///
    /// When no MPI launcher started the process (none of ``launchVariables`` is set) this is
    /// ``singleProcess`` and MPI is never loaded: a user who never runs across processes needs no
    /// MPI installed. Otherwise Open MPI is loaded (`libmpi.so.40`, or the path in
    /// `DDPM_MPI_LIBRARY`), initialised with `MPI_THREAD_FUNNELED`, and `MPI_COMM_WORLD` set to
    /// return errors rather than abort. The first call decides; later calls return the same
    /// MPI communicator (MPI can be initialised once per process).
    /// - Throws: ``DistributedError/libraryUnavailable(_:)`` when launched by MPI but Open MPI
    ///   cannot be loaded; ``DistributedError/callFailed(function:rank:code:message:)`` when
    ///   `MPI_Init_thread` fails.
    public static func world(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Communicator {
        worldLock.lock()
        defer { worldLock.unlock() }
        if let cachedWorld { return cachedWorld }
        guard launcherVariable(in: environment) != nil else { return singleProcess }
        let world = try initializeMPI(environment: environment)
        cachedWorld = world
        return world
    }

    private static func initializeMPI(environment: [String: String]) throws -> Communicator {
        let mpi = try MPILibrary.load(environment: environment)
        let rankHint = environment["OMPI_COMM_WORLD_RANK"] ?? environment["PMIX_RANK"] ?? environment["PMI_RANK"] ?? "?"
        func check(_ code: Int32, _ function: String) throws {
            if code != 0 {
                throw DistributedError.callFailed(function: function, rank: Int(rankHint) ?? -1, code: code, message: mpi.describe(code))
            }
        }
        var already: Int32 = 0
        try check(mpi.initialized(&already), "MPI_Initialized")
        if already == 0 {
            var provided: Int32 = 0
            try check(mpi.initThread(nil, nil, MPILibrary.threadFunneled, &provided), "MPI_Init_thread")
        }
        try check(mpi.commSetErrhandler(mpi.commWorld, mpi.errorsReturn), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0, size: Int32 = 0
        try check(mpi.commRank(mpi.commWorld, &rank), "MPI_Comm_rank")
        try check(mpi.commSize(mpi.commWorld, &size), "MPI_Comm_size")
        let local =
            (environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? environment["MPI_LOCALNRANKS"]).flatMap(Int.init)
            ?? environment["SLURM_TASKS_PER_NODE"].flatMap { Int($0.prefix { $0.isNumber }) }
        return Communicator(rank: Int(rank), size: Int(size), localSize: local, mpi: mpi)
    }

    // MARK: Errors

    private func check(_ code: Int32, _ function: String) throws {
        guard code != 0, let mpi else { return }
        throw DistributedError.callFailed(function: function, rank: rank, code: code, message: mpi.describe(code))
    }

    private func requireRoot(_ root: Int, _ function: String) throws {
        guard (0..<size).contains(root) else {
            throw DistributedError.invalidArgument(
                function: function, rank: rank, message: "root \(root) is not a rank of this job (0..<\(size)).")
        }
    }

    /// The largest element count passed to one MPI call (MPI counts are 32-bit `int`s); longer
    /// buffers are sent in pieces of this many elements.
    static let maximumCount = 1 << 30

    private func pieces(_ count: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: Self.maximumCount).map { $0..<Swift.min(count, $0 + Self.maximumCount) }
    }

    // MARK: All-reduce

    /// Replaces `buffer` on every rank by the elementwise sum of every rank's `buffer` (in place,
    /// `MPI_Allreduce` with `MPI_SUM`). Every rank must pass the same length.
    ///
    /// The sum of two numbers does not depend on their order, so with 2 ranks every rank gets the
    /// same bits as one process adding the two; with more, the association is Open MPI's (fixed
    /// for a given job size and length, so a run repeats bit for bit).
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        guard let mpi, let base = buffer.baseAddress else { return }
        for piece in pieces(buffer.count) {
            try check(
                mpi.allreduce(MPILibrary.inPlace, base + piece.lowerBound, Int32(piece.count), mpi.float, mpi.sum, mpi.commWorld),
                "MPI_Allreduce")
        }
    }

    /// `allReduceSum` of an array of `Float`.
    public func allReduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
    }

    /// Replaces `values` on every rank by the elementwise sum over ranks (Float64, `MPI_SUM`).
    public func allReduceSum(_ values: inout [Double]) throws {
        try allReduce(&values, op: mpi?.sum, "MPI_Allreduce(MPI_SUM)")
    }

    /// Replaces `values` on every rank by the elementwise maximum over ranks (Float64, `MPI_MAX`).
    public func allReduceMax(_ values: inout [Double]) throws {
        try allReduce(&values, op: mpi?.max, "MPI_Allreduce(MPI_MAX)")
    }

    private func allReduce(_ values: inout [Double], op: OpaquePointer?, _ function: String) throws {
        guard let mpi else { return }
        try values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for piece in pieces(buffer.count) {
                try check(
                    mpi.allreduce(MPILibrary.inPlace, base + piece.lowerBound, Int32(piece.count), mpi.double, op, mpi.commWorld), function)
            }
        }
    }

    /// Starts summing `buffer` over ranks in place without waiting (`MPI_Iallreduce`), so that
    /// computation can go on while the message travels; ``PendingReduction/wait()`` finishes it.
    ///
    /// `buffer` must stay allocated and untouched until the wait returns. Every rank must start
    /// the same reductions in the same order. Open MPI moves a pending reduction forward only
    /// inside MPI calls, so a long computation should call ``PendingReduction/test()`` now and then.
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        let pending = PendingReduction(communicator: self)
        guard let mpi, let base = buffer.baseAddress else { return pending }
        for piece in pieces(buffer.count) {
            var request: OpaquePointer?
            try check(
                mpi.iallreduce(
                    MPILibrary.inPlace, base + piece.lowerBound, Int32(piece.count), mpi.float, mpi.sum, mpi.commWorld, &request),
                "MPI_Iallreduce")
            pending.requests.append(request)
        }
        return pending
    }

    /// Reductions started by ``startAllReduceSum(_:)`` and not yet known to be complete.
    public final class PendingReduction {
        fileprivate let communicator: Communicator
        fileprivate var requests: [OpaquePointer?] = []

        fileprivate init(communicator: Communicator) { self.communicator = communicator }

        /// Whether every piece has arrived (`MPI_Testall`); it also moves them forward.
        public func test() throws -> Bool {
            guard let mpi = communicator.mpi, !requests.isEmpty else { return true }
            var flag: Int32 = 0
            try communicator.check(mpi.testall(Int32(requests.count), &requests, &flag, nil), "MPI_Testall")
            if flag != 0 { requests = [] }
            return flag != 0
        }

        /// Waits until the sum is in the buffer on this rank (`MPI_Waitall`).
        public func wait() throws {
            guard let mpi = communicator.mpi, !requests.isEmpty else { return }
            try communicator.check(mpi.waitall(Int32(requests.count), &requests, nil), "MPI_Waitall")
            requests = []
        }
    }

    // MARK: Broadcast

    /// Copies `root`'s `buffer` into every rank's `buffer` (`MPI_Bcast`); every rank passes the
    /// same length.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, from root: Int = 0) throws {
        try requireRoot(root, "broadcast")
        guard let mpi, let base = buffer.baseAddress else { return }
        for piece in pieces(buffer.count) {
            try check(mpi.bcast(base + piece.lowerBound, Int32(piece.count), mpi.float, Int32(root), mpi.commWorld), "MPI_Bcast")
        }
    }

    /// Copies `root`'s bytes to every rank: the other ranks' `bytes` are replaced, whatever their
    /// length (the length is broadcast first).
    public func broadcast(_ bytes: inout [UInt8], from root: Int = 0) throws {
        try requireRoot(root, "broadcast")
        guard let mpi else { return }
        var count = [UInt64(bytes.count)]
        try count.withUnsafeMutableBytes { try check(mpi.bcast($0.baseAddress, 1, mpi.uint64, Int32(root), mpi.commWorld), "MPI_Bcast") }
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(count[0])) }
        try bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            for piece in pieces(buffer.count) {
                try check(mpi.bcast(base + piece.lowerBound, Int32(piece.count), mpi.byte, Int32(root), mpi.commWorld), "MPI_Bcast")
            }
        }
    }

    // MARK: Gather

    /// Every rank's `bytes` (any length each), in rank order, on every rank (`MPI_Allgatherv`).
    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        guard let mpi else { return [bytes] }
        let counts = try allGather(UInt64(bytes.count)).map(Int.init)
        let total = counts.reduce(0, +)
        guard total <= Int(Int32.max) else {
            throw DistributedError.invalidArgument(
                function: "allGather", rank: rank, message: "\(total) bytes in all; gather at most 2 GiB at once.")
        }
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<Swift.max(size, 1) { displacements[r] = displacements[r - 1] + Int32(counts[r - 1]) }
        let counts32 = counts.map { Int32($0) }
        var all = [UInt8](repeating: 0, count: total)
        try bytes.withUnsafeBytes { source in
            try all.withUnsafeMutableBytes { destination in
                try check(
                    mpi.allgatherv(
                        source.baseAddress ?? UnsafeRawPointer(bitPattern: 8), Int32(bytes.count), mpi.byte,
                        destination.baseAddress, counts32, displacements, mpi.byte, mpi.commWorld), "MPI_Allgatherv")
            }
        }
        return (0..<size).map { Array(all[Int(displacements[$0])..<Int(displacements[$0]) + counts[$0]]) }
    }

    /// Every rank's `value`, in rank order, on every rank (`MPI_Allgather`).
    public func allGather(_ value: UInt64) throws -> [UInt64] {
        guard let mpi else { return [value] }
        var mine = value
        var all = [UInt64](repeating: 0, count: size)
        try all.withUnsafeMutableBytes { destination in
            try check(mpi.allgather(&mine, 1, mpi.uint64, destination.baseAddress, 1, mpi.uint64, mpi.commWorld), "MPI_Allgather")
        }
        return all
    }

    /// Every rank's Float32 `values` (any length each) concatenated in rank order on rank `root`
    /// (`MPI_Gatherv`); the other ranks get nil.
    public func gather(_ values: [Float], to root: Int = 0) throws -> [Float]? {
        try requireRoot(root, "gather")
        guard let mpi else { return values }
        let counts = try allGather(UInt64(values.count)).map(Int.init)
        let total = counts.reduce(0, +)
        guard total <= Int(Int32.max) else {
            throw DistributedError.invalidArgument(
                function: "gather", rank: rank, message: "\(total) values in all; gather at most 2³¹ at once.")
        }
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<Swift.max(size, 1) { displacements[r] = displacements[r - 1] + Int32(counts[r - 1]) }
        var all = [Float](repeating: 0, count: rank == root ? total : 0)
        try values.withUnsafeBytes { source in
            try all.withUnsafeMutableBytes { destination in
                try check(
                    mpi.gatherv(
                        source.baseAddress ?? UnsafeRawPointer(bitPattern: 8), Int32(values.count), mpi.float,
                        destination.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 8), counts.map { Int32($0) }, displacements,
                        mpi.float, Int32(root), mpi.commWorld), "MPI_Gatherv")
            }
        }
        return rank == root ? all : nil
    }

    // MARK: Synchronisation and failure

    /// Returns once every rank has called it (`MPI_Barrier`).
    public func barrier() throws {
        guard let mpi else { return }
        try check(mpi.barrier(mpi.commWorld), "MPI_Barrier")
    }

    /// Runs `body` on every rank, then lets every rank know whether any failed: when one or more
    /// did, every rank throws ``DistributedError/rankFailed(failures:size:)`` with each failing
    /// rank's message, so that the job stops as one instead of leaving the others waiting.
    ///
    /// Use it around anything a rank can fail at alone (reading its data, opening a file) that
    /// the others would otherwise wait for.
    public func agree<T>(_ body: () throws -> T) throws -> T {
        var result: Result<T, any Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        guard mpi != nil else { return try result.get() }
        var message: [UInt8] = []
        if case .failure(let error) = result { message = Array("\(error)".utf8) + [0] }  // a trailing NUL: an empty message still counts
        let messages = try allGather(message)
        let failures = messages.enumerated().compactMap { rank, bytes in
            bytes.isEmpty ? nil : DistributedError.RankFailure(rank: rank, message: String(decoding: bytes.dropLast(), as: UTF8.self))
        }
        if !failures.isEmpty { throw DistributedError.rankFailed(failures: failures, size: size) }
        return try result.get()
    }

    /// Ends every rank of the job at once with `exitCode` (`MPI_Abort`; for one process, `exit`):
    /// for a failure the other ranks cannot know of, so that they do not wait for this one forever.
    public func abort(exitCode: Int32) -> Never {
        if let mpi { _ = mpi.abort(mpi.commWorld, exitCode) }
        exit(exitCode)
    }

    /// Seconds since an arbitrary moment (`MPI_Wtime`; the system's monotonic clock for one process).
    public func seconds() -> Double {
        if let mpi { return mpi.wtime() }
        return Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    /// Ends this rank's part in MPI (`MPI_Finalize`); call it once, on every rank, before a normal
    /// exit (Open MPI's launcher treats a rank that exits without it as failed). Nothing for one
    /// process; later calls do nothing.
    public func finalize() throws {
        guard let mpi, !isFinalized else { return }
        isFinalized = true
        var done: Int32 = 0
        _ = mpi.finalized(&done)
        if done == 0 { try check(mpi.finalize(), "MPI_Finalize") }
    }
}
