// Quality versus steps: reads a folder written by Benchmarks/sampler_study.sh (one `ddpm sample`
// folder s-NAME with its sampler.json, one `ddpm fid` result fid-NAME.json per configuration, and
// timing.txt: "NAME SECONDS" per configuration, seconds for one batch), prints the Markdown table
// and writes quality-vs-steps.png and .svg.
//
//   swift run -c release SamplerStudy FOLDER
import DDPMImaging
import Foundation

struct Configuration {
    var name: String
    var label: String
    var steps: Int
    var fid: Double
    var seconds: Double?
}

/// "dpm-solver++ 2M", "sde-dpm-solver++ 2M", "unipc 2", "ddim".
func label(sampler: String, order: Int?) -> String {
    switch sampler {
    case "dpm-solver++", "sde-dpm-solver++": "\(sampler) \(order ?? 2)M"
    case "unipc": "UniPC bh2, order \(order ?? 2)"
    default: sampler.uppercased()
    }
}

func json(_ url: URL) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
}

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: SamplerStudy FOLDER (written by Benchmarks/sampler_study.sh)\n".utf8))
    exit(64)
}
let folder = URL(fileURLWithPath: arguments[1])
var timings: [String: Double] = [:]
if let text = try? String(contentsOf: folder.appendingPathComponent("timing.txt"), encoding: .utf8) {
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ")
        if parts.count == 2, let seconds = Double(parts[1]) { timings[String(parts[0])] = seconds }
    }
}
var configurations: [Configuration] = []
for entry in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
where entry.hasPrefix("fid-") && entry.hasSuffix(".json") {
    let name = String(entry.dropFirst(4).dropLast(5))
    let record = try json(folder.appendingPathComponent("s-\(name)/sampler.json"))
    guard let fid = try json(folder.appendingPathComponent(entry))["fid"] as? Double, let sampler = record["sampler"] as? String,
        let steps = record["steps"] as? Int
    else { continue }
    configurations.append(
        Configuration(
            name: name, label: label(sampler: sampler, order: record["order"] as? Int), steps: steps, fid: fid, seconds: timings[name]))
}
guard !configurations.isEmpty else {
    FileHandle.standardError.write(Data("\(folder.path): no fid-NAME.json with s-NAME/sampler.json\n".utf8))
    exit(1)
}

// The table: one row per sampler, one column per step count.
let labels = configurations.map(\.label).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
let stepCounts = Set(configurations.map(\.steps)).sorted()
var table = "| sampler | " + stepCounts.map { "\($0) steps" }.joined(separator: " | ") + " |\n"
table += "|---|" + stepCounts.map { _ in "---|" }.joined() + "\n"
for label in labels {
    table += "| \(label) |"
    for steps in stepCounts {
        guard let c = configurations.first(where: { $0.label == label && $0.steps == steps }) else {
            table += " — |"
            continue
        }
        table += " " + String(format: "%.1f", c.fid) + (c.seconds.map { String(format: " (%.1f s)", $0) } ?? "") + " |"
    }
    table += "\n"
}
print(table, terminator: "")

var plot = Plot(title: "FID against network evaluations", xLabel: "steps (network evaluations)", yLabel: "FID")
for (index, label) in labels.enumerated() {
    let points = configurations.filter { $0.label == label }.sorted { $0.steps < $1.steps }
    let (x, y) = (points.map { Double($0.steps) }, points.map(\.fid))
    plot.line(x: x, y: y, color: .series(index), thickness: 2, label: label)
    plot.scatter(x: x, y: y, color: .series(index), radius: 3)
}
let png = folder.appendingPathComponent("quality-vs-steps.png")
let svg = try plot.write(to: png, width: 640, height: 420)
FileHandle.standardError.write(Data("wrote \(png.path) and \(svg.path)\n".utf8))
