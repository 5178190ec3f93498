import Logging
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Lists every container of the local Docker daemon with its CPU and memory, over the
/// Engine API's unix socket.
///
/// CPU is a share of the whole host between two samples, so a one-shot agent passes the
/// counters of its previous run (kept in its state file) instead of letting the daemon
/// sleep a second per container. Requests use unversioned paths: every daemon since
/// API 1.24 answers them with the fields read here.
///
/// Docker is optional on a monitored host: ``collect(previous:)`` never throws. A host
/// without the socket costs one `stat` and an info line; a daemon that is stuck or
/// answers nonsense costs at most ``timeout`` per request and one warning line.
public struct DockerCollector: Sendable {
    /// The daemon's socket, usually `/var/run/docker.sock`.
    public let socketPath: String
    /// The longest wait for any one answer of the daemon.
    public let timeout: Duration
    let logger: Logger
    let httpClient: AgentHTTPClient
    /// Whether the missing socket was already reported: a daemon says it once, not every sample.
    let reportedMissingSocket = Once()

    /// Stats calls in flight at once: the daemon reads several cgroup files per call,
    /// and a small VM should not see a burst of 50.
    static let maxConcurrentStats = 8
    /// Bigger than any real container list (about 2 KB per container).
    static let listLimit = 8 << 20
    /// A stats body is 2–5 KB; more means something else is answering.
    static let statsLimit = 1 << 20

    /// - Parameters:
    ///   - socketPath: the Engine API socket; nothing is sent when it does not exist.
    ///   - timeout: the longest wait for the list and for each container's stats.
    ///   - logger: receives the one line a run logs when Docker is absent or failing.
    ///   - httpClient: the client that speaks HTTP over the socket.
    public init(
        socketPath: String, timeout: Duration = .seconds(3), logger: Logger, httpClient: AgentHTTPClient = .init()
    ) {
        self.socketPath = socketPath
        self.timeout = timeout
        self.logger = logger
        self.httpClient = httpClient
    }

    /// Every container, sorted by name, and the CPU counters to pass to the next call.
    ///
    /// - Parameter previous: the counters this returned last time, keyed by container id.
    ///   Without an entry, the daemon's own `precpu_stats` serve when it has them, else the
    ///   container reports 0 % this time.
    /// - Returns: an empty list when Docker is absent or fails; containers whose stats could
    ///   not be read are listed with their state and 0 CPU, 0 memory.
    public func collect(
        previous: [String: ContainerCPUCounters]
    ) async -> (containers: [ContainerMetrics], counters: [String: ContainerCPUCounters]) {
        switch checkSocket() {
        case .ready:
            break
        case .missing:
            let first = reportedMissingSocket.claim()
            logger.log(level: first ? .info : .debug, "no Docker socket at \(socketPath); reporting no containers")
            return ([], [:])
        case .unusable(let reason):
            logger.warning("cannot use the Docker socket \(socketPath): \(reason); reporting no containers")
            return ([], [:])
        }

        let summaries: [DockerContainerSummary]
        do {
            let body = try await get("/containers/json?all=1", limit: Self.listLimit, allowNotFound: false)
            summaries = try Self.parseContainers(body ?? Data())
        } catch {
            logger.warning("could not list containers from Docker at \(socketPath): \(error); reporting no containers")
            return ([], [:])
        }

        let stats = await fetchStats(ids: summaries.filter(\.hasLiveStats).map(\.id))
        var containers: [ContainerMetrics] = []
        var counters: [String: ContainerCPUCounters] = [:]
        var failures: [CollectorError] = []
        for summary in summaries {
            var sample: DockerStats?
            switch stats[summary.id] {
            case .success(.some(let value)):
                sample = value
            case .success(.none):
                continue  // removed between the list and its stats
            case .failure(let error):
                failures.append(error)
            case nil:
                break  // not running: nothing to measure
            }
            let (metrics, newCounters) = Self.metrics(for: summary, stats: sample, previous: previous[summary.id])
            containers.append(metrics)
            counters[summary.id] = newCounters
        }
        if let first = failures.first {
            logger.warning(
                """
                could not read stats of \(failures.count) of \(stats.count) containers from Docker at \
                \(socketPath): \(first); reporting them with 0 CPU and memory
                """)
        }
        containers.sort { $0.name < $1.name }
        return (containers, counters)
    }

    // MARK: Pure parts

    /// Decodes the body of `GET /containers/json`.
    static func parseContainers(_ data: Data) throws(CollectorError) -> [DockerContainerSummary] {
        do {
            return try JSONDecoder().decode([DockerContainerSummary].self, from: data)
        } catch let error as DecodingError {
            throw CollectorError("the container list is not the Engine API's JSON: \(DocumentError(error))")
        } catch {
            throw CollectorError("the container list is not JSON: \(error)")
        }
    }

    /// Decodes the body of `GET /containers/{id}/stats`.
    static func parseStats(_ data: Data) throws(CollectorError) -> DockerStats {
        do {
            return try JSONDecoder().decode(DockerStats.self, from: data)
        } catch let error as DecodingError {
            throw CollectorError("the stats are not the Engine API's JSON: \(DocumentError(error))")
        } catch {
            throw CollectorError("the stats are not JSON: \(error)")
        }
    }

