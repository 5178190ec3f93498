#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LookoutCore
import Logging

/// Takes one sample of a machine: system figures, containers and service checks,
/// gathered concurrently into one ``MetricsDocument``.
public struct Collector: Sendable {
    public var vmID: VMID
    public var system: SystemProbe
    public var docker: DockerCollector
    public var services: ServiceChecker
    public var serviceChecks: [ServiceCheckConfig]
    public var intervalSeconds: Int
    /// Injected so tests and the golden file get a fixed timestamp.
    public var now: @Sendable () -> Date

    public init(
        vmID: VMID, procfs: ProcFS, diskPath: String, dockerSocket: String, serviceChecks: [ServiceCheckConfig],
        intervalSeconds: Int, httpClient: AgentHTTPClient = .init(), logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.vmID = vmID
        self.system = SystemProbe(procfs: procfs, diskPath: diskPath)
        self.docker = DockerCollector(socketPath: dockerSocket, logger: logger, httpClient: httpClient)
        self.services = ServiceChecker(httpClient: httpClient, logger: logger)
        self.serviceChecks = serviceChecks
        self.intervalSeconds = intervalSeconds
        self.now = now
    }

    /// Samples the machine. `state` holds the previous counters; the returned state is
    /// what the next sample needs.
    /// - Throws: ``CollectorError`` when a system figure cannot be read; containers and
    ///   services never fail a sample (they report empty or unhealthy instead).
    public func collect(
        state: AgentState, firstSampleDelay: Duration = .milliseconds(250)
    ) async throws(CollectorError) -> (document: MetricsDocument, state: AgentState) {
        async let containers = docker.collect(previous: state.containers)
        async let checks = serviceChecks.isEmpty ? [] : services.run(serviceChecks)
        let system: (metrics: SystemMetrics, cpu: CPUCounters)
        do {
            system = try await self.system.collect(previousCPU: state.cpu, firstSampleDelay: firstSampleDelay)
        } catch {
            _ = await (containers, checks)
            throw error
        }
        let (containerResult, serviceResult) = await (containers, checks)
        let document = MetricsDocument(
            vmID: vmID, timestamp: now(), system: system.metrics, containers: containerResult.containers,
            services: serviceResult, intervalSeconds: intervalSeconds,
            agent: "lookout-agent \(LookoutVersion.current)")
        return (document, AgentState(cpu: system.cpu, containers: containerResult.counters))
    }
}
