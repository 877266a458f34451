// Open MPI loaded at run time: dlopen("libmpi.so.40") and dlsym of the few functions and predefined
// handles used, so that nothing in the build (and nothing at run time outside an MPI job) needs MPI.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Open MPI library of the running process, and the calls `Communicator` makes through it.
///
/// Why at run time rather than a system-library target: a user who never runs across processes
/// must not need MPI to build or to run, and `make demo` / `make test` must work on a machine
/// without it. The C API is reached through `dlsym`, which needs no header: Open MPI's handle types
/// (`MPI_Comm`, `MPI_Datatype`, `MPI_Op`, `MPI_Errhandler`, `MPI_Request`) are pointers, and its
/// predefined handles (`MPI_COMM_WORLD`, `MPI_FLOAT`, `MPI_SUM`, …) are the addresses of exported
/// globals (`ompi_mpi_comm_world`, `ompi_mpi_float`, `ompi_mpi_op_sum`, …), which `dlsym` returns.
/// The values below (`MPI_IN_PLACE` = 1, `MPI_STATUSES_IGNORE` = NULL, `MPI_THREAD_FUNNELED` = 1)
/// are those of Open MPI's `mpi.h` (ABI `libmpi.so.40`, Open MPI 3.0 to 5.x); MPICH's ABI differs
/// (integer handles) and is not supported.
///
/// The library is opened with `RTLD_GLOBAL`: Open MPI's components (`mca_*.so`) are themselves
/// dlopen'ed by libmpi and resolve symbols of libmpi in the global namespace.
final class MPILibrary: @unchecked Sendable {
    typealias Handle = OpaquePointer

