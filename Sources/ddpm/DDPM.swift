// The `ddpm` command-line tool.
import ArgumentParser
import Training

@main
struct DDPM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddpm",
        abstract: "Train, sample and study diffusion probabilistic models (Sohl-Dickstein 2015; Ho, Jain & Abbeel 2020).",
        subcommands: [
            DemoCommand.self, TrainCommand.self, SampleCommand.self, ScheduleCommand.self, InfoCommand.self,
            DenoiseCommand.self, BenchCommand.self, EvaluateCommand.self, ProgressiveCommand.self,
            InterpolateCommand.self, InpaintCommand.self, RateDistortionCommand.self,
        ]
    )

    /// Installs the signal guard before any other thread exists (see `SignalGuard`), then runs.
    static func main() {
        SignalGuard.install()
        main(nil)
    }
}
