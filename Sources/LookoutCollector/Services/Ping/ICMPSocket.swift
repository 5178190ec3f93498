import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An ICMP (or ICMPv6) socket for echo requests, non-blocking so `poll` bounds every wait.
///
/// The unprivileged datagram kind (`SOCK_DGRAM`, `IPPROTO_ICMP`) is tried first: Linux allows
/// it to the groups in `net.ipv4.ping_group_range` (which also covers ICMPv6), the kernel
/// fills in the identifier and answers only the replies to this socket. Otherwise a raw
/// socket, which needs root or `CAP_NET_RAW` and sees every ICMP packet the host receives,
/// so replies are matched by identifier, sequence and a random token in the payload.
final class ICMPSocket {
    enum Kind: String {
        case datagram = "datagram ICMP socket"
        case raw = "raw ICMP socket"
    }

    let descriptor: Int32
    let kind: Kind
    let family: Int32

    private init(descriptor: Int32, kind: Kind, family: Int32) {
        self.descriptor = descriptor
        self.kind = kind
        self.family = family
    }

    deinit {
        close(descriptor)
    }

    /// Opens a socket for `family` (`AF_INET` or `AF_INET6`): datagram if allowed, else raw.
    /// When neither opens, the error says why each failed, as an operator needs it to fix that.
    static func open(family: Int32) throws(NetworkError) -> ICMPSocket {
        let proto = family == AF_INET6 ? Int32(IPPROTO_ICMPV6) : Int32(IPPROTO_ICMP)
        let flags = Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        let datagram = socket(family, Int32(SOCK_DGRAM.rawValue) | flags, proto)
        if datagram >= 0 { return ICMPSocket(descriptor: datagram, kind: .datagram, family: family) }
        let datagramError = errno
        let raw = socket(family, Int32(SOCK_RAW.rawValue) | flags, proto)
        if raw >= 0 { return ICMPSocket(descriptor: raw, kind: .raw, family: family) }
        let rawError = errno
        let range = (try? ProcFS().read("sys/net/ipv4/ping_group_range"))?.split(whereSeparator: \.isWhitespace)
            .joined(separator: " ")
        throw .invalidRequest(
            "cannot open an ICMP socket: datagram: \(FailureText.describe(errno: datagramError))"
                + (range.map { " (net.ipv4.ping_group_range is \"\($0)\")" } ?? "")
                + "; raw: \(FailureText.describe(errno: rawError)) (needs root or CAP_NET_RAW)")
    }

    /// Sends one echo request; the kernel's own error (no route, say) is thrown.
    func send(_ packet: [UInt8], to address: SocketAddress) throws(NetworkError) {
        while true {
            let sent = packet.withUnsafeBytes { bytes in
                address.withPointer { sendto(descriptor, bytes.baseAddress, bytes.count, 0, $0, $1) }
            }
            if sent >= 0 { return }
            if errno == EINTR { continue }
            throw .system(errno: errno)
        }
    }

    /// The next datagram from `address` as the ICMP message (an IPv4 raw socket's IP header
    /// stripped); `nil` once `deadline` has passed. Datagrams from other hosts are skipped.
    func receive(from address: SocketAddress, until deadline: Deadline) throws(NetworkError) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let wait: Int32
            do { wait = try deadline.remainingMilliseconds() } catch { return nil }
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, wait)
            if ready < 0, errno != EINTR { throw .system(errno: errno) }
            guard ready > 0 else { continue }
            var source = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &source) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(descriptor, bytes.baseAddress, bytes.count, 0, $0, &length)
                    }
                }
            }
            if count < 0 {
                // An ICMP error queued for the socket (host unreachable) is no reply: keep waiting.
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == EHOSTUNREACH
                    || errno == ENETUNREACH || errno == ECONNREFUSED
                {
                    continue
                }
                throw .system(errno: errno)
            }
            guard SocketAddress(source).sameHost(as: address) else { continue }
            var message = Array(buffer[0..<count])
            if kind == .raw, family == AF_INET, let first = message.first, first >> 4 == 4 {
                let headerLength = Int(first & 0x0F) * 4
                guard message.count >= headerLength else { continue }
                message.removeFirst(headerLength)
            }
            return message
        }
    }
}

/// A resolved IPv4 or IPv6 address, kept as the bytes of its `sockaddr`.
struct SocketAddress: Equatable {
    var storage: sockaddr_storage
    let length: socklen_t

    init(_ storage: sockaddr_storage) {
        self.storage = storage
        length = socklen_t(
            Int32(storage.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    }

    var family: Int32 { Int32(storage.ss_family) }

    func withPointer<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }

    /// The address bytes alone (no port, no scope), for comparing a reply's source.
    var hostBytes: [UInt8] {
        var copy = storage
        return withUnsafeBytes(of: &copy) { raw in
            if family == AF_INET6 {
                let offset = MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
                return Array(raw[offset..<offset + 16])
            }
            let offset = MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!
            return Array(raw[offset..<offset + 4])
        }
    }

    func sameHost(as other: SocketAddress) -> Bool {
        family == other.family && hostBytes == other.hostBytes
    }

    static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool { lhs.sameHost(as: rhs) }

    /// The first address `host` resolves to (IPv4 or IPv6, in the resolver's order),
    /// resolved once per check so every echo goes to the same machine.
    static func resolve(_ host: String) throws(NetworkError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        var status = getaddrinfo(host, nil, &hints, &list)
        if status != 0 {
            // AI_ADDRCONFIG hides ::1 and 127.0.0.1 on a host whose only interface is loopback.
            hints.ai_flags = 0
            status = getaddrinfo(host, nil, &hints, &list)
        }
        guard status == 0, let list else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            throw .unresolved(host: host, reason: reason.lowercased())
        }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let info = entry?.pointee {
            entry = info.ai_next
            guard info.ai_family == AF_INET || info.ai_family == AF_INET6, let address = info.ai_addr else { continue }
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { target in
                target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(info.ai_addrlen)))
            }
            return SocketAddress(storage)
        }
        throw .unresolved(host: host, reason: "no IPv4 or IPv6 address")
    }
}
