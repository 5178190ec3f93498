import Logging
import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One agent: collects samples and sends each where the settings say (data folder,
/// stdout, hub), keeping CPU counters between runs in the state file.
public struct Agent: Sendable {
    public let settings: AgentSettings
    let collector: Collector
    let pusher: Pusher?
    let logger: Logger
    /// Config `auto_upgrade`: the daily check after a sample.
    let autoUpgrade: AutoUpgrade?

    /// How a run ended, as the process exit code tells cron or systemd.
    public enum Status: Sendable, Equatable {
        case ok
        /// The sample could not be taken or written anywhere (a pushed one not spooled either).
        case failed
        /// The hub was unreachable; the sample is on disk in the spool for the next run.
        case spooled
        /// Another `collect` held the state file's lock for the whole wait: this run took
        /// no sample, and the next one reports the time since the last.
        case busy

        /// 0, 1, or 75 (EX_TEMPFAIL: try again later, nothing was lost).
        public var exitCode: Int32 {
            switch self {
            case .ok: 0
            case .failed: 1
            case .spooled, .busy: 75
            }
        }
    }

    public init(settings: AgentSettings, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.logger = logger
        let httpClient = AgentHTTPClient(caFile: settings.caFile)
        var collector = Collector(settings: settings, httpClient: httpClient, logger: logger)
        collector.now = now
        self.collector = collector
        self.pusher = settings.push.map {
            Pusher(
                url: $0.url, token: $0.token, spool: Spool(folder: $0.spoolFolder, limit: $0.spoolLimit),
                replayLimit: $0.replayLimit, httpClient: httpClient, logger: logger)
        }
        self.autoUpgrade = settings.autoUpgradeHub.flatMap { hub in
            Upgrader.runningBinary().map { binary in
                AutoUpgrade(
                    recordPath: AutoUpgrade.recordPath(forState: settings.statePath),
                    upgrader: Upgrader(hub: hub, binaryPath: binary, caFile: settings.caFile), now: now)
            }
        }
    }

    /// One sample for cron: lock the state file, read it, collect, deliver, save the state;
    /// then, with `auto_upgrade` and once a day, the upgrade check (after the lock is released,
    /// so a slow download never makes the next cron run wait; its outcome never changes the status).
    public func collectOnce() async -> Status {
        let (status, upgradeDue) = await collectHoldingLock()
        if upgradeDue, let autoUpgrade { _ = await autoUpgrade.perform(logger: logger) }
        return status
    }

    /// ``collectOnce()`` without the upgrade; the check is claimed under the lock, so two
    /// overlapping runs never both upgrade.
    private func collectHoldingLock() async -> (Status, upgradeDue: Bool) {
        let lockPath = StateLock.path(forState: settings.statePath)
        let lock: StateLock?
        do {
            lock = try await StateLock.acquire(path: lockPath, wait: settings.lockWait) {
                logger.info("another collect holds \(lockPath): waiting up to \(settings.lockWait) for it")
            }
        } catch {
            switch error {
            case .busy:
                logger.error(
                    """
                    another collect still holds \(lockPath) after \(settings.lockWait): skipping this run \
                    (exit 75); the next run reports the time since the last sample
                    """)
                return (.busy, false)
            case .unavailable(let reason):
                // Without the folder there is no state to save and no spool either: nothing to race over.
                logger.warning("running without the state lock: \(reason)")
                lock = nil
            }
        }
        defer { withExtendedLifetime(lock) {} }
        let document: MetricsDocument
        let next: AgentState
        do {
            (document, next) = try await collector.collect(state: loadState())
        } catch {
            logger.error("sample failed: \(error)")
            return (.failed, false)
        }
        let status = await deliver(document)
        saveState(next)
        return (status, autoUpgrade?.claim(logger: logger) ?? false)
    }

    /// Samples every `interval` until the task is cancelled, keeping counters in memory.
    public func run(interval: Duration) async {
        logger.info("lookout-agent \(LookoutVersion.current) sampling \(settings.vmID) every \(interval)")
        let loop = SamplingLoop(collector: collector, interval: interval, logger: logger)
        await loop.run(from: loadState()) { document in
            _ = await deliver(document)
            if let autoUpgrade, autoUpgrade.claim(logger: logger),
                let binary = await autoUpgrade.perform(logger: logger)
            {
                Self.restart(binary, logger: logger)
            }
        }
    }

    /// Replaces this process with the new binary, same pid and arguments, so a daemon under
    /// systemd (or anything else) runs the new code at once; on failure it keeps running
    /// the old code, which the next restart replaces anyway.
    static func restart(_ binary: String, logger: Logger) {
        logger.notice("auto_upgrade: restarting as the new \(binary)")
        fflush(nil)
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        argv.append(nil)
        execv(binary, argv)
        let reason = String(cString: strerror(errno))
        argv.forEach { free($0) }
        logger.error(
            "auto_upgrade: could not restart as \(binary): \(reason); the new version runs from the next restart")
    }

    /// Sends one document to every destination of the settings.
    func deliver(_ document: MetricsDocument) async -> Status {
        var status = Status.ok
        if settings.stdout {
            let text = String(decoding: document.encoded(pretty: true), as: UTF8.self)
            print(text)
        }
        if let folder = settings.dataFolder {
            let vmFolder = "\(folder)/\(settings.vmID)"
            let bytes = Array(document.encoded(pretty: true))
            do {
                try AtomicFile.makeDirectories(vmFolder)
                try AtomicFile.write(bytes, to: "\(vmFolder)/metrics.json")
                logger.debug("wrote \(vmFolder)/metrics.json")
                // After metrics.json, never instead of it: a journal that cannot be written
                // costs only the lossless catch-up, not the latest sample.
                Journal(vmFolder: vmFolder, limit: settings.journalSamples, logger: logger)
                    .record(bytes, timestamp: document.timestamp)
            } catch {
                logger.error("could not write the document: \(error)")
                status = .failed
            }
        }
        if let pusher {
            let timestamp = Int64(document.timestamp.timeIntervalSince1970)
            switch await pusher.deliver(Array(document.encoded()), timestamp: timestamp) {
            case .delivered:
                logger.debug("pushed to \(pusher.url)")
            case .spooled:
                if status == .ok { status = .spooled }
            case .rejected, .lost:
                status = .failed
            }
        }
        return status
    }

    func loadState() -> AgentState {
        let path = settings.statePath
        do {
            let bytes = try AtomicFile.read(path, limit: 1 << 20)
            return try JSONDecoder().decode(AgentState.self, from: Data(bytes))
        } catch let error as FileError where error.isNotFound {
            logger.info("no state file at \(path) yet: taking a short first sample for CPU")
        } catch {
            logger.warning("ignoring unreadable state file \(path): \(error)")
        }
        return AgentState()
    }

    func saveState(_ state: AgentState) {
        let path = settings.statePath
        do {
            try AtomicFile.makeDirectories(AtomicFile.folder(of: path), mode: 0o700)
            let bytes = try JSONEncoder.lookout().encode(state)
            try AtomicFile.write(bytes, to: path, mode: 0o600, durable: false)
        } catch {
            logger.warning("could not save CPU counters to \(path): \(error); the next run will take a short sample")
        }
    }
}
