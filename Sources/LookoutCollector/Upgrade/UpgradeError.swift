/// Why an upgrade or rollback did not happen; the installed binary is untouched in every
/// case. The message is one line saying what and what to do.
public enum UpgradeError: Error, Equatable, CustomStringConvertible {
    /// The hub could not be reached or answered "try later" (5xx): exit 75.
    case unreachable(String)
    /// Anything else (no binary for this architecture, a checksum mismatch, a file that
    /// does not run, a folder not writable): exit 1.
    case failed(String)

    public var description: String {
        switch self {
        case .unreachable(let message), .failed(let message): message
        }
    }

    /// 75 (EX_TEMPFAIL) for an unreachable hub, else 1.
    public var exitCode: Int32 {
        switch self {
        case .unreachable: 75
        case .failed: 1
        }
    }
}
