import Logging
import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// ICMP echo to one host, as `ping -c N` does it, within one deadline for the whole check.
///
/// Echoes go one after another (the next as soon as one is answered: a health check needs
/// no one-second pacing), each waiting up to `timeout / count` for its reply, so the
/// check never takes longer than its `timeout_ms` however many are lost. A reply that comes
/// after its echo's wait counts as lost (a reply that late is as good as none for a health
/// check). The host name is resolved once, so every echo asks the same address.
enum PingCheck {
    struct Outcome: Sendable, Equatable {
        var sent: Int
        /// Round-trip times of the echoes answered, in milliseconds.
        var roundTrips: [Double]
        /// Why echoes could not even be sent (no route), when that happened.
        var sendError: String?
        var socketKind: String

        var lost: Int { sent - roundTrips.count }
        var lossPercent: Double { sent == 0 ? 100 : Double(lost) * 100 / Double(sent) }

        /// The median round trip: one slow echo (a busy router answers ICMP last) does not
        /// move it, unlike the mean.
        var medianMS: Double? {
            guard !roundTrips.isEmpty else { return nil }
            let sorted = roundTrips.sorted()
            let middle = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        }
    }

    static let payloadLength = 16

    /// Sends `count` echoes to `host`; blocking, bounded by `timeout` apart from the name lookup.
    static func run(host: String, count: Int, timeout: Duration) throws(NetworkError) -> Outcome {
        let clock = ContinuousClock()
        let overall = clock.now + timeout
        let address = try SocketAddress.resolve(host)
        let socket = try ICMPSocket.open(family: address.family)
        let identifier = UInt16.random(in: 0...UInt16.max)
        let token = (0..<8).map { _ in UInt8.random(in: 0...255) }
        let perEcho = timeout / count
        var outcome = Outcome(sent: 0, roundTrips: [], sendError: nil, socketKind: socket.kind.rawValue)
        for index in 0..<count {
            let sentAt = clock.now
            guard sentAt < overall else { break }
            let sequence = UInt16(truncatingIfNeeded: index + 1)
            let packet = echoRequest(
                v6: address.family == AF_INET6, identifier: identifier, sequence: sequence, token: token)
            outcome.sent += 1
            do {
                try socket.send(packet, to: address)
            } catch {
                outcome.sendError = error.description
                continue
            }
            let until = Deadline(at: min(sentAt + perEcho, overall))
            while let message = try socket.receive(from: address, until: until) {
                guard
                    isReply(
                        message, v6: address.family == AF_INET6,
                        identifier: socket.kind == .raw ? identifier : nil, sequence: sequence, token: token)
                else { continue }
                let elapsed = sentAt.duration(to: clock.now)
                outcome.roundTrips.append(
                    Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                break
            }
        }
        return outcome
    }

    /// An echo request: type, code, checksum, identifier, sequence, then the payload (the
    /// token and zeros). The checksum is computed for ICMPv4; the kernel fills ICMPv6's in
    /// (it covers a pseudo-header only the kernel knows), and a datagram socket replaces
    /// the identifier with its own.
    static func echoRequest(v6: Bool, identifier: UInt16, sequence: UInt16, token: [UInt8]) -> [UInt8] {
        var packet: [UInt8] = [v6 ? 128 : 8, 0, 0, 0]
        packet += [UInt8(identifier >> 8), UInt8(identifier & 0xFF), UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        packet += token + [UInt8](repeating: 0, count: payloadLength - token.count)
        if !v6 {
            let sum = checksum(packet)
            packet[2] = UInt8(sum >> 8)
            packet[3] = UInt8(sum & 0xFF)
        }
        return packet
    }

    /// Whether `message` answers the echo `sequence` of this check (and, on a raw socket,
    /// this identifier): a raw socket also sees other programs' replies and, on loopback,
    /// the requests themselves.
    static func isReply(_ message: [UInt8], v6: Bool, identifier: UInt16?, sequence: UInt16, token: [UInt8]) -> Bool {
        guard message.count >= 8 + token.count, message[0] == (v6 ? 129 : 0), message[1] == 0 else { return false }
        if let identifier, UInt16(message[4]) << 8 | UInt16(message[5]) != identifier { return false }
        guard UInt16(message[6]) << 8 | UInt16(message[7]) == sequence else { return false }
        return Array(message[8..<8 + token.count]) == token
    }

    /// The Internet checksum (RFC 1071) of `bytes`.
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}

extension Deadline {
    init(at instant: ContinuousClock.Instant) {
        self.instant = instant
    }
}

extension ServiceChecker {
    /// Runs a ping check: `response_ms` is the median round trip (the time the check took
    /// when no echo came back), `loss_percent` the share lost; healthy while the loss is
    /// below `max_loss_percent`. A host that does not resolve or a machine without any ICMP
    /// socket is unhealthy with the reason and no loss figure (nothing was measured).
    func ping(_ check: ServiceCheckConfig, host: String, count: Int, maxLossPercent: Double) async -> ServiceStatus {
        let clock = ContinuousClock()
        let start = clock.now
        let result: Result<PingCheck.Outcome, NetworkError>
        do {
            result = .success(
                try await BlockingCall.run(timeout: check.timeout) { () throws(NetworkError) in
                    try PingCheck.run(host: host, count: count, timeout: check.timeout)
                })
        } catch {
            result = .failure(error)
        }
        let elapsed = start.duration(to: clock.now)
        let elapsedMS = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        switch result {
        case .success(let outcome):
            let loss = SystemProbe.oneDecimal(outcome.lossPercent)
            let healthy = loss < maxLossPercent
            var problem: String?
            if !healthy {
                let echoes = outcome.sent == 1 ? "echo" : "echoes"
                problem =
                    "\(outcome.lost) of \(outcome.sent) \(echoes) lost (\(Notice.format(loss)) % loss, "
                    + "unhealthy from \(Notice.format(maxLossPercent)) %)"
                    + (outcome.sendError.map { ": \($0)" } ?? "")
            }
            logger.debug(
                "ping check done",
                metadata: [
                    "check": "\(check.id)", "host": "\(host)", "socket": "\(outcome.socketKind)",
                    "sent": "\(outcome.sent)", "lost": "\(outcome.lost)",
                ])
            return ServiceStatus(
                id: check.id, healthy: healthy,
                responseMS: SystemProbe.oneDecimal(max(0, outcome.medianMS ?? elapsedMS)),
                error: problem.map(ServiceStatus.errorText), lossPercent: loss)
        case .failure(let error):
            let problem = FailureText.describe(error, timeout: check.timeout)
            logger.debug("service check failed", metadata: ["check": "\(check.id)", "error": "\(problem)"])
            return ServiceStatus(
                id: check.id, healthy: false, responseMS: SystemProbe.oneDecimal(max(0, elapsedMS)),
                error: ServiceStatus.errorText(problem))
        }
    }

}
