import Logging
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Takes one sample of a machine: system figures, containers and service checks,
/// gathered concurrently into one ``MetricsDocument``.
public struct Collector: Sendable {
    public var vmID: VMID
    public var system: SystemProbe
    public var network: NetworkProbe
    public var docker: DockerCollector
    public var services: ServiceChecker
    public var serviceChecks: [ServiceCheckConfig]
    /// `disk_io` and `filesystems`.
    public var storage: StorageProbe
    public var intervalSeconds: Int
    /// Injected so tests and the golden file get a fixed timestamp.
    public var now: @Sendable () -> Date
    public var logger: Logger

    public init(
        vmID: VMID, procfs: ProcFS, diskPath: String, sysfs: ProcFS = ProcFS(root: "/sys"),
        interfaces: InterfaceSelection = .automatic, dockerSocket: String, serviceChecks: [ServiceCheckConfig],
        intervalSeconds: Int, httpClient: AgentHTTPClient = .init(), logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.vmID = vmID
        self.system = SystemProbe(procfs: procfs, diskPath: diskPath, sysfs: sysfs)
        self.network = NetworkProbe(procfs: procfs, sysfs: sysfs, selection: interfaces)
        self.logger = logger
        self.docker = DockerCollector(socketPath: dockerSocket, logger: logger, httpClient: httpClient)
        self.services = ServiceChecker(httpClient: httpClient, logger: logger)
        self.serviceChecks = serviceChecks
        self.storage = StorageProbe(procfs: procfs, sysfs: system.sysfs, logger: logger)
        self.intervalSeconds = intervalSeconds
        self.now = now
    }

    /// The collector the settings describe (what an agent run or the hub's local agent samples).
    public init(settings: AgentSettings, httpClient: AgentHTTPClient = .init(), logger: Logger) {
        self.init(
            vmID: settings.vmID, procfs: settings.procfs, diskPath: settings.diskPath, sysfs: settings.sysfs,
            interfaces: settings.interfaces, dockerSocket: settings.dockerSocket, serviceChecks: settings.serviceChecks,
            intervalSeconds: settings.intervalSeconds, httpClient: httpClient, logger: logger)
        storage.diskIODevice = settings.diskIODevice
        storage.filesystems.selection = settings.filesystems
    }

    /// Samples the machine. `state` holds the previous counters; the returned state is
    /// what the next sample needs.
    ///
    /// CPU is read first, alone: with no usable previous counters that is a short sample
    /// (a sleep between two reads), and Docker's and the service checks' own work must not
    /// count as the machine's. Containers, checks and the rest of the system figures then
    /// run concurrently. The network counters are read beside CPU, so that the two short
    /// samples of a first run overlap.
    /// - Throws: ``CollectorError`` when a system figure cannot be read; containers and
    ///   services never fail a sample (they report empty or unhealthy instead).
    public func collect(
        state: AgentState, firstSampleDelay: Duration = .milliseconds(250)
    ) async throws(CollectorError) -> (document: MetricsDocument, state: AgentState) {
        async let net = network.read(
            previous: state.network, firstSampleDelay: firstSampleDelay, now: now, logger: logger)
        // Disk I/O beside CPU: the short samples of a first run overlap instead of adding up.
        let mounts = storage.mounts()
        async let diskIO = storage.readDiskIO(
            mounts: mounts, previous: state.diskIO, firstSampleDelay: firstSampleDelay)
        let cpu = try await system.readCPU(previous: state.cpu, firstSampleDelay: firstSampleDelay)
        async let containers = docker.collect(previous: state.containers)
        async let checks = serviceChecks.isEmpty ? [] : services.run(serviceChecks)
        var metrics: SystemMetrics
        do {
            metrics = try system.readRest(cpu: cpu)
            metrics.filesystems = storage.readFilesystems(mounts: mounts)
        } catch {
            _ = await (containers, checks)
            throw error
        }
        let (containerResult, serviceResult, networkResult, io) = await (containers, checks, net, diskIO)
        metrics.network = networkResult.metrics
        metrics.diskIO = io.metrics
        let document = MetricsDocument(
            vmID: vmID, timestamp: now(), system: metrics, containers: containerResult.containers,
            services: serviceResult, intervalSeconds: intervalSeconds,
            agent: "lookout-agent \(LookoutVersion.current)")
        let next = AgentState(
            cpu: cpu.counters, containers: containerResult.counters, network: networkResult.counters,
            diskIO: io.counters)
        return (document, next)
    }
}
