// The process-wide oneDNN CPU engine and stream, the lock that serialises oneDNN work, and status checks.
import CDNNL

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// oneDNN's CPU engine and its one in-order stream, created on first use and kept for the life of
/// the process.
///
/// Every oneDNN call in this package runs inside `withLock`: the primitive caches, the scratch
/// arena and the stream are shared, and each primitive already runs on all OpenMP threads, so
/// serialising calls costs no throughput (and keeps two OpenMP teams off two cores).
final class DNNLEngine: @unchecked Sendable {
    /// The engine, created lazily (a `static let` is initialised once, thread-safely).
    static let shared = DNNLEngine()

    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    /// Blocked copies and scratchpads; only touched under the lock.
    private let arena = DNNLScratchArena()
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    private init() {
        var engine: dnnl_engine_t?
        Self.check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create(cpu, 0)")
        var stream: dnnl_stream_t?
        Self.check(
            dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue),
            "dnnl_stream_create(cpu)")
        self.engine = engine!
        self.stream = stream!
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    /// Runs `body` while holding the lock that guards all oneDNN state, handing it the scratch arena.
    ///
    /// Also gives the calling thread `ComputeThreads.count` OpenMP threads: in GNU OpenMP the
    /// thread count set by `omp_set_num_threads` belongs to the thread that set it, so a kernel
    /// called from another thread (a Swift task, a test) would otherwise use the default.
    func withLock<Result>(_ body: (DNNLScratchArena) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let threads = ComputeThreads.count
        if Int(omp_get_max_threads()) != threads { omp_set_num_threads(Int32(threads)) }
        return try body(arena)
    }

    /// Stops the program when a oneDNN call fails: `what` names the call and the problem
    /// (geometry, sizes), so the message says which shape oneDNN rejected.
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        if status == dnnl_success { return }
        preconditionFailure("oneDNN: \(what()) failed: \(name(of: status)) (status \(status.rawValue))")
    }

    /// The C enumerator's name, since `dnnl_status2str` lives in a header the shim does not include.
    private static func name(of status: dnnl_status_t) -> String {
        switch status {
        case dnnl_success: "dnnl_success"
        case dnnl_out_of_memory: "dnnl_out_of_memory"
        case dnnl_invalid_arguments: "dnnl_invalid_arguments"
        case dnnl_unimplemented: "dnnl_unimplemented"
        case dnnl_iterator_ends: "dnnl_iterator_ends"
        case dnnl_runtime_error: "dnnl_runtime_error"
        case dnnl_not_required: "dnnl_not_required"
        default: "unknown status"
        }
    }

    /// The number of OpenMP threads oneDNN uses inside `withLock`; part of every cache key, because
    /// oneDNN fixes a primitive's work split for the thread count it was created under.
    static var threads: Int { ComputeThreads.count }
}

/// A `dnnl_dims_t` (a fixed C array) holding `values`, the rest zero.
func dnnlDims(_ values: [Int]) -> dnnl_dims_t {
    precondition(values.count <= Int(DNNL_MAX_NDIMS), "dnnlDims: \(values.count) dimensions, at most \(DNNL_MAX_NDIMS)")
    var dims: dnnl_dims_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    withUnsafeMutableBytes(of: &dims) { raw in
        let dim = raw.bindMemory(to: dnnl_dim_t.self)
        for (index, value) in values.enumerated() { dim[index] = dnnl_dim_t(value) }
    }
    return dims
}

/// An f32 memory descriptor of `dims` in the layout `tag` (`dnnl_format_tag_any` lets a primitive choose).
func dnnlMemoryDesc(
    _ dims: [Int], _ tag: dnnl_format_tag_t, _ what: @autoclosure () -> String, type: dnnl_data_type_t = dnnl_f32
) -> dnnl_memory_desc_t {
    var desc = dnnl_memory_desc_t()
    let values = dims.map { dnnl_dim_t($0) }
    DNNLEngine.check(
        dnnl_memory_desc_init_by_tag(&desc, Int32(dims.count), values, type, tag),
        "dnnl_memory_desc_init_by_tag(\(dims)) for \(what())")
    return desc
}

/// A memory descriptor of `dims` with explicit element `strides` (f32 unless `type` says otherwise).
func dnnlMemoryDesc(
    _ dims: [Int], strides: [Int], _ what: @autoclosure () -> String, type: dnnl_data_type_t = dnnl_f32
) -> dnnl_memory_desc_t {
    var desc = dnnl_memory_desc_t()
    let values = dims.map { dnnl_dim_t($0) }
    let steps = strides.map { dnnl_dim_t($0) }
    DNNLEngine.check(
        dnnl_memory_desc_init_by_strides(&desc, Int32(dims.count), values, type, steps),
        "dnnl_memory_desc_init_by_strides(\(dims), strides \(strides)) for \(what())")
    return desc
}
