import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The agent's HTTP/1.1 client: health checks, the Docker Engine API on its unix socket,
/// and push. One request per connection (`Connection: close`), every wait bounded by the
/// request's timeout, https through ``TLSStream``.
///
/// It is deliberately small: the agent sends a few requests per sample, so connection
/// reuse buys nothing, and a full client stack (SwiftNIO, AsyncHTTPClient, BoringSSL)
/// would triple the binary and the memory of a process that should stay under 10 MB.
public struct AgentHTTPClient: Sendable {
    /// A PEM file of extra CAs to trust for https, beside the system's store.
    public var caFile: String?

    /// Redirects followed by a GET, so `expect_status` applies to the final answer.
    static let maxRedirects = 5
    /// The status line and headers of any sane answer fit in this.
    static let headLimit = 64 << 10

    public init(caFile: String? = nil) {
        self.caFile = caFile
    }

    /// An answer, its body already read (up to the limit the caller gave).
    struct Response: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        /// The first value of header `name` (case-insensitive).
        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// What to do with a body longer than the limit.
    enum BodyLimit: Sendable {
        /// Fail with ``NetworkError/tooLarge(limit:)`` (an answer that size is not the one expected).
        case reject(Int)
        /// Keep the first bytes and stop reading (a health page searched for a keyword).
        case truncate(Int)

        var bytes: Int {
            switch self {
            case .reject(let count), .truncate(let count): count
            }
        }
    }

    /// Where a request goes and what its request line and `Host` header say.
    struct Target: Sendable {
        enum Endpoint: Sendable {
            case tcp(host: String, port: Int, tls: Bool)
            case unix(path: String)
        }
        var endpoint: Endpoint
        var hostHeader: String
        /// Path and query, as sent: `/containers/json?all=1`.
        var requestTarget: String
        var url: URL?

        /// An http(s) URL; the error names what is wrong with it, in the words the config
        /// check uses (``HTTPURL``), since a redirect's `Location` is not checked there.
        init(url text: String) throws(NetworkError) {
            if let problem = HTTPURL.problem(with: text) { throw .invalidRequest(problem) }
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(),
                var host = url.host(percentEncoded: false)
            else { throw .invalidRequest("\"\(text.prefix(200))\" is not a URL") }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let tls = scheme == "https"
            let port = url.port ?? (tls ? 443 : 80)
            guard (1...65_535).contains(port) else { throw .invalidRequest("invalid port in \"\(text.prefix(200))\"") }
            let shownHost = host.contains(":") ? "[\(host)]" : host
            endpoint = .tcp(host: host, port: port, tls: tls)
            hostHeader = port == (tls ? 443 : 80) ? shownHost : "\(shownHost):\(port)"
            let path = url.path(percentEncoded: true)
            let query = url.query(percentEncoded: true).map { "?\($0)" } ?? ""
            requestTarget = (path.isEmpty ? "/" : path) + query
            self.url = url
        }

        /// `path` on the unix socket at `socketPath`.
        init(socketPath: String, path: String) {
            endpoint = .unix(path: socketPath)
            hostHeader = "localhost"
            requestTarget = path
            url = nil
        }
    }

    // MARK: Requests

    /// GETs `url`, following up to ``maxRedirects`` redirects; `certificates` receives the
    /// certificate of every https server on the way.
    func get(
        _ url: String, headers: [(String, String)] = [], timeout: Duration, limit: BodyLimit,
        certificates: CertificateRecorder? = nil
    ) async throws(NetworkError) -> Response {
        let caFile = caFile
        return try await BlockingCall.run(timeout: timeout) { () throws(NetworkError) in
            let deadline = Deadline(after: timeout)
            var target = try Target(url: url)
            for _ in 0...Self.maxRedirects {
                let response = try Self.exchange(
                    "GET", target: target, headers: headers, body: [], limit: limit, caFile: caFile, deadline: deadline,
                    certificates: certificates)
                guard [301, 302, 303, 307, 308].contains(response.status), let location = response.header("Location"),
                    let base = target.url, let next = URL(string: location, relativeTo: base)?.absoluteString
                else { return response }
                target = try Target(url: next)
            }
            throw .invalidRequest("more than \(Self.maxRedirects) redirects")
        }
    }

