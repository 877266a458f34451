// A cached oneDNN execution plan: one primitive, the reorders around it, and the cache that keeps plans per shape.
import CDNNL

/// One primitive ready to run on caller buffers in plain layouts.
///
/// Built once per problem shape: the primitive (whose creation JIT-compiles its kernel), a memory
/// object per caller buffer (plain layout, data handle set at each call), and, for each argument
/// whose layout the primitive chose differently, a blocked memory object in the scratch arena with
/// a reorder from the caller's layout (inputs, before the primitive) or back to it (outputs, after).
/// The primitive runs with a user-provided scratchpad, also in the arena, so oneDNN allocates
/// nothing per call. A plan is used only under `DNNLEngine.withLock` and lives for the process.
final class DNNLPlan {
    /// Whether the primitive reads or writes an argument.
    enum Flow { case input, output }

    private struct Step {
        let primitive: dnnl_primitive_t
        let args: [dnnl_exec_arg_t]
    }

    /// oneDNN's name for the chosen implementation, e.g. `jit:avx512_core`.
    let implementation: String
    /// Names the problem in failure messages.
    let what: String

    private let descriptor: dnnl_primitive_desc_t
    private let primitive: dnnl_primitive_t
    private var primitiveArgs: [dnnl_exec_arg_t] = []
    private var before: [Step] = []
    private var after: [Step] = []
    /// One memory object per caller buffer, in the order of `addArgument` calls.
    private var callerMemories: [dnnl_memory_t] = []
    /// Memory objects whose data lives in the arena, at their offsets of `DNNLScratchArena.layout`.
    private var arenaMemories: [(memory: dnnl_memory_t, bytes: Int)] = []
    /// Their offsets and total size, fixed once the plan is complete (at its first call).
    private lazy var arenaLayout = DNNLScratchArena.layout(arenaMemories.map(\.bytes))

