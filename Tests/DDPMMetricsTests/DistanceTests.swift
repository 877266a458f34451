// FID and KID against pytorch-fid's calculate_frechet_distance and torch-fidelity's KID; statistics files against numpy's.
import DDPMMetrics
import DDPMNeuralNetworks
import DDPMTestSupport
import Foundation
import Testing

@Suite struct DistanceTests {
    func statistics(_ name: String) throws -> FeatureStatistics {
        let set = try fixtureFeatures(name)
        return try FeatureStatistics(features: set.values, count: set.count, dimension: set.dimension)
    }

    /// Our μ and Σ of set_a against numpy's (np.mean, np.cov(rowvar=False)) in stats_a.npz, both the
    /// stored and the deflated file.
    @Test(arguments: ["stats_a.npz", "stats_a_compressed.npz"])
    func statisticsMatchNumpy(file: String) throws {
        let ours = try statistics("set_a.npy")
        let numpy = try FeatureStatistics.read(from: fidFixture(file))
        #expect(numpy.dimension == 64 && ours.count == 240)
        expectClose(ours.mean, numpy.mean, relative: 1e-13, absolute: 1e-15, "mu")
        expectClose(ours.covariance, numpy.covariance, relative: 1e-12, absolute: 1e-15, "sigma")
    }

