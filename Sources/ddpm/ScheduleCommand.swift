// `ddpm schedule`: print every coefficient table of a variance schedule, one row per t.
import ArgumentParser
import DDPMDiffusion
import Foundation

/// Prints β, ᾱ, the posterior tables and the rest (`DiffusionSchedule`) for t = 1…T, so users can
/// check the numbers against their own. Output t is 1-based; the library's arrays are 0-based.
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Print a variance schedule's coefficient tables, one row per timestep t = 1…T.",
        discussion: """
            Columns: t (1-based), beta, alpha, alphaBar, alphaBarPrevious, sqrtAlphaBar,
            sqrtOneMinusAlphaBar, reciprocalSqrtAlphaBar, sqrtReciprocalAlphaBarMinusOne,
            posteriorVariance, posteriorLogVarianceClipped, posteriorMeanCoefficientStart,
            posteriorMeanCoefficientCurrent. All values are Float64, printed so they read
            back exactly.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, csv
    }

    @Option(help: "The β schedule: linear (DDPM), cosine (IDDPM) or reciprocal (SD15's binomial βₜ = 1/(T − t + 1)).")
    var schedule: ScheduleName = .linear

    @Option(help: "Number of diffusion steps T (DDPM uses 1000).")
    var steps: Int = 1000

    @Option(help: "Output format: \(Format.allCases.map(\.rawValue).joined(separator: " or ")).")
    var format: Format = .csv

    @Option(help: "Linear schedule: β₁.")
    var betaStart: Double = 1e-4

    @Option(help: "Linear schedule: β_T.")
    var betaEnd: Double = 0.02

    @Option(help: "Cosine schedule: offset s.")
    var cosineOffset: Double = 0.008

    var betaSchedule: BetaSchedule {
        switch schedule {
        case .linear: .linear(start: betaStart, end: betaEnd)
        case .cosine: .cosine(s: cosineOffset)
        case .reciprocal: .reciprocal
        }
    }

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps).") }
        do {
            _ = try betaSchedule.betas(stepCount: steps)
        } catch let error as DiffusionError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let tables = try DiffusionSchedule(betaSchedule, stepCount: steps)
        let columns = tables.namedTables
        var out = ""
        switch format {
        case .csv:
            out += (["t"] + columns.map(\.key)).joined(separator: ",") + "\n"
            for i in 0..<tables.stepCount {
                out += ([String(i + 1)] + columns.map { Self.number($0.value[i]) }).joined(separator: ",") + "\n"
            }
        case .json:
            out += "{\n  \"schedule\": \"\(schedule.rawValue)\",\n  \"steps\": \(steps),\n"
            out += "  \"indexConvention\": \"t is 1-based here; library arrays are 0-based with index i meaning t = i + 1\",\n"
            out += "  \"rows\": [\n"
            for i in 0..<tables.stepCount {
                let fields = ["\"t\": \(i + 1)"] + columns.map { "\"\($0.key)\": \(Self.jsonNumber($0.value[i]))" }
                out += "    {" + fields.joined(separator: ", ") + "}" + (i + 1 < tables.stepCount ? ",\n" : "\n")
            }
            out += "  ]\n}\n"
        }
        writeStandardOutput(out)
    }

    /// Shortest text that reads back to the same Float64.
    static func number(_ x: Double) -> String { "\(x)" }

    /// JSON has no infinities or NaN: they become null.
    static func jsonNumber(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
}
