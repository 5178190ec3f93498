#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LookoutCore
import Logging

/// One agent: collects samples and sends each where the settings say (data folder,
/// stdout, hub), keeping CPU counters between runs in the state file.
public struct Agent: Sendable {
    public let settings: AgentSettings
    let collector: Collector
    let pusher: Pusher?
    let logger: Logger

    /// How a run ended, as the process exit code tells cron or systemd.
    public enum Status: Int32, Sendable {
        case ok = 0
        /// The sample could not be taken or written anywhere.
        case failed = 1
        /// The hub was unreachable; the sample is kept in the spool for the next run.
        case spooled = 75
    }

    public init(settings: AgentSettings, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.logger = logger
        let httpClient = AgentHTTPClient(caFile: settings.caFile)
        self.collector = Collector(
            vmID: settings.vmID, procfs: settings.procfs, diskPath: settings.diskPath,
            dockerSocket: settings.dockerSocket, serviceChecks: settings.serviceChecks,
            intervalSeconds: settings.intervalSeconds, httpClient: httpClient, logger: logger, now: now)
        self.pusher = settings.push.map {
            Pusher(
                url: $0.url, token: $0.token, spool: Spool(folder: $0.spoolFolder, limit: $0.spoolLimit),
                httpClient: httpClient, logger: logger)
        }
    }

    /// One sample for cron: read the state file, collect, deliver, save the state.
    public func collectOnce() async -> Status {
        let state = loadState()
        let (status, next) = await sampleAndDeliver(state: state)
        if let next { saveState(next) }
        return status
    }

    /// Samples every `interval` seconds until the task is cancelled, keeping counters in
    /// memory. Ticks are aligned to the start time, so the cadence does not drift; a
    /// sample that overruns skips the ticks it missed instead of bunching up.
    public func run(interval: Duration) async {
        var state = loadState()
        let clock = ContinuousClock()
        var deadline = clock.now
        logger.info("lookout-agent \(LookoutVersion.current) sampling \(settings.vmID) every \(interval)")
        while !Task.isCancelled {
            let (_, next) = await sampleAndDeliver(state: state)
            if let next { state = next }
            deadline = deadline.advanced(by: interval)
            while deadline < clock.now { deadline = deadline.advanced(by: interval) }
            do {
                try await Task.sleep(until: deadline, clock: clock)
            } catch {
                break
            }
        }
    }

    func sampleAndDeliver(state: AgentState) async -> (Status, AgentState?) {
        let document: MetricsDocument
        let next: AgentState
        do {
            (document, next) = try await collector.collect(state: state)
        } catch {
            logger.error("sample failed: \(error)")
            return (.failed, nil)
        }
        var status = Status.ok
        if settings.stdout {
            let text = String(decoding: document.encoded(pretty: true), as: UTF8.self)
            print(text)
        }
        if let folder = settings.dataFolder {
            let vmFolder = "\(folder)/\(settings.vmID)"
            do {
                try AtomicFile.makeDirectories(vmFolder)
                try AtomicFile.write(document.encoded(pretty: true), to: "\(vmFolder)/metrics.json")
                logger.debug("wrote \(vmFolder)/metrics.json")
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
            case .rejected:
                status = .failed
            }
        }
        return (status, next)
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