    /// numpy's file read, written by us, read back: the same bits; and pytorch-fid's layout (mu.npy, sigma.npy, <f8).
    @Test func statisticsFilesRoundTrip() throws {
        let numpy = try FeatureStatistics.read(from: fidFixture("stats_a.npz"))
        let url = try temporaryFolder().appendingPathComponent("stats.npz")
        try numpy.write(to: url)
        #expect(try FeatureStatistics.read(from: url) == numpy)
        let members = try NPZFile.read(url)
        #expect(members.map(\.name) == ["mu", "sigma"])
        #expect(members.map(\.array.elements.descr) == ["<f8", "<f8"])
        #expect(members.map(\.array.shape) == [[64], [64, 64]])
        // The arrays are byte for byte numpy's (the NPY headers too: numpy writes version 1.0 the same way).
        let theirs = try ZipArchive(contentsOf: fidFixture("stats_a.npz")), ours = try ZipArchive(contentsOf: url)
        for name in ["mu.npy", "sigma.npy"] { #expect(try ours.contents(named: name) == theirs.contents(named: name)) }
    }

    @Test func statisticsFilesWithoutMuOrSigmaAreRefused() throws {
        let url = try temporaryFolder().appendingPathComponent("bad.npz")
        try NPZFile.write([("mu", NPYArray(shape: [3], elements: .float64([0, 0, 0])))], to: url)
        #expect(throws: MetricsError.self) { try FeatureStatistics.read(from: url) }
        try NPZFile.write(
            [
                ("mu", NPYArray(shape: [3], elements: .float64([0, 0, 0]))),
                ("sigma", NPYArray(shape: [2, 2], elements: .float64([1, 0, 0, 1]))),
            ], to: url)
        #expect(throws: MetricsError.self) { try FeatureStatistics.read(from: url) }
    }

    @Test func frechetDistanceMatchesPytorchFID() throws {
        let manifest = try FIDManifest.load().distances
        let (a, b, c) = (try statistics("set_a.npy"), try statistics("set_b.npy"), try statistics("set_c.npy"))
        let ab = try FrechetDistance(a, b)
        #expect(relativeError(ab.value, manifest.fid_ab) <= 1e-6, "FID(a, b) \(ab.value) vs pytorch-fid \(manifest.fid_ab)")
        #expect(relativeError(ab.value, manifest.fid_ab_eigen) <= 1e-9, "FID(a, b) \(ab.value) vs numpy eigh \(manifest.fid_ab_eigen)")
        #expect(relativeError(ab.value, manifest.fid_ab_mp40) <= 1e-10, "FID(a, b) \(ab.value) vs 40 digits \(manifest.fid_ab_mp40)")
        #expect(!ab.offsetApplied)
        // Statistics read from numpy's file give the same distance.
        let fromFile = try FrechetDistance(try FeatureStatistics.read(from: fidFixture("stats_a.npz")), b)
        #expect(relativeError(fromFile.value, manifest.fid_ab) <= 1e-6)
        // Singular Σ (40 samples, 64 dimensions): scipy's sqrtm is least accurate here.
        let cb = try FrechetDistance(c, b)
        #expect(relativeError(cb.value, manifest.fid_cb) <= 1e-6, "FID(c, b) \(cb.value) vs pytorch-fid \(manifest.fid_cb)")
        // The eigenvalues at rounding level dropped, ours is the 40-digit value to 1e-11; scipy's sqrtm and
        // numpy's eigh without dropping them are 2.3e-8 and 2.6e-8 away.
        #expect(relativeError(cb.value, manifest.fid_cb_mp40) <= 1e-9, "FID(c, b) \(cb.value) vs 40 digits \(manifest.fid_cb_mp40)")
        print(
            String(
                format:
                    "FID parity: (a, b) %.12g vs pytorch-fid %.12g (rel %.1e); singular (c, b) %.12g vs pytorch-fid %.12g (rel %.1e), vs 40 digits %.12g (rel %.1e)",
                ab.value, manifest.fid_ab, relativeError(ab.value, manifest.fid_ab), cb.value, manifest.fid_cb,
                relativeError(cb.value, manifest.fid_cb),
                manifest.fid_cb_mp40, relativeError(cb.value, manifest.fid_cb_mp40)))
    }

    @Test(arguments: ["set_a.npy", "set_b.npy", "set_c.npy"])
    func aSetAgainstItselfIsZero(name: String) throws {
        let s = try statistics(name)
        let d = try FrechetDistance(s, s)
        #expect(abs(d.value) <= 1e-6, "FID(\(name), itself) = \(d.value)")
        #expect(d.meanTerm == 0)
    }

    @Test func frechetDistanceRefusesMismatchedOrDamagedStatistics() throws {
        let a = try statistics("set_a.npy")
        let small = FeatureStatistics(mean: [0, 0], covariance: [1, 0, 0, 1])
        #expect(throws: MetricsError.dimensionMismatch(64, 2)) { try FrechetDistance(a, small) }
        let nan = FeatureStatistics(mean: [0, .nan], covariance: [1, 0, 0, 1])
        #expect(throws: MetricsError.self) { try FrechetDistance(nan, small) }
        // Not positive semi-definite: an eigenvalue of −1 has an imaginary root of 1 ≫ 1e-3.
        let indefinite = FeatureStatistics(mean: [0, 0], covariance: [1, 0, 0, -1])
        #expect(throws: MetricsError.imaginaryComponent(1)) { try FrechetDistance(small, indefinite) }
    }

    /// Two Gaussians in closed form: d² = |Δμ|² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½ with diagonal Σ.
    @Test func diagonalCovariancesHaveAClosedForm() throws {
        let a = FeatureStatistics(mean: [1, 2, 3], covariance: [4, 0, 0, 0, 9, 0, 0, 0, 0])
        let b = FeatureStatistics(mean: [0, 2, 5], covariance: [1, 0, 0, 0, 4, 0, 0, 0, 2])
        let expected = 1 + 4 + (4 + 9 + 0) + (1 + 4 + 2) - 2 * (2 + 6 + 0)
        #expect(abs(try FrechetDistance(a, b).value - Double(expected)) <= 1e-12)
    }

    /// torch-fidelity's subsets: RandomState(2020).choice(240, 100, replace=False), then choice(200, 100, …).
    @Test func subsetsAreNumpysRandomState() throws {
        let manifest = try FIDManifest.load().distances
        var random = NumPyRandomState(seed: manifest.kid_rng_seed)
        #expect(random.choice(240, size: manifest.kid_subset_size) == manifest.kid_first_subsets[0])
        #expect(random.choice(200, size: manifest.kid_subset_size) == manifest.kid_first_subsets[1])
        // MT19937's reference output for init_genrand(5489): 3499211612, 581869302, 3890346734.
        var mt = NumPyRandomState(seed: 5489)
        #expect((0..<3).map { _ in mt.nextUInt32() } == [3_499_211_612, 581_869_302, 3_890_346_734])
    }

    @Test func kernelInceptionDistanceMatchesTorchFidelity() throws {
        let manifest = try FIDManifest.load().distances
        let (a, b) = (try fixtureFeatures("set_a.npy"), try fixtureFeatures("set_b.npy"))
        let kid = try KernelInceptionDistance(
            a.values, count: a.count, b.values, count: b.count, dimension: a.dimension,
            subsets: manifest.kid_subsets, subsetSize: manifest.kid_subset_size, seed: manifest.kid_rng_seed)
        #expect(relativeError(kid.mean, manifest.kid_ab_f64.mean) <= 1e-6, "KID mean \(kid.mean) vs \(manifest.kid_ab_f64.mean)")
        #expect(
            relativeError(kid.standardDeviation, manifest.kid_ab_f64.std) <= 1e-6,
            "KID std \(kid.standardDeviation) vs \(manifest.kid_ab_f64.std)")
        let aa = try KernelInceptionDistance(
            a.values, count: a.count, a.values, count: a.count, dimension: a.dimension,
            subsets: manifest.kid_subsets, subsetSize: manifest.kid_subset_size, seed: manifest.kid_rng_seed)
        #expect(
            relativeError(aa.mean, manifest.kid_aa_f64.mean) <= 1e-6 && relativeError(aa.standardDeviation, manifest.kid_aa_f64.std) <= 1e-6
        )
        print(
            String(
                format:
                    "KID parity: mean %.12g vs torch-fidelity (float64) %.12g (rel %.1e), std %.12g vs %.12g (rel %.1e); torch-fidelity float32 %.12g",
                kid.mean, manifest.kid_ab_f64.mean, relativeError(kid.mean, manifest.kid_ab_f64.mean), kid.standardDeviation,
                manifest.kid_ab_f64.std, relativeError(kid.standardDeviation, manifest.kid_ab_f64.std), manifest.kid_ab_f32.mean))
        #expect(throws: MetricsError.self) {
            try KernelInceptionDistance(a.values, count: a.count, b.values, count: b.count, dimension: a.dimension, subsetSize: 1000)
        }
    }
}
