// swift-tools-version:6.0
// A toolkit for diffusion probabilistic models (Sohl-Dickstein et al. 2015; Ho, Jain & Abbeel 2020).
//
// Kernels are vectorised by the compiler for the CPU named at build time: the Makefile passes
// `-Xswiftc -target-cpu -Xswiftc $(CPU)` (default `native`). A plain `swift build` targets baseline
// x86-64 and is correct but slower; nothing in this manifest uses unsafe flags.
import PackageDescription

let package = Package(
    name: "ddpm",
    platforms: [.macOS(.v14)],
    // MARK: - Public products
    products: [
        .library(name: "DDPMTensors", targets: ["DDPMTensors"]),
        .library(name: "DDPMDiffusion", targets: ["DDPMDiffusion"]),
        .library(name: "DDPMNeuralNetworks", targets: ["DDPMNeuralNetworks"]),
        .library(name: "DDPMModels", targets: ["DDPMModels"]),
        .library(name: "DDPMDatasets", targets: ["DDPMDatasets"]),
        .library(name: "DDPMImaging", targets: ["DDPMImaging"]),
        .library(name: "DDPMTraining", targets: ["DDPMTraining"]),
        .library(name: "DDPMDistributed", targets: ["DDPMDistributed"]),
        .library(name: "DDPMMetrics", targets: ["DDPMMetrics"]),
        .executable(name: "ddpm", targets: ["ddpm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        // `swift package generate-documentation` for the DocC catalogs (see README, "Documentation").
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // MARK: - Libraries
        .target(
            name: "DDPMTensors",
            dependencies: ["CDNNL", .product(name: "RealModule", package: "swift-numerics")]
        ),
        .target(name: "DDPMDiffusion", dependencies: ["DDPMTensors"]),
        .target(name: "DDPMNeuralNetworks", dependencies: ["DDPMTensors", "DDPMFileSupport", "CZlib"]),
        .target(name: "DDPMModels", dependencies: ["DDPMTensors", "DDPMNeuralNetworks", "DDPMFileSupport"]),
        .target(name: "DDPMImaging", dependencies: ["DDPMFileSupport", "CPNG", "CTurboJPEG", "CFreeType"]),
        .target(name: "DDPMDatasets", dependencies: ["DDPMTensors", "DDPMNeuralNetworks", "DDPMImaging", "DDPMFileSupport", "CZlib"]),
        // The processes of an MPI job: Open MPI loaded at run time (dlopen), so nothing needs MPI
        // to build, and nothing outside an MPI job loads it (README, "Beyond one machine").
        .target(name: "DDPMDistributed"),
        .target(
            name: "DDPMTraining",
            dependencies: [
                "DDPMTensors", "DDPMDiffusion", "DDPMNeuralNetworks", "DDPMModels", "DDPMDatasets", "DDPMImaging", "DDPMDistributed",
                "DDPMFileSupport",
            ],
            plugins: ["BuildInfo"]),
        // FID and KID: pytorch-fid's InceptionV3, the Fréchet distance (LAPACK), statistics files.
        .target(name: "DDPMMetrics", dependencies: ["DDPMTensors", "DDPMNeuralNetworks", "CLAPACK"]),
        .executableTarget(
            name: "ddpm",
            dependencies: [
                "DDPMTensors", "DDPMDiffusion", "DDPMNeuralNetworks", "DDPMModels", "DDPMDatasets", "DDPMImaging", "DDPMTraining",
                "DDPMDistributed",
                "DDPMMetrics", "DDPMFileSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Implementation details
        // Atomic writes and the few POSIX calls, shared by the libraries (`package` access only).
        .target(name: "DDPMFileSupport"),
        // Writes the git commit into DDPMTraining (`ToolkitVersion.commit`) before each build.
        .plugin(name: "BuildInfo", capability: .buildTool()),
        .systemLibrary(name: "CDNNL"),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng"),
        // libjpeg-turbo's TurboJPEG API: JPEG files in image folders.
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg"),
        // The figures' text: DejaVu Sans (or DDPM_FONT) rendered by FreeType (see DDPMImaging's FontFace).
        .systemLibrary(name: "CFreeType", pkgConfig: "freetype2"),
        .systemLibrary(name: "CZlib"),
        .systemLibrary(name: "CLAPACK"),

        // MARK: - Benchmarks (release mode; never part of the tests)
        .executableTarget(name: "TensorBenchmarks", dependencies: ["DDPMTensors"], path: "Benchmarks/TensorBenchmarks"),
        // Quality versus steps of the samplers: the table and plot of Benchmarks/sampler_study.sh.
        .executableTarget(name: "SamplerStudy", dependencies: ["DDPMImaging"], path: "Benchmarks/SamplerStudy"),

        // MARK: - Examples (built by the tests' build; see README "Using the libraries")
        .executableTarget(
            name: "TrainOnImages", dependencies: ["DDPMTraining", "DDPMDatasets", "DDPMImaging", "DDPMTensors"],
            path: "Examples/TrainOnImages"),

        // MARK: - Tests
        // Shared by every test target: tolerances and ulp errors, temporary folders, the binary runner.
        .target(name: "DDPMTestSupport", path: "Tests/DDPMTestSupport"),
        .testTarget(name: "DDPMTensorsTests", dependencies: ["DDPMTestSupport", "DDPMTensors"]),
        // DDPMNeuralNetworks for NPYFile (the solver fixtures).
        .testTarget(
            name: "DDPMDiffusionTests", dependencies: ["DDPMTestSupport", "DDPMDiffusion", "DDPMNeuralNetworks", "DDPMTensors"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "DDPMNeuralNetworksTests", dependencies: ["DDPMTestSupport", "DDPMNeuralNetworks", "DDPMTensors"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "DDPMModelsTests", dependencies: ["DDPMTestSupport", "DDPMModels", "DDPMNeuralNetworks", "DDPMTensors"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "DDPMDatasetsTests",
            dependencies: ["DDPMTestSupport", "DDPMDatasets", "DDPMImaging", "DDPMNeuralNetworks", "DDPMTensors"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "DDPMImagingTests", dependencies: ["DDPMTestSupport", "DDPMImaging"]),
        .testTarget(name: "DDPMDistributedTests", dependencies: ["DDPMTestSupport", "DDPMDistributed"]),
        .testTarget(
            name: "DDPMMetricsTests", dependencies: ["DDPMTestSupport", "DDPMMetrics", "DDPMNeuralNetworks", "DDPMTensors"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "DDPMTrainingTests",
            dependencies: [
                "DDPMTestSupport", "DDPMTraining", "DDPMDistributed", "DDPMDatasets", "DDPMDiffusion", "DDPMModels", "DDPMNeuralNetworks",
                "DDPMTensors",
            ],
            resources: [.copy("Fixtures")]),
        // End-to-end tests of the built `ddpm` binary (the dependency makes SwiftPM build it).
        .testTarget(
            name: "ddpmTests",
            dependencies: [
                "DDPMTestSupport", "ddpm", "TrainOnImages", "DDPMDatasets", "DDPMDiffusion", "DDPMImaging", "DDPMModels",
                "DDPMNeuralNetworks", "DDPMTensors", "DDPMTraining",
                "DDPMDistributed",
                "DDPMMetrics",
            ],
            // Read from the source tree (#filePath), not bundled.
            exclude: ["HelpSnapshots"]),
    ]
)
