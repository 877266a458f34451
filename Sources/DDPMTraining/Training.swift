// Training as a library: DDPM's Algorithm 1 with typed, versioned run settings, keyed randomness,
// crash-consistent checkpoints and trained models for sampling and the analyses.
//
// Files:
//   TrainingConfiguration.swift    every setting of a run as typed values (run.json, format 1)
//   ProcessConfiguration.swift     which diffusion process, with its schedule and choices
//   ModelArchitecture.swift        the named networks (toy, fashion, cifar10, tiny) for a data shape
//   ConfigurationValidation.swift  range checks of every setting, naming its run.json key
//   StrictJSON.swift               decoding that refuses unknown keys and names file and key
//   LegacyRunSettings.swift        run.json as written before format 1, and its migration
//   TrainingRandomness.swift       randomness keyed by (seed, stream, step, example)
//   Trainer.swift                  one step of Algorithm 1: loss, gradients, checks, Adam, EMA
//   Checkpoint.swift               checkpoint folders switched in by one atomic rename
//   TrainingRun.swift              a run folder: settings, data, trainer, log, checkpoints
//   TrainedModel.swift             a network with its process, from a run folder or a diffusers folder
//   TrainingError.swift            the errors a user can meet, each naming the file, key or value
