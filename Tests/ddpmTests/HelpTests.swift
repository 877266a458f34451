// `--help` of the tool and of every subcommand against committed snapshots (HelpSnapshots/), and
// `--version`. After a deliberate change of a help text, regenerate the snapshots:
//     for c in demo train …; do .build/release/ddpm $c --help > Tests/ddpmTests/HelpSnapshots/$c.txt; done
import DDPMTestSupport
import DDPMTraining
import Foundation
import Testing

@Suite struct HelpTests {
    static let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("HelpSnapshots")

    static let subcommands = [
        "demo", "train", "sample", "schedule", "info", "export", "denoise", "bench", "evaluate", "progressive",
        "interpolate", "inpaint", "rate-distortion", "fid",
    ]

    @Test(arguments: ["ddpm"] + subcommands)
    func helpMatchesItsSnapshot(_ command: String) throws {
        let result = try runDDPM(command == "ddpm" ? ["--help"] : [command, "--help"])
        #expect(result.status == 0, "\(result.standardError)")
        let expected = try String(contentsOf: Self.snapshots.appendingPathComponent("\(command).txt"), encoding: .utf8)
        #expect(result.standardOutput == expected, "ddpm \(command) --help differs from HelpSnapshots/\(command).txt")
    }

    @Test func everySubcommandHasASnapshot() throws {
        let lines = try runDDPM(["--help"]).standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        let section = lines.drop { $0 != "SUBCOMMANDS:" }.dropFirst().prefix { !$0.isEmpty }
        let listed = section.filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }.compactMap {
            $0.split(separator: " ").first.map(String.init)
        }
        #expect(Set(listed) == Set(Self.subcommands), "\(listed)")
    }

    @Test func versionPrintsTheVersion() throws {
        let result = try runDDPM(["--version"])
        #expect(result.status == 0, "\(result.standardError)")
        // "ddpm 0.2.0 (commit 0123456789ab)", "-modified" when the tree differed, "unknown" outside git
        let pattern = /ddpm (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12}(-modified)?|unknown)\)\n/
        let match = try #require(result.standardOutput.wholeMatch(of: pattern), "\(result.standardOutput)")
        #expect(String(match.1) == ToolkitVersion.version)
        #expect(String(match.2).hasPrefix(ToolkitVersion.commit.prefix(12)))
    }

    @Test func unknownSubcommandFails() throws {
        let result = try runDDPM(["no-such-command"])
        #expect(result.status == 64)
        #expect(result.standardError.contains("no-such-command"))
    }
}