    /// POSTs `body` to `url` (no redirects: a moved ingest URL is a config error to fix).
    func post(
        _ url: String, headers: [(String, String)], body: [UInt8], timeout: Duration, limit: BodyLimit
    ) async throws(NetworkError) -> Response {
        let caFile = caFile
        return try await BlockingCall.run(timeout: timeout) { () throws(NetworkError) in
            try Self.exchange(
                "POST", target: try Target(url: url), headers: headers, body: body, limit: limit, caFile: caFile,
                deadline: Deadline(after: timeout))
        }
    }

    /// GETs `path` from the HTTP server on the unix socket at `socketPath`.
    func get(
        socketPath: String, path: String, headers: [(String, String)] = [], timeout: Duration, limit: BodyLimit
    ) async throws(NetworkError) -> Response {
        try await BlockingCall.run(timeout: timeout) { () throws(NetworkError) in
            try Self.exchange(
                "GET", target: Target(socketPath: socketPath, path: path), headers: headers, body: [], limit: limit,
                caFile: nil, deadline: Deadline(after: timeout))
        }
    }

    /// Opens a TCP connection to `host:port` and closes it again.
    static func connect(host: String, port: Int, timeout: Duration) async throws(NetworkError) {
        try await BlockingCall.run(timeout: timeout) { () throws(NetworkError) in
            _ = try Socket.tcp(host: host, port: port, deadline: Deadline(after: timeout))
        }
    }

    // MARK: The exchange (blocking, on the caller's thread)

    static func exchange(
        _ method: String, target: Target, headers: [(String, String)], body: [UInt8], limit: BodyLimit,
        caFile: String?, deadline: Deadline, certificates: CertificateRecorder? = nil
    ) throws(NetworkError) -> Response {
        let request = try requestBytes(method, target: target, headers: headers, body: body)
        let stream: any ByteStream
        switch target.endpoint {
        case .unix(let path):
            stream = try Socket.unix(path: path, deadline: deadline)
        case .tcp(let host, let port, let tls):
            let socket = try Socket.tcp(host: host, port: port, deadline: deadline)
            stream =
                tls
                ? try TLSStream(
                    socket: socket, host: host, caFile: caFile, deadline: deadline, certificates: certificates)
                : socket
        }
        try stream.write(request, deadline: deadline)
        var reader = ResponseReader(stream: stream, deadline: deadline)
        return try reader.read(method: method, limit: limit)
    }

    /// The request head and body; refuses header values that would split the head.
    static func requestBytes(
        _ method: String, target: Target, headers: [(String, String)], body: [UInt8]
    ) throws(NetworkError) -> [UInt8] {
        var head = "\(method) \(target.requestTarget) HTTP/1.1\r\nHost: \(target.hostHeader)\r\n"
        for (name, value) in headers {
            // Bytes, not Characters: "\r\n" is one Character and would slip past a Character test.
            guard !value.utf8.contains(where: { $0 == 13 || $0 == 10 }) else {
                throw .invalidRequest("header \(name) holds a line break")
            }
            head += "\(name): \(value)\r\n"
        }
        if method != "GET" || !body.isEmpty { head += "Content-Length: \(body.count)\r\n" }
        head += "Connection: close\r\n\r\n"
        return Array(head.utf8) + body
    }
}

/// Reads one HTTP/1.1 answer: status line, headers, and a body framed by
/// `Content-Length`, chunked encoding, or the end of the connection.
struct ResponseReader {
    let stream: any ByteStream
    let deadline: Deadline
    private var buffer: [UInt8] = []
    private var position = 0
    private var closed = false

    init(stream: any ByteStream, deadline: Deadline) {
        self.stream = stream
        self.deadline = deadline
    }

