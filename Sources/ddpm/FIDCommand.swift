// `ddpm fid`: FID (pytorch-fid's) and KID (torch-fidelity's) of samples against a data set or a statistics file.
import ArgumentParser
import DDPMDatasets
import DDPMDistributed
import DDPMFileSupport
import DDPMMetrics
import DDPMTensors
import Foundation

struct FIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fid",
        abstract: "Measure sample quality: FID and KID against a data set or a statistics file.",
        discussion: """
            FID is pytorch-fid's: pool3 features (2048-d) of its InceptionV3 — the
            TensorFlow network of 2015-12-05, images resized bilinearly to 299 × 299 —,
            their means and covariances in Float64, and the Fréchet distance. KID is
            torch-fidelity's: the unbiased MMD² with a cubic polynomial kernel, its mean
            and standard deviation over --kid-subsets random subsets of
            --kid-subset-size (at most the smaller set's size). Published CIFAR-10 FIDs
            (DDPM: 3.17) use 50,000 samples against the training set; fewer samples give
            larger FIDs, so compare numbers of the same sample count and reference.

            SAMPLES: a `ddpm sample` output folder (its samples.npy, else samples.npz,
            else images/), a folder of PNG or JPEG images, an .npy or .npz of uint8 N × H × W × C (improved-diffusion's arr_0),
            or a statistics .npz. --reference: a data spec (e.g. fashion-mnist,
            cifar10:DIR; with --split) or a statistics .npz (mu, sigma: pytorch-fid's
            format, as --save-stats writes it). Gray images are repeated to RGB.

            Prints FID and KID and writes them to --output (default: fid.json in the
            SAMPLES folder, or beside the SAMPLES file). Under `mpirun -np N` every rank
            runs the same command, batch k of each image set is featurised by rank k mod
            N, and rank 0 gathers the features (in image order) and computes.

            Weights (--weights; default $DDPM_FID_WEIGHTS, else the copy pytorch-fid or
            torch-fidelity cached in ~/.cache/torch/hub/checkpoints/): pytorch-fid's
            pt_inception-2015-12-05-6726825d.pth (or a safetensors copy of its
            state_dict), 95,628,359 bytes, SHA-256
            6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2, from
            https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
            """)

    @Argument(help: "The samples: a `ddpm sample` folder, a PNG folder, an .npy/.npz of uint8 images, or a statistics .npz.")
    var samples: String

    @Option(help: "The reference: a data spec (e.g. fashion-mnist, cifar10:DIR) or a statistics .npz.")
    var reference: String

    @Option(help: "The split of a --reference data spec (FID is usually reported against train).")
    var split: DataSplit = .train

    @Option(name: .customLong("reference-count"), help: "Use only the first N reference images (default: all).")
    var referenceCount: Int?

    @Option(
        help: "The Inception weights: pt_inception-2015-12-05-6726825d.pth or a safetensors copy.",
        completion: .file(extensions: ["pth", "safetensors"]))
    var weights: String?

    @Option(name: .customLong("save-stats"), help: "Write the reference statistics (mu, sigma; pytorch-fid's .npz format) to this file.")
    var saveStats: String?

    @Option(
        help: ArgumentHelp(
            "Feature layer: 2048 (pool3, the FID of published numbers), or 768, 192, 64 (earlier layers; not comparable).",
            valueName: "2048|768|192|64"))
    var dims: Int = 2048

    @Option(
        name: .customLong("batch-size"),
        help: "Images per network run (16 is fastest here; 50, pytorch-fid's default, is 1.5x slower on 2 cores).")
    var batchSize: Int = 16

    @Option(name: .customLong("kid-subsets"), help: "KID: number of random subsets.")
    var kidSubsets: Int = KernelInceptionDistance.defaultSubsets

    @Option(name: .customLong("kid-subset-size"), help: "KID: images per subset (reduced to the smaller set's size).")
    var kidSubsetSize: Int = KernelInceptionDistance.defaultSubsetSize

    @Option(help: "Seed of generated reference data (dead leaves, …).")
    var seed: UInt64 = 0

    @Option(help: "The JSON file to write (default: fid.json in the SAMPLES folder, or beside the SAMPLES file).")
    var output: String?

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard FIDInceptionV3.Block(dimension: dims) != nil else {
            throw ValidationError("--dims must be 2048, 768, 192 or 64, got \(dims).")
        }
        guard (1...1024).contains(batchSize) else { throw ValidationError("--batch-size must be in 1…1024, got \(batchSize).") }
        guard kidSubsets >= 1 else { throw ValidationError("--kid-subsets must be at least 1, got \(kidSubsets).") }
        guard kidSubsetSize >= 2 else { throw ValidationError("--kid-subset-size must be at least 2, got \(kidSubsetSize).") }
        if let referenceCount {
            guard referenceCount >= 2 else { throw ValidationError("--reference-count must be at least 2, got \(referenceCount).") }
        }
    }

    /// --weights, else $DDPM_FID_WEIGHTS, else pytorch-fid's or torch-fidelity's cached copy (the first that exists).
    func weightsURL() -> URL { Self.weightsURL(weights) }

    /// `path`, else $DDPM_FID_WEIGHTS, else pytorch-fid's or torch-fidelity's cached copy (the first
    /// that exists; pytorch-fid's name when none does, for the message).
    static func weightsURL(_ path: String?) -> URL {
        if let path { return URL(fileURLWithPath: path) }
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["DDPM_FID_WEIGHTS"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let torchHome =
            environment["TORCH_HOME"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["XDG_CACHE_HOME"] ?? NSHomeDirectory() + "/.cache").appendingPathComponent("torch")
        let folder = torchHome.appendingPathComponent("hub/checkpoints")
        let candidates = [FIDInceptionV3.weightsFileName, "weights-inception-2015-12-05-6726825d.pth"].map {
            folder.appendingPathComponent($0)
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) } ?? candidates[0]
    }

    func run() throws {
        try MPIJob.run(threads: compute) { try measure(world: $0) }
    }

    /// Featurises this rank's batches of each image set (all of them without MPI); rank 0 gathers
    /// the features, computes FID and KID and writes.
    func measure(world: Communicator) throws {
        let isRoot = world.isRoot
        func tell(_ message: String) { if isRoot { note(message) } }
        let block = FIDInceptionV3.Block(dimension: dims)!
        let (samplesSource, referenceSource) = try world.agree {
            (try FIDImageSet.load(path: samples, flag: "SAMPLES"), try loadReference())
        }

        // 1. The network, only when some set needs featurising.
        var network: FIDInceptionV3?
        func inception() throws -> FIDInceptionV3 {
            if let network { return network }
            let url = weightsURL()
            let loaded = try world.agree { try CommandFailure.wrap("") { try FIDInceptionV3(contentsOf: url) } }
            tell("fid: Inception weights \(url.path)")
            network = loaded
            return loaded
        }

        // 2. Features and statistics of each side.
        // Rank 0 gets the statistics; the other ranks featurise their share and get nil.
        func summarise(_ source: FIDImageSet.Source, label: String) throws -> (FeatureStatistics, (values: [Float], count: Int)?, Double)? {
            switch source {
            case let .statistics(statistics, url):
                guard statistics.dimension == dims else {
                    throw FailureOnEveryRank(description: "\(url.path) holds \(statistics.dimension)-d statistics; --dims is \(dims).")
                }
                tell("fid: \(label): statistics from \(url.path)")
                return (statistics, nil, 0)
            case let .images(set):
                guard set.count >= 2 else { throw FailureOnEveryRank(description: "\(set.description): FID needs at least 2 images.") }
                tell("fid: \(label): \(set.description)" + (world.size > 1 ? " over \(world.size) ranks" : ""))
                guard
                    let (values, seconds) = try set.features(
                        try inception(), block: block, batchSize: batchSize, label: "fid \(label)", world: world)
                else { return nil }
                let statistics = try CommandFailure.wrap("\(label): ") {
                    try FeatureStatistics(features: values, count: set.count, dimension: dims)
                }
                return (statistics, (values, set.count), seconds)
            }
        }
        let sampleSummary = try summarise(samplesSource, label: "samples")
        let referenceSummary = try summarise(referenceSource, label: "reference")
        guard isRoot, let (sampleStatistics, sampleFeatures, sampleSeconds) = sampleSummary,
            let (referenceStatistics, referenceFeatures, referenceSeconds) = referenceSummary
        else { return }
        if let saveStats {
            let url = URL(fileURLWithPath: saveStats)
            try CommandFailure.wrap("--save-stats: ") { try referenceStatistics.write(to: url) }
            note("fid: wrote the reference statistics to \(url.path)")
        }

        // 3. FID, and KID where both sides have features.
        let distance = try CommandFailure.wrap("") { try FrechetDistance(sampleStatistics, referenceStatistics) }
        if distance.offsetApplied {
            note("warning: the covariance product was singular; added 1e-6·I to both covariances (as pytorch-fid does).")
        }
        var kid: KernelInceptionDistance?
        if let a = sampleFeatures, let b = referenceFeatures {
            let size = min(kidSubsetSize, a.count, b.count)
            if size < kidSubsetSize { note("fid: KID subsets of \(size) images (fewer than --kid-subset-size \(kidSubsetSize) available)") }
            kid = try CommandFailure.wrap("KID: ") {
                try KernelInceptionDistance(
                    a.values, count: a.count, b.values, count: b.count, dimension: dims, subsets: kidSubsets, subsetSize: size)
            }
        }

        // 4. Report.
        let featurised = (sampleFeatures?.count ?? 0) + (referenceFeatures?.count ?? 0)
        let seconds = sampleSeconds + referenceSeconds
        let result = FIDResult(
            fid: distance.value, kidMean: kid?.mean, kidStandardDeviation: kid?.standardDeviation, kidSubsets: kid?.subsets,
            kidSubsetSize: kid?.subsetSize, dims: dims, samples: samples, sampleCount: sampleStatistics.count,
            reference: reference, referenceSplit: referenceIsSpec ? split.rawValue : nil, referenceCount: referenceStatistics.count,
            offsetApplied: distance.offsetApplied, featurisedImages: featurised, featuriseSeconds: seconds,
            secondsPerImage: featurised > 0 ? seconds / Double(featurised) : nil)
        print(
            String(
                format: "FID %.4f (%d-d features; %@ vs %@)", distance.value, dims, sampleStatistics.count.map(String.init) ?? "statistics",
                referenceStatistics.count.map { "\($0) reference images" } ?? "reference statistics"))
        if let kid {
            print(String(format: "KID %.6f ± %.6f (%d subsets of %d)", kid.mean, kid.standardDeviation, kid.subsets, kid.subsetSize))
        } else {
            print("KID not computed (it needs the features of both sides; a statistics file has none)")
        }
        if featurised > 0 {
            print(
                String(
                    format: "featurised %d images in %.1f s (%.1f ms per image)", featurised, seconds, 1000 * seconds / Double(featurised)))
        }
        let url = try outputURL()
        try AtomicFile.write(Pictures.jsonEncoder.encode(result), to: url)
        print("wrote \(url.path)")
    }

    /// Whether --reference is a data spec (not a file).
    var referenceIsSpec: Bool { !FileManager.default.fileExists(atPath: reference) }

    /// --reference: an existing file or folder is read as SAMPLES is; anything else is a data spec.
    func loadReference() throws -> FIDImageSet.Source {
        if !referenceIsSpec { return try FIDImageSet.load(path: reference, flag: "--reference") }
        let spec = try CommandFailure.wrap("--reference: ") { try DataSpec(parsing: reference) }
        var generator = PhiloxGenerator(seed: seed)
        let dataset = try CommandFailure.wrap("--reference \(reference): ") { try spec.load(split: split, generator: &generator) }
        return .images(try FIDImageSet.dataset(dataset, limit: referenceCount, description: "\(reference) (\(split.rawValue))"))
    }

    func outputURL() throws -> URL {
        if let output { return URL(fileURLWithPath: output) }
        var isFolder: ObjCBool = false
        let url = URL(fileURLWithPath: samples)
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
        return isFolder.boolValue
            ? url.appendingPathComponent("fid.json") : url.deletingLastPathComponent().appendingPathComponent("fid.json")
    }
}

/// fid.json.
struct FIDResult: Codable {
    var fid: Double
    var kidMean: Double?
    var kidStandardDeviation: Double?
    var kidSubsets: Int?
    var kidSubsetSize: Int?
    var dims: Int
    var samples: String
    var sampleCount: Int?
    var reference: String
    var referenceSplit: String?
    var referenceCount: Int?
    var offsetApplied: Bool
    var featurisedImages: Int
    var featuriseSeconds: Double
    var secondsPerImage: Double?
}
