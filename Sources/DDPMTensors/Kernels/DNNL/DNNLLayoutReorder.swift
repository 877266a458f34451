// Reorders of Float32 activations between row-major NCHW, nChw16c and NHWC through oneDNN.
import CDNNL

/// Copies Float32 NCHW activations between ``TensorLayout``s (and to and from channels-last order)
/// with oneDNN's reorder primitive (JIT,
/// on every thread); one primitive per (shape, direction, thread count), created on first use.
enum DNNLLayoutReorder {
    /// An order of the elements of an NCHW tensor in memory.
    enum Order: Hashable {
        /// Row-major NCHW, nChw16c, or channels last (NHWC: each position's channels together).
        case nchw, nChw16c, nhwc

        init(_ layout: TensorLayout) { self = layout == .rowMajor ? .nchw : .nChw16c }

        var tag: dnnl_format_tag_t {
            switch self {
            case .nchw: dnnl_nchw
            case .nChw16c: dnnl_nChw16c
            case .nhwc: dnnl_nhwc
            }
        }
    }

    private struct Key: Hashable {
        var shape: [Int]
        var from: Order
        var to: Order
        var threads: Int
    }

    private final class Plan {
        let primitive: dnnl_primitive_t
        let source: dnnl_memory_t
        let destination: dnnl_memory_t

        init(shape: [Int], from: Order, to: Order) {
            let what = "reorder \(shape) from \(from) to \(to)"
            var sourceDesc = dnnlMemoryDesc(shape, from.tag, what)
            var destinationDesc = dnnlMemoryDesc(shape, to.tag, what)
            let engine = DNNLEngine.shared.engine
            var descriptor: dnnl_primitive_desc_t?
            DNNLEngine.check(
                dnnl_reorder_primitive_desc_create(&descriptor, &sourceDesc, engine, &destinationDesc, engine, nil),
                "dnnl_reorder_primitive_desc_create for \(what)")
            defer { dnnl_primitive_desc_destroy(descriptor) }
            var primitive: dnnl_primitive_t?
            DNNLEngine.check(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create for \(what)")
            var source: dnnl_memory_t?
            var destination: dnnl_memory_t?
            DNNLEngine.check(dnnl_memory_create(&source, &sourceDesc, engine, cdnnl_memory_none()), "dnnl_memory_create for \(what)")
            DNNLEngine.check(
                dnnl_memory_create(&destination, &destinationDesc, engine, cdnnl_memory_none()), "dnnl_memory_create for \(what)")
            (self.primitive, self.source, self.destination) = (primitive!, source!, destination!)
        }
    }

    nonisolated(unsafe) private static var plans: [Key: Plan] = [:]

    /// Writes the elements at `source` (in `from`) to `destination` (in `to`); a plain copy when
    /// the layouts agree. Blocked layouts need a Float32 NCHW `shape` with 16·k channels.
    static func reorder(
        from source: UnsafeRawPointer, _ from: TensorLayout, to destination: UnsafeMutableRawPointer, _ to: TensorLayout,
        shape: [Int]
    ) {
        reorder(from: source, Order(from), to: destination, Order(to), shape: shape)
    }

    /// Writes the elements of the Float32 NCHW tensor of `shape` at `source` (in `from`) to
    /// `destination` (in `to`); a plain copy when the orders agree.
    static func reorder(
        from source: UnsafeRawPointer, _ from: Order, to destination: UnsafeMutableRawPointer, _ to: Order, shape: [Int]
    ) {
        let count = shape.reduce(1, *)
        if count == 0 { return }
        if from == to {
            destination.copyMemory(from: source, byteCount: count * MemoryLayout<Float>.size)
            return
        }
        DNNLEngine.shared.withLock { _ in
            let key = Key(shape: shape, from: from, to: to, threads: DNNLEngine.threads)
            let plan = plans[key] ?? Plan(shape: shape, from: from, to: to)
            plans[key] = plan
            let what = "reorder \(shape) from \(from) to \(to)"
            DNNLEngine.check(dnnl_memory_set_data_handle(plan.source, UnsafeMutableRawPointer(mutating: source)), what)
            DNNLEngine.check(dnnl_memory_set_data_handle(plan.destination, destination), what)
            var args = [
                dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: plan.source), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: plan.destination),
            ]
            let stream = DNNLEngine.shared.stream
            DNNLEngine.check(dnnl_primitive_execute(plan.primitive, stream, Int32(args.count), &args), "dnnl_primitive_execute(\(what))")
            DNNLEngine.check(dnnl_stream_wait(stream), "dnnl_stream_wait(\(what))")
        }
    }
}
