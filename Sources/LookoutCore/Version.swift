/// The release of this build, reported by `--version` and in each document's `agent` field.
public enum LookoutVersion {
    /// The version inside one contiguous literal, so the hub can read it out of an agent
    /// binary of any architecture without running it (`/install/agents.json`): the bytes
    /// `LOOKOUT_VERSION=<version>` followed by a NUL or the end of the literal. A test may
    /// patch a copy of a binary to a higher version of the same length.
    public static let stamp = "LOOKOUT_VERSION=0.1.0"

    /// The prefix of ``stamp``.
    public static let stampPrefix = "LOOKOUT_VERSION="

    public static let current = String(stamp.dropFirst(stampPrefix.count))
}
