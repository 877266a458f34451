// The JSON forms of the choices with parameters, as run.json stores them:
//   BetaSchedule  {"kind": "linear", "start": 0.0001, "end": 0.02} · {"kind": "cosine", "offset": 0.008}
//                 · {"kind": "reciprocal"} · {"kind": "custom", "betas": [...]}
//   LossKind      {"kind": "simple"} · {"kind": "vlb"} · {"kind": "hybrid", "lambda": 0.001}
// Decoding checks the kind only; the values are checked where they are used (`betas(stepCount:)`,
// the hybrid weight by `GaussianDiffusion`), with errors that name them.

private enum ChoiceKeys: String, CodingKey {
    case kind, start, end, offset, betas, lambda
}

extension BetaSchedule: Codable {
    /// Decodes a schedule from its run.json form: `{"kind": "linear", "start": …, "end": …}`,
    /// `{"kind": "cosine", "offset": s}`, `{"kind": "reciprocal"}` or `{"kind": "custom", "betas": […]}`.
    ///
    /// Only the kind and the presence of its values are checked here; the values themselves are
    /// validated by ``BetaSchedule/betas(stepCount:)``.
    /// - Throws: `DecodingError.dataCorrupted` for an unknown kind (the message lists the known
    ///   ones), or the decoder's error for a missing or mistyped value.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: ChoiceKeys.self)
        switch try c.decode(String.self, forKey: .kind) {
        case "linear": self = .linear(start: try c.decode(Double.self, forKey: .start), end: try c.decode(Double.self, forKey: .end))
        case "cosine": self = .cosine(s: try c.decode(Double.self, forKey: .offset))
        case "reciprocal": self = .reciprocal
        case "custom": self = .custom(try c.decode([Double].self, forKey: .betas))
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: c, debugDescription: "unknown schedule \"\(other)\" (expected linear, cosine, reciprocal or custom)")
        }
    }

    /// Encodes the schedule in its run.json form (see ``init(from:)``); the cosine offset s is
    /// written under the key `offset`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: ChoiceKeys.self)
        switch self {
        case .linear(let start, let end):
            try c.encode("linear", forKey: .kind)
            try c.encode(start, forKey: .start)
            try c.encode(end, forKey: .end)
        case .cosine(let s):
            try c.encode("cosine", forKey: .kind)
            try c.encode(s, forKey: .offset)
        case .reciprocal:
            try c.encode("reciprocal", forKey: .kind)
        case .custom(let betas):
            try c.encode("custom", forKey: .kind)
            try c.encode(betas, forKey: .betas)
        }
    }
}

extension LossKind: Codable {
    /// Decodes a loss from its run.json form: `{"kind": "simple"}`, `{"kind": "vlb"}` or
    /// `{"kind": "hybrid", "lambda": λ}`.
    ///
    /// λ is checked by ``GaussianDiffusion/init(schedule:meanPrediction:varianceKind:lossKind:decoderKind:)``.
    /// - Throws: `DecodingError.dataCorrupted` for an unknown kind, or the decoder's error for a
    ///   missing or mistyped λ.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: ChoiceKeys.self)
        switch try c.decode(String.self, forKey: .kind) {
        case "simple": self = .simple
        case "vlb": self = .vlb
        case "hybrid": self = .hybrid(lambda: try c.decode(Double.self, forKey: .lambda))
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: c, debugDescription: "unknown loss \"\(other)\" (expected simple, vlb or hybrid)")
        }
    }

    /// Encodes the loss in its run.json form (see ``init(from:)``): the ``name`` as `kind`, plus
    /// `lambda` for `.hybrid`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: ChoiceKeys.self)
        try c.encode(name, forKey: .kind)
        if case .hybrid(let lambda) = self { try c.encode(lambda, forKey: .lambda) }
    }
}