    /// Takes ownership of `descriptor` (created with a user-scratchpad attribute) and creates its primitive.
    init(descriptor: dnnl_primitive_desc_t, what: String) {
        self.descriptor = descriptor
        self.what = what
        var primitive: dnnl_primitive_t?
        DNNLEngine.check(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create for \(what)")
        self.primitive = primitive!
        var name: UnsafePointer<CChar>?
        DNNLEngine.check(
            dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name),
            "dnnl_primitive_desc_query(impl_info_str) for \(what)")
        implementation = name.map { String(cString: $0) } ?? "unknown"

        if let scratchpad = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0)?.pointee {
            var scratchpad = scratchpad
            let bytes = dnnl_memory_desc_get_size(&scratchpad)
            if bytes > 0 {
                let memory = arenaMemory(scratchpad, bytes: bytes)
                primitiveArgs.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: memory))
            }
        }
    }

    /// The memory descriptor the primitive chose for `query` (e.g. `dnnl_query_src_md`; the bias is
    /// `dnnl_query_weights_md` at index 1).
    func chosenDesc(_ query: dnnl_query_t, index: Int32 = 0) -> dnnl_memory_desc_t {
        guard let desc = dnnl_primitive_desc_query_md(descriptor, query, index) else {
            preconditionFailure("oneDNN: dnnl_primitive_desc_query_md(\(query.rawValue), \(index)) failed for \(what)")
        }
        return desc.pointee
    }

    /// Adds the primitive argument `arg`, supplied by the caller in layout `plain` while the
    /// primitive wants `chosen`; inserts a reorder through the arena when the two differ.
    func addArgument(_ arg: Int32, plain: dnnl_memory_desc_t, chosen: dnnl_memory_desc_t, flow: Flow) {
        var plain = plain
        var chosen = chosen
        let engine = DNNLEngine.shared.engine
        var caller: dnnl_memory_t?
        DNNLEngine.check(
            dnnl_memory_create(&caller, &plain, engine, cdnnl_memory_none()),
            "dnnl_memory_create(argument \(arg)) for \(what)")
        callerMemories.append(caller!)
        if dnnl_memory_desc_equal(&plain, &chosen) != 0 {
            primitiveArgs.append(dnnl_exec_arg_t(arg: arg, memory: caller))
            return
        }
        let blocked = arenaMemory(chosen, bytes: dnnl_memory_desc_get_size(&chosen))
        primitiveArgs.append(dnnl_exec_arg_t(arg: arg, memory: blocked))
        switch flow {
        case .input:
            before.append(reorder(from: caller!, plain, to: blocked, chosen, arg: arg))
        case .output:
            after.append(reorder(from: blocked, chosen, to: caller!, plain, arg: arg))
        }
    }

    /// Runs reorders, primitive and reorders on the caller's buffers, given in `addArgument` order.
    func execute(_ buffers: [UnsafeMutableRawPointer], arena: DNNLScratchArena) {
        precondition(
            buffers.count == callerMemories.count,
            "DNNLPlan.execute: \(buffers.count) buffers for \(callerMemories.count) arguments of \(what)")
        for (memory, buffer) in zip(callerMemories, buffers) {
            DNNLEngine.check(dnnl_memory_set_data_handle(memory, buffer), "dnnl_memory_set_data_handle for \(what)")
        }
        let (offsets, total) = arenaLayout
        let base = arena.buffer(bytes: total)
        for (entry, offset) in zip(arenaMemories, offsets) {
            DNNLEngine.check(
                dnnl_memory_set_data_handle(entry.memory, base + offset),
                "dnnl_memory_set_data_handle(arena offset \(offset)) for \(what)")
        }
        let stream = DNNLEngine.shared.stream
        for step in before { run(step.primitive, step.args, stream, "reorder into blocked layout") }
        run(primitive, primitiveArgs, stream, implementation)
        for step in after { run(step.primitive, step.args, stream, "reorder out of blocked layout") }
        DNNLEngine.check(dnnl_stream_wait(stream), "dnnl_stream_wait for \(what)")
    }

    private func run(_ primitive: dnnl_primitive_t, _ args: [dnnl_exec_arg_t], _ stream: dnnl_stream_t, _ step: String) {
        args.withUnsafeBufferPointer { args in
            DNNLEngine.check(
                dnnl_primitive_execute(primitive, stream, Int32(args.count), args.baseAddress),
                "dnnl_primitive_execute(\(step)) for \(what)")
        }
    }

    private func arenaMemory(_ desc: dnnl_memory_desc_t, bytes: Int) -> dnnl_memory_t {
        var desc = desc
        var memory: dnnl_memory_t?
        DNNLEngine.check(
            dnnl_memory_create(&memory, &desc, DNNLEngine.shared.engine, cdnnl_memory_none()),
            "dnnl_memory_create(arena piece \(arenaMemories.count)) for \(what)")
        arenaMemories.append((memory!, bytes))
        return memory!
    }

    private func reorder(
        from source: dnnl_memory_t, _ sourceDesc: dnnl_memory_desc_t,
        to destination: dnnl_memory_t, _ destinationDesc: dnnl_memory_desc_t, arg: Int32
    ) -> Step {
        var sourceDesc = sourceDesc
        var destinationDesc = destinationDesc
        let engine = DNNLEngine.shared.engine
        var descriptor: dnnl_primitive_desc_t?
        DNNLEngine.check(
            dnnl_reorder_primitive_desc_create(&descriptor, &sourceDesc, engine, &destinationDesc, engine, nil),
            "dnnl_reorder_primitive_desc_create(argument \(arg)) for \(what)")
        var primitive: dnnl_primitive_t?
        DNNLEngine.check(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create(reorder of argument \(arg)) for \(what)")
        dnnl_primitive_desc_destroy(descriptor)
        return Step(
            primitive: primitive!,
            args: [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: source), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: destination)])
    }
}

/// Plans by problem key, created on first use. Accessed only under `DNNLEngine.withLock`; plans are
/// never evicted (a model has a few dozen shapes).
final class DNNLPlanCache<Key: Hashable>: @unchecked Sendable {
    private var plans: [Key: DNNLPlan] = [:]

    func plan(for key: Key, make: () -> DNNLPlan) -> DNNLPlan {
        if let plan = plans[key] { return plan }
        let plan = make()
        plans[key] = plan
        return plan
    }
}

/// A primitive attribute asking for a user-provided scratchpad; the caller destroys it.
func dnnlUserScratchpadAttr(_ what: @autoclosure () -> String) -> dnnl_primitive_attr_t {
    var attr: dnnl_primitive_attr_t?
    DNNLEngine.check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create for \(what())")
    DNNLEngine.check(
        dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
        "dnnl_primitive_attr_set_scratchpad_mode(user) for \(what())")
    return attr!
}
