import Logging
import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A DNS server a check asks: an IP address (or name) and a port.
public struct DNSServer: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int = 53) {
        self.host = host
        self.port = port
    }

    /// The first `nameserver` of `resolv.conf` (what the VM's own programs ask), port 53.
    static func system(resolvConf: String = "/etc/resolv.conf") throws(NetworkError) -> DNSServer {
        guard let bytes = try? AtomicFile.read(resolvConf, limit: 1 << 16) else {
            throw .invalidRequest("no \"server\" set and \(resolvConf) is unreadable")
        }
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: \.isWhitespace)
            if fields.count >= 2, fields[0] == "nameserver" {
                // A link-local address carries its interface (`fe80::1%eth0`); getaddrinfo reads it.
                return DNSServer(host: String(fields[1]))
            }
        }
        throw .invalidRequest("no \"server\" set and \(resolvConf) names no nameserver")
    }
}

/// One DNS question over UDP, as `dig +norecurse` would not and a resolver does: recursion
/// desired, the answer records of the asked type. The query is sent again after each third
/// of the timeout without an answer (UDP may lose it); a refused port ends it at once. An
/// answer too large even for the EDNS0 size offered comes back truncated (TC), and is
/// asked again over TCP (RFC 7766), within the same timeout.
enum DNSCheck {
    static func run(
        name: String, type: DNSRecordType, server: DNSServer, timeout: Duration
    ) throws(NetworkError) -> DNSMessage.Answer {
        let clock = ContinuousClock()
        let overall = clock.now + timeout
        var address = try SocketAddress.resolve(server.host)
        address.setPort(server.port)
        let descriptor = socket(
            address.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system(errno: errno) }
        defer { close(descriptor) }
        guard address.withPointer({ connect(descriptor, $0, $1) }) == 0 else { throw .system(errno: errno) }
        let id = UInt16.random(in: 0...UInt16.max)
        let query = DNSMessage.query(id: id, name: name, type: type)
        var buffer = [UInt8](repeating: 0, count: 4096)
        for attempt in 1...3 {
            let sent = query.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
            if sent < 0 { throw .system(errno: errno) }
            let until = Deadline(at: attempt == 3 ? overall : min(clock.now + timeout / 3, overall))
            while true {
                let wait: Int32
                do { wait = try until.remainingMilliseconds() } catch { break }
                var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&entry, 1, wait)
                if ready < 0, errno != EINTR { throw .system(errno: errno) }
                guard ready > 0 else { continue }
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count < 0 {
                    if errno == EAGAIN || errno == EINTR { continue }
                    throw .system(errno: errno)
                }
                switch Result(catching: { () throws(DNSMessage.ParseError) in
                    try DNSMessage.parse(Array(buffer[0..<count]), id: id, type: type)
                }) {
                case .success(let answer?) where answer.truncated:
                    do {
                        return try runTCP(name: name, type: type, server: server, deadline: Deadline(at: overall))
                    } catch {
                        let reason = FailureText.describe(error, timeout: timeout)
                        throw .dialogue("answer truncated (TC) over UDP, and asking again over TCP failed: \(reason)")
                    }
                case .success(let answer?): return answer
                case .success(nil): continue
                case .failure(.malformed(let reason)): throw .malformed("DNS answer: \(reason)")
                }
            }
            if clock.now >= overall { break }
        }
        throw .timedOut
    }
}

extension DNSCheck {
    /// The question over TCP: each message after its length in two bytes.
    static func runTCP(
        name: String, type: DNSRecordType, server: DNSServer, deadline: Deadline
    ) throws(NetworkError) -> DNSMessage.Answer {
        let socket = try Socket.tcp(host: server.host, port: server.port, deadline: deadline)
        let id = UInt16.random(in: 0...UInt16.max)
        let query = DNSMessage.query(id: id, name: name, type: type)
        try socket.write([UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query, deadline: deadline)
        let prefix = try read(socket, count: 2, deadline: deadline)
        let message = try read(socket, count: Int(prefix[0]) << 8 | Int(prefix[1]), deadline: deadline)
        switch Result(catching: { () throws(DNSMessage.ParseError) in
            try DNSMessage.parse(message, id: id, type: type)
        }) {
        case .success(let answer?) where !answer.truncated: return answer
        case .success: throw .malformed("DNS answer over TCP: not the answer to the query")
        case .failure(.malformed(let reason)): throw .malformed("DNS answer over TCP: \(reason)")
        }
    }

    /// Exactly `count` bytes, or ``NetworkError/closedEarly``.
    static func read(_ socket: Socket, count: Int, deadline: Deadline) throws(NetworkError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < count {
            let wanted = min(chunk.count, count - bytes.count)
            let got = try chunk.withUnsafeMutableBytes { raw in
                Result { () throws(NetworkError) in
                    try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<wanted]), deadline: deadline)
                }
            }.get()
            guard got > 0 else { throw .closedEarly }
            bytes += chunk[0..<got]
        }
        return bytes
    }
}

extension SocketAddress {
    mutating func setPort(_ port: Int) {
        let value = UInt16(clamping: port).bigEndian
        let offset =
            family == AF_INET6
            ? MemoryLayout<sockaddr_in6>.offset(of: \.sin6_port)! : MemoryLayout<sockaddr_in>.offset(of: \.sin_port)!
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.storeBytes(of: value, toByteOffset: offset, as: UInt16.self)
        }
    }
}

extension ServiceChecker {
    /// Asks for a DNS check's records: `nil` when the server answers NOERROR with at least
    /// one record of the type and every `expect` value among them, else what was wrong.
    func dnsProblem(
        _ check: ServiceCheckConfig, name: String, type: DNSRecordType, expect: [String], server: DNSServer?
    ) async throws(NetworkError) -> String? {
        let answer = try await BlockingCall.run(timeout: check.timeout) { () throws(NetworkError) in
            let resolver: DNSServer
            if let server { resolver = server } else { resolver = try DNSServer.system() }
            return try DNSCheck.run(name: name, type: type, server: resolver, timeout: check.timeout)
        }
        return Self.dnsProblem(answer, name: name, type: type, expect: expect)
    }

    static let rcodeNames = [1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"]

    static func dnsProblem(_ answer: DNSMessage.Answer, name: String, type: DNSRecordType, expect: [String]) -> String?
    {
        guard answer.rcode == 0 else {
            let code = rcodeNames[answer.rcode] ?? "rcode \(answer.rcode)"
            return answer.rcode == 3 ? "NXDOMAIN: \(name) does not exist" : "the server answered \(code)"
        }
        guard !answer.records.isEmpty else { return "no \(type.rawValue) record for \(name)" }
        let got = answer.records.map { type.normalised($0) }
        let missing = expect.filter { !got.contains($0) }
        guard missing.isEmpty else {
            return "answered \(got.prefix(8).joined(separator: ", ")); expected \(missing.joined(separator: ", "))"
        }
        return nil
    }
}
