#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a network exchange failed, in the words that end up in `services[].error` and logs.
enum NetworkError: Error, Equatable, CustomStringConvertible {
    /// The deadline passed; callers say "timed out after N ms" with their own N.
    case timedOut
    /// A system call failed, e.g. `connect` with `ECONNREFUSED`.
    case system(errno: Int32)
    /// The host name could not be resolved.
    case unresolved(host: String, reason: String)
    /// The TLS handshake or a TLS read/write failed.
    case tls(String)
    /// The peer spoke something that is not the HTTP/1.1 we expect.
    case malformed(String)
    /// The answer is larger than the caller allows.
    case tooLarge(limit: Int)
    /// The peer closed the connection before a whole answer arrived.
    case closedEarly
    /// The request cannot be sent as asked (a bad URL, a line break in a header).
    case invalidRequest(String)
    /// A plain-text protocol (SMTP or IMAP before STARTTLS) did not answer as it should.
    case dialogue(String)

    var description: String {
        switch self {
        case .timedOut: "timed out"
        case .system(let code): FailureText.describe(errno: code)
        case .unresolved(let host, let reason): "could not resolve \(host): \(reason)"
        case .tls(let reason): "TLS: \(reason)"
        case .malformed(let reason): "not an HTTP answer: \(reason)"
        case .tooLarge(let limit): "answer larger than \(limit) bytes"
        case .closedEarly: "connection closed by the server"
        case .invalidRequest(let reason): reason
        case .dialogue(let reason): reason
        }
    }
}

/// A point in time every wait of one exchange is bounded by.
struct Deadline: Sendable {
    let instant: ContinuousClock.Instant

    init(after duration: Duration) {
        instant = .now + duration
    }

    /// Milliseconds left for `poll`, at least 0; throws once the deadline has passed.
    func remainingMilliseconds() throws(NetworkError) -> Int32 {
        let left = ContinuousClock.now.duration(to: instant)
        guard left > .zero else { throw .timedOut }
        let (seconds, attoseconds) = left.components
        // Round up, so a poll never returns a hair before the deadline and spins.
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
}

/// Bytes in and out of a connection, plain or TLS; each call waits until `deadline` at most.
protocol ByteStream: AnyObject {
    /// Reads up to `buffer.count` bytes; 0 means the peer closed the connection.
    func read(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline) throws(NetworkError) -> Int
    func write(_ bytes: [UInt8], deadline: Deadline) throws(NetworkError)
}

/// A connected stream socket in non-blocking mode, so that `poll` bounds every wait.
///
/// This is the agent's whole network stack (with ``TLSStream`` on top for https): a
/// blocking exchange on its own thread (see ``BlockingCall``) needs no event loop, which
/// keeps SwiftNIO and its TLS library out of the agent binary (DESIGN §7: what runs on a
/// 1 GB VM stays small). The hub keeps AsyncHTTPClient for webhooks.
final class Socket: ByteStream {
    let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Connects to `host:port`, trying each resolved address in turn (IPv6 first when the
    /// resolver says so, then IPv4), as browsers and curl do.
    static func tcp(host: String, port: Int, deadline: Deadline) throws(NetworkError) -> Socket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            throw .unresolved(host: host, reason: reason.lowercased())
        }
        defer { freeaddrinfo(list) }
        var lastError = NetworkError.system(errno: ECONNREFUSED)
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let info = entry?.pointee {
            entry = info.ai_next
            do {
                return try make(
                    family: info.ai_family, address: UnsafeRawPointer(info.ai_addr), length: info.ai_addrlen,
                    deadline: deadline)
            } catch .timedOut {
                throw .timedOut
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Connects to the unix socket at `path` (the Docker Engine API's).
    static func unix(path: String, deadline: Deadline) throws(NetworkError) -> Socket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .system(errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return try withUnsafeBytes(of: &address) { raw throws(NetworkError) in
            try make(
                family: AF_UNIX, address: raw.baseAddress!, length: socklen_t(MemoryLayout<sockaddr_un>.size),
                deadline: deadline)
        }
    }

    private static func make(
        family: Int32, address: UnsafeRawPointer, length: socklen_t, deadline: Deadline
    ) throws(NetworkError) -> Socket {
        let descriptor = socket(
            family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system(errno: errno) }
        let socket = Socket(descriptor: descriptor)
        if family != AF_UNIX {
            var on: Int32 = 1
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        if connect(descriptor, address.assumingMemoryBound(to: sockaddr.self), length) != 0 {
            let code = errno
            guard code == EINPROGRESS || code == EAGAIN else { throw .system(errno: code) }
            try socket.wait(for: Int16(POLLOUT), deadline: deadline)
            var failure: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &size)
            guard failure == 0 else { throw .system(errno: failure) }
        }
        return socket
    }

    /// Waits until the socket is readable (`POLLIN`) or writable (`POLLOUT`).
    func wait(for events: Int16, deadline: Deadline) throws(NetworkError) {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        while true {
            let ready = poll(&entry, 1, try deadline.remainingMilliseconds())
            if ready > 0 { return }  // errors and hang-ups surface in the read or write that follows
            if ready < 0, errno != EINTR { throw .system(errno: errno) }
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline) throws(NetworkError) -> Int {
        while true {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            switch errno {
            case EAGAIN, EWOULDBLOCK: try wait(for: Int16(POLLIN), deadline: deadline)
            case EINTR: continue
            case let code: throw .system(errno: code)
            }
        }
    }

    func write(_ bytes: [UInt8], deadline: Deadline) throws(NetworkError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if count >= 0 {
                offset += count
                continue
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK: try wait(for: Int16(POLLOUT), deadline: deadline)
            case EINTR: continue
            case let code: throw .system(errno: code)
            }
        }
    }
}
