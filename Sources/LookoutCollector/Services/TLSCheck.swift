import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `tls` check: connect, speak the protocol's STARTTLS when one is configured, and run a
/// verifying handshake. Healthy when the handshake verifies; the certificate is recorded
/// either way, so an expired one is named with its date.
///
/// Every read is bounded by the check's deadline, so a server that accepts the connection
/// and never says a word fails with "timed out after N ms" instead of holding the sample.
enum TLSCheck {
    static func run(
        host: String, port: Int, starttls: ServiceCheckConfig.StartTLS?, caFile: String?, timeout: Duration,
        certificates: CertificateRecorder
    ) async throws(NetworkError) {
        try await BlockingCall.run(timeout: timeout) { () throws(NetworkError) in
            let deadline = Deadline(after: timeout)
            let socket = try Socket.tcp(host: host, port: port, deadline: deadline)
            if let starttls {
                var dialogue = PlainDialogue(socket: socket, deadline: deadline)
                switch starttls {
                case .smtp: try dialogue.smtpStartTLS(helloName: helloName())
                case .imap: try dialogue.imapStartTLS()
                }
            }
            _ = try TLSStream(
                socket: socket, host: host, caFile: caFile, deadline: deadline, certificates: certificates)
        }
    }

    /// The name the agent greets an SMTP server with: this machine's host name when it is
    /// a plain DNS name, else `localhost` (servers check it only for logs).
    static func helloName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let allowed = name.utf8.allSatisfy { byte in
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 45
                || byte == 46
        }
        return name.isEmpty || !allowed ? "localhost" : name
    }
}

/// The plain-text part of a STARTTLS exchange: lines in and out on the bare socket.
struct PlainDialogue {
    let socket: Socket
    let deadline: Deadline
    private var buffer: [UInt8] = []

    /// A server's line is at most 512 bytes in SMTP; IMAP capability lines run longer.
    static let maxLine = 8192
    /// Untagged IMAP lines or SMTP continuation lines accepted before the answer.
    static let maxLines = 100

    init(socket: Socket, deadline: Deadline) {
        self.socket = socket
        self.deadline = deadline
    }

    /// Greeting `220`, `EHLO`, `250`, `STARTTLS`, `220` (RFC 3207).
    mutating func smtpStartTLS(helloName: String) throws(NetworkError) {
        let greeting = try smtpReply()
        guard greeting.code == 220 else { throw .dialogue("SMTP greeting \"\(greeting.text)\", expected 220") }
        try send("EHLO \(helloName)")
        let hello = try smtpReply()
        guard hello.code == 250 else { throw .dialogue("SMTP EHLO answered \"\(hello.text)\", expected 250") }
        try send("STARTTLS")
        let answer = try smtpReply()
        guard answer.code == 220 else {
            throw .dialogue("SMTP STARTTLS answered \"\(answer.text)\", expected 220 (does the server offer STARTTLS?)")
        }
        try refuseEarlyData()
    }

    /// Greeting `* OK`, `a STARTTLS`, `a OK` (RFC 3501 §6.2.1).
    mutating func imapStartTLS() throws(NetworkError) {
        let greeting = try readLine()
        guard greeting.uppercased().hasPrefix("* OK") else {
            throw .dialogue("IMAP greeting \"\(Self.shown(greeting))\", expected \"* OK\"")
        }
        try send("a STARTTLS")
        for _ in 0..<Self.maxLines {
            let line = try readLine()
            if line.hasPrefix("* ") { continue }
            guard line.uppercased().hasPrefix("A OK") else {
                throw .dialogue("IMAP STARTTLS answered \"\(Self.shown(line))\", expected \"a OK\"")
            }
            return try refuseEarlyData()
        }
        throw .dialogue("IMAP server sent more than \(Self.maxLines) lines without answering STARTTLS")
    }

    /// Bytes after the STARTTLS answer and before the handshake were sent in the clear and
    /// would be read as if they came over TLS (the STARTTLS injection of CVE-2011-0411).
    private func refuseEarlyData() throws(NetworkError) {
        guard buffer.isEmpty else {
            throw .dialogue("the server sent plain text after agreeing to STARTTLS; refusing the connection")
        }
    }

    /// One SMTP reply, its continuation lines (`250-...`) read through to the last (`250 ...`).
    private mutating func smtpReply() throws(NetworkError) -> (code: Int, text: String) {
        for _ in 0..<Self.maxLines {
            let line = try readLine()
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, let code = Int(String(line.prefix(3))) else {
                throw .dialogue("not an SMTP reply: \"\(Self.shown(line))\"")
            }
            if bytes.count > 3, bytes[3] == UInt8(ascii: "-") { continue }
            return (code, Self.shown(line))
        }
        throw .dialogue("SMTP reply longer than \(Self.maxLines) lines")
    }

    private func send(_ line: String) throws(NetworkError) {
        try socket.write(Array((line + "\r\n").utf8), deadline: deadline)
    }

    /// A line without its CRLF; bytes after it stay in the buffer.
    private mutating func readLine() throws(NetworkError) -> String {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > 0, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return line
            }
            guard buffer.count <= Self.maxLine else { throw .dialogue("a line longer than \(Self.maxLine) bytes") }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let socket = socket
            let deadline = deadline
            let result = chunk.withUnsafeMutableBytes { raw in
                Result { () throws(NetworkError) in try socket.read(into: raw, deadline: deadline) }
            }
            let count = try result.get()
            guard count > 0 else { throw .closedEarly }
            buffer += chunk[..<count]
        }
    }

    /// A server's line as quoted in an error: short and printable.
    static func shown(_ line: String) -> String {
        String(line.prefix(120)).replacingControlCharacters()
    }
}
