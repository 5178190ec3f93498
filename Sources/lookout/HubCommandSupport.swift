import ArgumentParser
import Logging
import LookoutCore
import LookoutHub

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Small pieces the hub's subcommands share: logging, environment, addresses.
enum HubCommandSupport {
    static func bootstrapLogging(level: Logger.Level, label: String) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }

    static func environment() -> [String: String] {
        ProcessInfo.processInfo.environment
    }

    /// `host:port`, `[v6]:port` or `:port` (all interfaces).
    static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65_535).contains(port)
        else {
            throw ValidationError("--listen: \"\(text)\" is not host:port (e.g. 127.0.0.1:8080)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// Why `serve` must not start with these tokens on this address, or nil. A hub without
    /// a main token has open reads, which is only safe where nothing but this machine can
    /// reach them; per-VM tokens alone look protected but are not (every read is open,
    /// also through a reverse proxy on loopback), so they too need `--insecure-listen`.
    static func tokenPolicyProblem(_ tokens: APITokens, host: String, listen: String, insecureListen: Bool) -> String? {
        guard tokens.main == nil, !insecureListen else { return nil }
        if !tokens.perVM.isEmpty {
            return "vm_tokens_file is set but there is no main token, so every read of the API would be open: "
                + "set LOOKOUT_TOKEN or token_file, or pass --insecure-listen to accept open reads"
        }
        if !isLoopback(host) {
            return "refusing to listen on \(listen) without an API token: "
                + "set LOOKOUT_TOKEN or token_file, or pass --insecure-listen"
        }
        return nil
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The dashboard files: `Public/` beside the binary (a copied install), `../share/lookout/Public`
    /// from it (the manual install of docs/install.md), `Public/` in the working folder (a checkout),
    /// else `/usr/share/lookout/public`, where the Debian package puts them (its unit runs in
    /// /var/lib/lookout, so only the absolute path finds them).
    static func findDashboard() -> String? {
        var exe = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &exe, exe.count - 1)
        var candidates: [String] = []
        if length > 0 {
            let path = String(decoding: exe.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let folder = AtomicFile.folder(of: path)
            candidates += ["\(folder)/Public", "\(folder)/../share/lookout/Public"]
        }
        candidates += ["Public", packagedDashboard]
        return candidates.first { access("\($0)/monitoring.html", R_OK) == 0 }
    }

    /// Where the `lookout` Debian package installs the dashboard (deploy/debian).
    static let packagedDashboard = "/usr/share/lookout/public"

    static func describe(_ config: MonitoringConfig, tokens: APITokens, path: String?) -> String {
        let t = config.thresholds
        var lines = ["config \(path ?? "(none: defaults)") is valid"]
        lines.append(
            "thresholds (warning/critical): cpu \(t.cpu.warning)/\(t.cpu.critical), memory \(t.memory.warning)/\(t.memory.critical), disk \(t.disk.warning)/\(t.disk.critical), load \(t.load.warning)/\(t.load.critical)\(t.load.perCore == true ? " per core" : "")"
        )
        lines.append(
            "thresholds (warning/critical): swap \(t.swap.warning)/\(t.swap.critical), disk_util \(t.diskUtil.warning)/\(t.diskUtil.critical) over \(t.diskUtil.sustainedSamples) samples, temperature \(t.temperature.map { "\($0.warning)/\($0.critical)" } ?? "off")"
        )
        if !config.traffic.isEmpty {
            let allowances = config.traffic.keys.sorted().map { vm in
                let a = config.traffic[vm]!
                return "\(vm) \(a.monthlyGB) GB \(a.direction.rawValue) from day \(a.resetDay)"
            }
            lines.append("traffic allowances: \(allowances.joined(separator: ", "))")
        }
        if !config.overrides.isEmpty {
            lines.append("overrides for: \(config.overrides.keys.sorted().map(\.rawValue).joined(separator: ", "))")
        }
        lines.append("stale after: \(config.staleAfterMinutes) min (or 3 × a VM's interval)")
        let email = config.notifications.email
        lines.append(
            email.enabled
                ? "email: \(email.smtpHost):\(email.port) (\(email.security.rawValue)) to \(email.recipients.joined(separator: ", "))"
                : "email: off")
        lines.append(
            "webhooks: \(config.notifications.webhooks.count), cooldown \(config.notifications.cooldownMinutes) min")
        lines += config.routingExplanation()
        lines.append("retention: raw \(config.retention.rawDays) days, hourly \(config.retention.hourlyDays) days")
        lines.append(
            "API token: \(tokens.main == nil ? "none (API open; loopback only)" : "set"); per-VM tokens: \(tokens.perVM.count)"
        )
        if let file = config.tokenFile { lines.append("token_file: \(file) (unless LOOKOUT_TOKEN is set)") }
        if let file = config.vmTokensFile {
            lines.append("vm_tokens_file \(file): read, \(tokens.perVM.count) token(s)")
        }
        if let file = email.credentialsFile { lines.append("credentials_file \(file): read") }
        return lines.joined(separator: "\n")
    }
}
