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
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Diffusion", targets: ["Diffusion"]),
        .library(name: "NeuralNetworks", targets: ["NeuralNetworks"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Training", targets: ["Training"]),
        .executable(name: "ddpm", targets: ["ddpm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        // MARK: - Libraries
        .target(
            name: "Tensors",
            dependencies: ["CDNNL", .product(name: "RealModule", package: "swift-numerics")]
        ),
        .target(name: "Diffusion", dependencies: ["Tensors"]),
        .target(name: "NeuralNetworks", dependencies: ["Tensors", "Imaging"]),
        .target(name: "Models", dependencies: ["Tensors", "NeuralNetworks"]),
        .target(name: "Imaging", dependencies: ["CPNG"]),
        .target(name: "Datasets", dependencies: ["Tensors", "Imaging", "CZlib"]),
        .target(name: "Training", dependencies: ["Tensors", "Diffusion", "NeuralNetworks", "Models", "Datasets", "Imaging"]),
        .executableTarget(
            name: "ddpm",
            dependencies: [
                "Tensors", "Diffusion", "NeuralNetworks", "Models", "Datasets", "Imaging", "Training",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Implementation details
        .systemLibrary(name: "CDNNL"),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng"),
        .systemLibrary(name: "CZlib"),

        // MARK: - Benchmarks (release mode; never part of the tests)
        .executableTarget(name: "TensorBenchmarks", dependencies: ["Tensors"], path: "Benchmarks/TensorBenchmarks"),

        // MARK: - Examples (built by the tests' build; see README "Using the libraries")
        .executableTarget(
            name: "TrainOnImages", dependencies: ["Training", "Datasets", "Imaging", "Tensors"], path: "Examples/TrainOnImages"),

        // MARK: - Tests
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Tensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NeuralNetworksTests", dependencies: ["NeuralNetworks", "Tensors"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "NeuralNetworks", "Tensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Imaging", "Tensors"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Datasets", "Diffusion", "Models", "NeuralNetworks", "Tensors"],
                    resources: [.copy("Fixtures")]),
        // End-to-end tests of the built `ddpm` binary (the dependency makes SwiftPM build it).
        .testTarget(name: "ddpmTests", dependencies: [
            "ddpm", "TrainOnImages", "Datasets", "Diffusion", "Imaging", "Models", "NeuralNetworks", "Tensors", "Training",
        ]),
    ]
)
