import Foundation
import Testing

@Suite struct HelpTests {
    @Test func helpListsTheSubcommands() throws {
        let result = try runDDPM(["--help"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("USAGE: ddpm"))
    }

    @Test func unknownSubcommandFails() throws {
        let result = try runDDPM(["no-such-command"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("no-such-command"))
    }
}
