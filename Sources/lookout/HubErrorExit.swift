import ArgumentParser
import LookoutHub

extension HubError {
    /// 78 (EX_CONFIG) for data an operator must fix first, such as a damaged database (the
    /// systemd unit does not restart on it: a restart would fail the same way), else 1.
    var exitCode: ExitCode { kind == .needsOperator ? ExitCode(78) : ExitCode(1) }
}
