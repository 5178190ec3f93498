/// The release of this build, reported by `--version` and in each document's `agent` field.
public enum LookoutVersion {
    public static let current = "0.1.0"
}
