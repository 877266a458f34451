// A restricted reader of Python pickles (protocols 2–5): the opcodes a torch.save'd state_dict uses; executes nothing.
import Foundation

/// A value on the stack of ``RestrictedUnpickler``. Containers are classes so that a memoised
/// dict filled later by SETITEMS is the same dict wherever the memo hands it out (as in Python).
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer that does not fit in `Int` (LONG1 of more than 8 bytes): its little-endian two's-complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// An allowed global (``RestrictedUnpickler/allowedGlobals``), not yet called.
    case global(PickleGlobal)
    /// What the caller's persistent-load function returned for a BINPERSID (a storage reference).
    case persistent(Int)
    /// The result of a tensor rebuild: an index into ``RestrictedUnpickler/tensors``.
    case tensor(Int)

    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict(let d): d.isOrderedDict ? "OrderedDict" : "dict"
        case .global(let g): "global \(g.rawValue)"
        case .persistent: "storage"
        case .tensor: "tensor"
        }
    }
}

/// A Python list under construction.
final class PickleList {
    var items: [PickleValue] = []
}

/// A Python dict (or `collections.OrderedDict`) under construction: items in insertion order.
final class PickleDict {
    var items: [(key: PickleValue, value: PickleValue)] = []
    let isOrderedDict: Bool
    init(ordered: Bool) { isOrderedDict = ordered }
}

/// The globals a plain state_dict's pickle may name.
enum PickleGlobal: String, CaseIterable {
    case orderedDict = "collections.OrderedDict"
    case rebuildTensorV2 = "torch._utils._rebuild_tensor_v2"
    case rebuildParameter = "torch._utils._rebuild_parameter"
    case floatStorage = "torch.FloatStorage"
    case doubleStorage = "torch.DoubleStorage"
    case halfStorage = "torch.HalfStorage"
    case bfloat16Storage = "torch.BFloat16Storage"
    case longStorage = "torch.LongStorage"
    case intStorage = "torch.IntStorage"
    case shortStorage = "torch.ShortStorage"
    case charStorage = "torch.CharStorage"
    case byteStorage = "torch.ByteStorage"
    case boolStorage = "torch.BoolStorage"

    /// The element type of a storage global; nil for the callables.
    var storageType: PyTorchCheckpoint.ElementType? {
        switch self {
        case .orderedDict, .rebuildTensorV2, .rebuildParameter: nil
        case .floatStorage: .float32
        case .doubleStorage: .float64
        case .halfStorage: .float16
        case .bfloat16Storage: .bfloat16
        case .longStorage: .int64
        case .intStorage: .int32
        case .shortStorage: .int16
        case .charStorage: .int8
        case .byteStorage: .uint8
        case .boolStorage: .bool
        }
    }
}

/// A tensor as `_rebuild_tensor_v2(storage, offset, size, stride, …)` describes it.
struct PickledTensor {
    var storage: Int
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}

/// Reads a pickle without executing anything.
///
/// Only the opcodes a `torch.save`'d state_dict uses are accepted (with their protocol 4/5 forms:
/// FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL); a GLOBAL naming anything outside
/// ``PickleGlobal`` is refused by name at once, and REDUCE calls only `OrderedDict()`,
/// `_rebuild_tensor_v2` and `_rebuild_parameter`, interpreted here (storages are returned by the
/// caller's `persistentLoad`, tensors recorded in ``tensors``). Work and memory are linear in the
/// input: lengths are checked against the bytes left before anything is allocated, and the stack
/// and memo can only hold what the input spelled out.
struct RestrictedUnpickler {
    let bytes: [UInt8]
    let url: URL
    var position: Int
    /// Tensors rebuilt so far (``PickleValue/tensor(_:)`` indexes them).
    var tensors: [PickledTensor] = []
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(bytes: [UInt8], url: URL, start: Int = 0) {
        self.bytes = bytes
        self.url = url
        position = start
    }

    private func fail(_ reason: String) -> TensorFileError {
        .invalidPickle(url, reason: "\(reason) (pickle byte \(position))")
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - position else {
            throw fail("a \(n)-byte argument runs past the end of the \(bytes.count)-byte pickle")
        }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    private mutating func unsigned(_ n: Int) throws -> UInt64 {
        try take(n).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw fail("a GLOBAL name has no end of line") }
        defer { position = end + 1 }
        guard let text = String(validating: bytes[position..<end], as: UTF8.self) else { throw fail("a GLOBAL name is not UTF-8") }
        return text
    }