    /// One container's document entry and the counters to remember for it.
    ///
    /// - Parameters:
    ///   - stats: `nil` for a container that is not running, or whose stats failed.
    ///   - previous: the counters of the previous run for this container, if any.
    static func metrics(
        for summary: DockerContainerSummary, stats: DockerStats?, previous: ContainerCPUCounters?
    ) -> (ContainerMetrics, ContainerCPUCounters?) {
        // Whatever answers on the socket (Docker, Podman, a proxy) names the containers; the
        // hub refuses a document with a control character in any string.
        let name = summary.displayName.replacingControlCharacters()
        let status = summary.state.isEmpty ? "unknown" : summary.state.replacingControlCharacters()
        guard let stats else {
            return (ContainerMetrics(name: name, status: status, cpuPercent: 0, memoryMB: 0), nil)
        }
        let current = stats.cpuStats.counters
        let baseline = previous.flatMap { $0.system > 0 ? $0 : nil } ?? stats.precpuStats.counters
        let metrics = ContainerMetrics(
            name: name, status: status,
            cpuPercent: cpuPercent(current: current, previous: baseline),
            memoryMB: memoryMB(stats.memoryStats))
        return (metrics, current)
    }

    /// The container's share of the whole host's CPU time between two samples, 0–100,
    /// rounded to 1 decimal. 0 without a usable baseline or when a counter went back
    /// (the container restarted, the host rebooted).
    static func cpuPercent(current: ContainerCPUCounters?, previous: ContainerCPUCounters?) -> Double {
        guard let current, let previous, current.usage >= previous.usage, current.system > previous.system else {
            return 0
        }
        let share = Double(current.usage - previous.usage) / Double(current.system - previous.system) * 100
        return SystemProbe.oneDecimal(min(share, 100))
    }

    /// Usage minus page cache, in MiB rounded to 1 decimal, never below 0.
    static func memoryMB(_ memory: DockerStats.MemoryStats) -> Double {
        let cache = memory.pageCache
        guard memory.usage > cache else { return 0 }
        return SystemProbe.oneDecimal(Double(memory.usage - cache) / 1_048_576)
    }

    // MARK: I/O

    enum SocketCheck: Equatable {
        case ready, missing
        case unusable(String)
    }

    /// Looks at the socket file before any request, so a host without Docker pays one `stat`.
    func checkSocket() -> SocketCheck {
        var info = stat()
        guard stat(socketPath, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return .missing }
            return .unusable(String(cString: strerror(code)))
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else { return .unusable("it is not a socket") }
        guard access(socketPath, R_OK | W_OK) == 0 else {
            let code = errno
            if code == EACCES {
                return .unusable("permission denied (is this user in the docker group?)")
            }
            return .unusable(String(cString: strerror(code)))
        }
        return .ready
    }

    /// Stats of the given containers, at most ``maxConcurrentStats`` requests at a time.
    /// A `nil` success means the container disappeared before its stats were read.
    func fetchStats(ids: [String]) async -> [String: Result<DockerStats?, CollectorError>] {
        await withTaskGroup(of: (String, Result<DockerStats?, CollectorError>).self) { group in
            var pending = ids.makeIterator()
            for _ in 0..<Self.maxConcurrentStats {
                guard let id = pending.next() else { break }
                group.addTask { (id, await stats(id: id)) }
            }
            var results: [String: Result<DockerStats?, CollectorError>] = [:]
            for await (id, result) in group {
                results[id] = result
                if let next = pending.next() {
                    group.addTask { (next, await stats(id: next)) }
                }
            }
            return results
        }
    }

    private func stats(id: String) async -> Result<DockerStats?, CollectorError> {
        do throws(CollectorError) {
            let path = "/containers/\(id)/stats?stream=false&one-shot=true"
            guard let body = try await get(path, limit: Self.statsLimit, allowNotFound: true) else {
                return .success(nil)
            }
            return .success(try Self.parseStats(body))
        } catch {
            return .failure(CollectorError("container \(id.prefix(12)): \(error)"))
        }
    }

    /// GETs `uri` from the daemon and returns the body of a 2xx answer (`nil` for a 404
    /// when `allowNotFound`), giving up after ``timeout``.
    private func get(_ uri: String, limit: Int, allowNotFound: Bool) async throws(CollectorError) -> Data? {
        let path = uri.prefix(while: { $0 != "?" })
        let answer: AgentHTTPClient.Response
        do {
            answer = try await httpClient.get(
                socketPath: socketPath, path: uri, headers: [("Accept", "application/json")], timeout: timeout,
                limit: .reject(limit))
        } catch {
            throw CollectorError("GET \(path): \(FailureText.describe(error, timeout: timeout))")
        }
        let data = Data(answer.body)
        switch answer.status {
        case 200..<300:
            return data
        case 404 where allowNotFound:
            return nil
        default:
            // The daemon explains its errors as {"message": "..."}.
            struct Message: Decodable { var message: String }
            let detail = (try? JSONDecoder().decode(Message.self, from: data)).map { ": \($0.message.prefix(200))" }
            throw CollectorError("GET \(path) answered \(answer.status)\(detail ?? "")")
        }
    }
}