    // MARK: Function types (Open MPI's prototypes with every handle as a pointer)
    typealias InitThread =
        @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<Int32>?) -> Int32
    typealias Flag = @convention(c) (UnsafeMutablePointer<Int32>?) -> Int32
    typealias Finalize = @convention(c) () -> Int32
    typealias CommInt = @convention(c) (Handle?, UnsafeMutablePointer<Int32>?) -> Int32
    typealias SetErrhandler = @convention(c) (Handle?, Handle?) -> Int32
    typealias ErrorString = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int32>?) -> Int32
    typealias Allreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle?, Handle?, Handle?) -> Int32
    typealias Iallreduce =
        @convention(c) (
            UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle?, Handle?, Handle?,
            UnsafeMutablePointer<Handle?>?
        ) -> Int32
    typealias Bcast = @convention(c) (UnsafeMutableRawPointer?, Int32, Handle?, Int32, Handle?) -> Int32
    typealias Allgather = @convention(c) (UnsafeRawPointer?, Int32, Handle?, UnsafeMutableRawPointer?, Int32, Handle?, Handle?) -> Int32
    typealias Allgatherv =
        @convention(c) (
            UnsafeRawPointer?, Int32, Handle?, UnsafeMutableRawPointer?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?, Handle?, Handle?
        ) -> Int32
    typealias Gatherv =
        @convention(c) (
            UnsafeRawPointer?, Int32, Handle?, UnsafeMutableRawPointer?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?, Handle?, Int32, Handle?
        ) -> Int32
    typealias Barrier = @convention(c) (Handle?) -> Int32
    typealias Abort = @convention(c) (Handle?, Int32) -> Int32
    typealias Waitall = @convention(c) (Int32, UnsafeMutablePointer<Handle?>?, UnsafeMutableRawPointer?) -> Int32
    typealias Testall =
        @convention(c) (Int32, UnsafeMutablePointer<Handle?>?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32
    typealias Wtime = @convention(c) () -> Double

    /// `MPI_IN_PLACE` in Open MPI's `mpi.h`: `((void *) 1)`.
    static var inPlace: UnsafeRawPointer { UnsafeRawPointer(bitPattern: 1)! }
    /// `MPI_THREAD_FUNNELED`: only the thread that initialised MPI calls it (the training loop's).
    static let threadFunneled: Int32 = 1
    /// `MPI_MAX_ERROR_STRING` in Open MPI.
    static let maxErrorString = 256

    /// Where the library was found (the name or path given to `dlopen`).
    let path: String

    let initThread: InitThread
    let initialized: Flag
    let finalized: Flag
    let finalize: Finalize
    let commRank: CommInt
    let commSize: CommInt
    let commSetErrhandler: SetErrhandler
    let errorString: ErrorString
    let allreduce: Allreduce
    let iallreduce: Iallreduce
    let bcast: Bcast
    let allgather: Allgather
    let allgatherv: Allgatherv
    let gatherv: Gatherv
    let barrier: Barrier
    let abort: Abort
    let waitall: Waitall
    let testall: Testall
    let wtime: Wtime

    /// `MPI_COMM_WORLD`.
    let commWorld: Handle
    /// `MPI_ERRORS_RETURN`.
    let errorsReturn: Handle
    /// `MPI_BYTE`, `MPI_FLOAT`, `MPI_DOUBLE`, `MPI_INT`, `MPI_UINT64_T`.
    let byte: Handle, float: Handle, double: Handle, int: Handle, uint64: Handle
    /// `MPI_SUM`, `MPI_MAX`, `MPI_MIN`.
    let sum: Handle, max: Handle, min: Handle

    /// The library names tried in order when `DDPM_MPI_LIBRARY` is not set: Open MPI's ABI 40
    /// (Debian's `libopenmpi3`, Open MPI 3.0–5.x).
    static let defaultNames = ["libmpi.so.40", "libmpi.so", "libmpi.40.dylib", "libmpi.dylib"]

    /// Opens Open MPI: the file named by the environment variable `DDPM_MPI_LIBRARY` when it is
    /// set, else the first of `defaultNames` the dynamic linker finds.
    /// - Throws: ``DistributedError/libraryUnavailable(_:)`` with `dlerror`'s words and what to install.
    static func load(environment: [String: String]) throws -> MPILibrary {
        let names = environment["DDPM_MPI_LIBRARY"].map { [$0] } ?? defaultNames
        var reasons: [String] = []
        for name in names {
            if let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) {
                return try MPILibrary(handle: handle, path: name)
            }
            reasons.append(dlerror().map { String(cString: $0) } ?? "\(name): not found")
        }
        throw DistributedError.libraryUnavailable(
            "cannot load Open MPI (\(reasons.joined(separator: "; "))). This process was started by an MPI launcher; install "
                + "Open MPI's runtime (Debian: apt-get install libopenmpi3 openmpi-bin) or set DDPM_MPI_LIBRARY to the path of "
                + "libmpi.so.40. Only Open MPI's ABI is supported (not MPICH's).")
    }

    private init(handle: UnsafeMutableRawPointer, path: String) throws {
        self.path = path
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let address = dlsym(handle, name) else {
                throw DistributedError.libraryUnavailable(
                    "\(path) has no symbol \(name): it is not Open MPI 3.0 or later (ABI libmpi.so.40). Set DDPM_MPI_LIBRARY to Open MPI's libmpi.so.40."
                )
            }
            return address
        }
        func function<F>(_ name: String, _ type: F.Type) throws -> F { unsafeBitCast(try symbol(name), to: type) }
        func predefined(_ name: String) throws -> Handle { OpaquePointer(try symbol(name)) }
        initThread = try function("MPI_Init_thread", InitThread.self)
        initialized = try function("MPI_Initialized", Flag.self)
        finalized = try function("MPI_Finalized", Flag.self)
        finalize = try function("MPI_Finalize", Finalize.self)
        commRank = try function("MPI_Comm_rank", CommInt.self)
        commSize = try function("MPI_Comm_size", CommInt.self)
        commSetErrhandler = try function("MPI_Comm_set_errhandler", SetErrhandler.self)
        errorString = try function("MPI_Error_string", ErrorString.self)
        allreduce = try function("MPI_Allreduce", Allreduce.self)
        iallreduce = try function("MPI_Iallreduce", Iallreduce.self)
        bcast = try function("MPI_Bcast", Bcast.self)
        allgather = try function("MPI_Allgather", Allgather.self)
        allgatherv = try function("MPI_Allgatherv", Allgatherv.self)
        gatherv = try function("MPI_Gatherv", Gatherv.self)
        barrier = try function("MPI_Barrier", Barrier.self)
        abort = try function("MPI_Abort", Abort.self)
        waitall = try function("MPI_Waitall", Waitall.self)
        testall = try function("MPI_Testall", Testall.self)
        wtime = try function("MPI_Wtime", Wtime.self)
        commWorld = try predefined("ompi_mpi_comm_world")
        errorsReturn = try predefined("ompi_mpi_errors_return")
        byte = try predefined("ompi_mpi_byte")
        float = try predefined("ompi_mpi_float")
        double = try predefined("ompi_mpi_double")
        int = try predefined("ompi_mpi_int")
        uint64 = try predefined("ompi_mpi_uint64_t")
        sum = try predefined("ompi_mpi_op_sum")
        max = try predefined("ompi_mpi_op_max")
        min = try predefined("ompi_mpi_op_min")
    }

    /// MPI's words for an error code (`MPI_Error_string`).
    func describe(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Self.maxErrorString + 1)
        var length: Int32 = 0
        guard errorString(code, &buffer, &length) == 0 else { return "MPI error \(code)" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