    mutating func read(method: String, limit: AgentHTTPClient.BodyLimit) throws(NetworkError)
        -> AgentHTTPClient.Response
    {
        var (status, headers) = try readHead()
        while (100..<200).contains(status) {  // an interim answer (100 Continue) precedes the real one
            (status, headers) = try readHead()
        }
        var response = AgentHTTPClient.Response(status: status, headers: headers, body: [])
        if method == "HEAD" || status == 204 || status == 304 { return response }
        if let encoding = response.header("Transfer-Encoding"), encoding.lowercased().contains("chunked") {
            response.body = try readChunked(limit: limit)
        } else if let lengthText = response.header("Content-Length") {
            guard let length = Int(lengthText.trimmingWhitespace()), length >= 0 else {
                throw .malformed("Content-Length \"\(lengthText.prefix(40))\"")
            }
            if case .reject(let max) = limit, length > max { throw .tooLarge(limit: max) }
            response.body = try readExactly(min(length, limit.bytes), allowShort: false)
        } else {
            response.body = try readToEnd(limit: limit)
        }
        return response
    }

    private mutating func readHead() throws(NetworkError) -> (Int, [(name: String, value: String)]) {
        var lines: [String] = []
        var size = 0
        while true {
            let line = try readLine(max: AgentHTTPClient.headLimit - size)
            size += line.count + 2
            if line.isEmpty { break }
            lines.append(line)
        }
        guard let statusLine = lines.first else { throw .malformed("no status line") }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...999).contains(status)
        else { throw .malformed("status line \"\(statusLine.prefix(60))\"") }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("header line \"\(line.prefix(60))\"") }
            headers.append(
                (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingWhitespace()))
        }
        return (status, headers)
    }

    /// A line without its CRLF (a bare LF is accepted too).
    private mutating func readLine(max: Int) throws(NetworkError) -> String {
        var scanned = position
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > position, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[position..<end], as: UTF8.self)
                position = newline + 1
                return line
            }
            scanned = buffer.count
            guard buffer.count - position <= max else {
                throw .malformed("header longer than \(AgentHTTPClient.headLimit) bytes")
            }
            guard try fill() else { throw .closedEarly }
        }
    }

    private mutating func readChunked(limit: AgentHTTPClient.BodyLimit) throws(NetworkError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeLine = try readLine(max: 1024)
            let sizeText = String(sizeLine.prefix(while: { $0 != ";" })).trimmingWhitespace()
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                throw .malformed("chunk size \"\(sizeLine.prefix(40))\"")
            }
            if size == 0 {
                while try !readLine(max: AgentHTTPClient.headLimit).isEmpty {}  // trailers
                return body
            }
            if body.count + size > limit.bytes {
                if case .reject(let max) = limit { throw .tooLarge(limit: max) }
                body += try readExactly(limit.bytes - body.count, allowShort: false)
                return body
            }
            body += try readExactly(size, allowShort: false)
            _ = try readLine(max: 2)
        }
    }

    private mutating func readToEnd(limit: AgentHTTPClient.BodyLimit) throws(NetworkError) -> [UInt8] {
        while !closed, buffer.count - position <= limit.bytes {
            _ = try fill()
        }
        if buffer.count - position > limit.bytes, case .reject(let max) = limit { throw .tooLarge(limit: max) }
        return try readExactly(min(buffer.count - position, limit.bytes), allowShort: true)
    }

    private mutating func readExactly(_ count: Int, allowShort: Bool) throws(NetworkError) -> [UInt8] {
        while buffer.count - position < count {
            guard try fill() else {
                if allowShort { break }
                throw .closedEarly
            }
        }
        let end = min(position + count, buffer.count)
        let bytes = Array(buffer[position..<end])
        position = end
        return bytes
    }

    /// Appends what the stream has; `false` at the end of the connection.
    private mutating func fill() throws(NetworkError) -> Bool {
        if closed { return false }
        if position > 64 << 10, position * 2 > buffer.count {
            buffer.removeFirst(position)
            position = 0
        }
        let start = buffer.count
        buffer += repeatElement(0, count: 16 << 10)
        let stream = stream
        let deadline = deadline
        let result = buffer.withUnsafeMutableBytes { raw in
            Result { () throws(NetworkError) in
                try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start...]), deadline: deadline)
            }
        }
        let count = (try? result.get()) ?? 0
        buffer.removeLast(buffer.count - start - count)
        if case .failure(let error) = result { throw error }
        if count == 0 { closed = true }
        return count > 0
    }
}