    private mutating func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw fail("a value is popped from an empty stack (or from below a MARK)") }
        return stack.removeLast()
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("no MARK to pop to") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private mutating func string(_ n: Int) throws -> PickleValue {
        guard let text = String(validating: try take(n), as: UTF8.self) else { throw fail("a string is not UTF-8") }
        return .string(text)
    }

    private mutating func global(_ module: String, _ name: String) throws -> PickleValue {
        let qualified = "\(module).\(name)"
        guard let global = PickleGlobal(rawValue: qualified) else { throw TensorFileError.refusedGlobal(url, name: qualified) }
        return .global(global)
    }

    private func integer(_ value: PickleValue, _ what: String) throws -> Int {
        guard case let .int(n) = value else { throw fail("\(what) is \(value.kind), not an int") }
        return n
    }

    /// Runs the pickle from `position` to its STOP and returns the value it builds.
    /// `persistentLoad` turns each BINPERSID argument into a storage number (or throws).
    mutating func load(persistentLoad: (PickleValue) throws -> Int) throws -> PickleValue {
        while true {
            guard position < bytes.count else { throw fail("the pickle ends before its STOP") }
            let opcode = bytes[position]
            position += 1
            switch opcode {
            case 0x80:  // PROTO
                let version = try unsigned(1)
                guard (2...5).contains(version) else { throw fail("pickle protocol \(version) is not supported (2–5 are)") }
            case 0x95:  // FRAME (a length hint, no value)
                _ = try unsigned(8)
            case 0x2E:  // STOP
                guard stack.count == 1, marks.isEmpty else { throw fail("STOP with \(stack.count) values on the stack") }
                return stack[0]
            case 0x28: marks.append(stack.count)  // MARK
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popToMark()  // POP_MARK
            case 0x4E: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try unsigned(4)))))  // BININT
            case 0x4B: stack.append(.int(Int(try unsigned(1))))  // BININT1
            case 0x4D: stack.append(.int(Int(try unsigned(2))))  // BININT2
            case 0x8A:  // LONG1
                let n = Int(try unsigned(1))
                let digits = Array(try take(n))
                if n <= 8 {
                    var value: UInt64 = 0
                    for (i, byte) in digits.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
                    if n > 0, n < 8, digits[n - 1] & 0x80 != 0 { value |= ~0 << (8 * UInt64(n)) }  // sign extension
                    stack.append(.int(Int(Int64(bitPattern: value))))
                } else {
                    stack.append(.bigInt(digits))
                }
            case 0x47:  // BINFLOAT (big-endian)
                stack.append(.float(Double(bitPattern: try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case 0x58: stack.append(try string(Int(try unsigned(4))))  // BINUNICODE
            case 0x8C: stack.append(try string(Int(try unsigned(1))))  // SHORT_BINUNICODE
            case 0x8D:  // BINUNICODE8
                let n = try unsigned(8)
                guard n <= UInt64(bytes.count) else { throw fail("a \(n)-byte string is longer than the pickle") }
                stack.append(try string(Int(n)))
            case 0x55, 0x54:  // SHORT_BINSTRING, BINSTRING (Python 2 str: Latin-1)
                let n = Int(try unsigned(opcode == 0x55 ? 1 : 4))
                stack.append(.string(String(try take(n).map { Character(Unicode.Scalar($0)) })))
            case 0x43, 0x42:  // SHORT_BINBYTES, BINBYTES
                stack.append(.bytes(Array(try take(Int(try unsigned(opcode == 0x43 ? 1 : 4))))))
            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popToMark()))  // TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                let n = Int(opcode - 0x84)
                guard stack.count - (marks.last ?? 0) >= n else { throw fail("TUPLE\(n) with fewer than \(n) values above the mark") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                stack.append(.tuple(items))
            case 0x5D: stack.append(.list(PickleList()))  // EMPTY_LIST
            case 0x7D: stack.append(.dict(PickleDict(ordered: false)))  // EMPTY_DICT
            case 0x61:  // APPEND
                let value = try pop()
                guard case let .list(list) = stack.last else { throw fail("APPEND to a \(stack.last?.kind ?? "nothing")") }
                list.items.append(value)
            case 0x65:  // APPENDS
                let values = try popToMark()
                guard case let .list(list) = stack.last else { throw fail("APPENDS to a \(stack.last?.kind ?? "nothing")") }
                list.items += values
            case 0x73:  // SETITEM
                let value = try pop(), key = try pop()
                guard case let .dict(dict) = stack.last else { throw fail("SETITEM on a \(stack.last?.kind ?? "nothing")") }
                dict.items.append((key, value))
            case 0x75:  // SETITEMS
                let values = try popToMark()
                guard values.count % 2 == 0, case let .dict(dict) = stack.last else {
                    throw fail("SETITEMS with \(values.count) values on a \(stack.last?.kind ?? "nothing")")
                }
                for i in stride(from: 0, to: values.count, by: 2) { dict.items.append((values[i], values[i + 1])) }
            case 0x71, 0x72:  // BINPUT, LONG_BINPUT
                let index = Int(try unsigned(opcode == 0x71 ? 1 : 4))
                guard let top = stack.last else { throw fail("PUT with an empty stack") }
                memo[index] = top
            case 0x94:  // MEMOIZE
                guard let top = stack.last else { throw fail("MEMOIZE with an empty stack") }
                memo[memo.count] = top
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let index = Int(try unsigned(opcode == 0x68 ? 1 : 4))
                guard let value = memo[index] else { throw fail("GET of memo entry \(index), which was never PUT") }
                stack.append(value)
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(try global(module, name))
            case 0x93:  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case let .string(m) = module, case let .string(n) = name else { throw fail("STACK_GLOBAL of non-strings") }
                stack.append(try global(m, n))
            case 0x51:  // BINPERSID
                stack.append(.persistent(try persistentLoad(try pop())))
            case 0x52:  // REDUCE
                let arguments = try pop(), callable = try pop()
                stack.append(try reduce(callable, arguments))
            case 0x62:  // BUILD: only OrderedDict's attribute dict (a state_dict's `_metadata`), which is dropped.
                let state = try pop()
                guard case let .dict(target) = stack.last, target.isOrderedDict, case .dict = state else {
                    throw fail(
                        "BUILD of a \(stack.last?.kind ?? "nothing") with a \(state.kind) (only an OrderedDict's attributes are accepted)")
                }
            default:
                let name = Self.opcodeNames[opcode].map { "\($0) (0x\(String(opcode, radix: 16)))" } ?? "0x\(String(opcode, radix: 16))"
                throw fail("opcode \(name) is not used by a plain state_dict and is not supported")
            }
        }
    }

    /// The opcodes refused by name in errors (the rest are reported in hex).
    static let opcodeNames: [UInt8: String] = [
        0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x69: "INST", 0x6F: "OBJ", 0x64: "DICT", 0x6C: "LIST",
        0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x50: "PERSID", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
        0x8B: "LONG4", 0x49: "INT", 0x4C: "LONG", 0x46: "FLOAT", 0x53: "STRING", 0x56: "UNICODE", 0x67: "GET", 0x70: "PUT",
        0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 0x8E: "BINBYTES8",
    ]

    /// Calls an allowed callable, interpreted here: `OrderedDict()`, `_rebuild_tensor_v2(storage,
    /// offset, size, stride, requires_grad, backward_hooks[, metadata])`,
    /// `_rebuild_parameter(tensor, requires_grad, backward_hooks)`.
    private mutating func reduce(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard case let .global(function) = callable else { throw fail("REDUCE calls a \(callable.kind)") }
        guard case let .tuple(args) = arguments else { throw fail("REDUCE of \(function.rawValue) with \(arguments.kind) arguments") }
        func noHooks(_ value: PickleValue) throws {
            guard case let .dict(hooks) = value, hooks.items.isEmpty else {
                throw fail("\(function.rawValue) with backward hooks (\(value.kind)); a state_dict has none")
            }
        }
        switch function {
        case .orderedDict:
            guard args.isEmpty else { throw fail("OrderedDict with \(args.count) arguments") }
            return .dict(PickleDict(ordered: true))
        case .rebuildTensorV2:
            guard args.count == 6 || args.count == 7 else {
                throw fail("_rebuild_tensor_v2 with \(args.count) arguments (6 or 7 expected)")
            }
            guard case let .persistent(storage) = args[0] else { throw fail("_rebuild_tensor_v2 of a \(args[0].kind), not a storage") }
            guard case let .tuple(size) = args[2], case let .tuple(stride) = args[3], size.count == stride.count else {
                throw fail("_rebuild_tensor_v2's size and stride are not tuples of one length")
            }
            try noHooks(args[5])
            if args.count == 7, case .none = args[6] {
            } else if args.count == 7 {
                guard case let .dict(metadata) = args[6], metadata.items.isEmpty else {
                    throw fail("_rebuild_tensor_v2 with tensor metadata")
                }
            }
            let tensor = PickledTensor(
                storage: storage, offset: try integer(args[1], "the storage offset"),
                shape: try size.map { try integer($0, "a size") }, strides: try stride.map { try integer($0, "a stride") })
            tensors.append(tensor)
            return .tensor(tensors.count - 1)
        case .rebuildParameter:
            guard args.count == 3, case .tensor = args[0] else {
                throw fail("_rebuild_parameter with \(args.count) arguments, or not of a tensor")
            }
            try noHooks(args[2])
            return args[0]
        default:
            throw fail("\(function.rawValue) is a storage type, not something to call")
        }
    }
}
