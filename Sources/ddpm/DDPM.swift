// The `ddpm` command-line tool.
import ArgumentParser
import DDPMTraining

@main
struct DDPM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddpm",
        abstract: "Train, sample and study diffusion probabilistic models (Sohl-Dickstein 2015; Ho, Jain & Abbeel 2020).",
        discussion: """
            Exit codes: 0 done; 1 failed (a message says why; a training run keeps
            its last checkpoint); 64 bad flags or arguments; 128 + signal when
            `train` was interrupted by SIGHUP, SIGINT or SIGTERM and saved a
            checkpoint (129, 130, 143).
            """,
        version: "ddpm \(ToolkitVersion.description)",
        subcommands: [
            DemoCommand.self, TrainCommand.self, SampleCommand.self, ScheduleCommand.self, InfoCommand.self, ExportCommand.self,
            DenoiseCommand.self, BenchCommand.self, EvaluateCommand.self, FIDCommand.self, ProgressiveCommand.self,
            InterpolateCommand.self, InpaintCommand.self, RateDistortionCommand.self,
        ]
    )

    /// Installs the signal guard before any other thread exists (see `SignalGuard`), then runs.
    static func main() {
        SignalGuard.install()
        main(nil)
    }
}
