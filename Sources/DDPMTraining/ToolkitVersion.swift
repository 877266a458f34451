// The toolkit's version and the git commit it was built from.

/// The version of this toolkit and the commit it was built from, as `ddpm --version` prints it and
/// run.json records it (`createdWith`).
public enum ToolkitVersion {
    /// The release version (semantic versioning).
    public static let version = "0.2.0"
    /// The git commit of the build, 12 hex digits (`-modified` when tracked files differed from it),
    /// or `unknown` when the package was built outside a git checkout. Written by the BuildInfo
    /// plugin before every build.
    public static let commit = buildCommit
    /// `0.2.0 (commit 0123456789ab)`.
    public static var description: String { "\(version) (commit \(commit))" }
}
