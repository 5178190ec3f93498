import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real SMTP server for the client tests: `tests/smtp_server.py` (aiosmtpd) in a
/// subprocess, with a fresh self-signed certificate for `localhost` / 127.0.0.1 and a
/// mailbox folder, all in a temporary folder removed by `stop()`.
///
/// The script binds port 0 and reports the port it got ("READY <port>"), so parallel tests
/// never race each other for a port. Missing python3 or aiosmtpd fails the test (never skips
/// it) with the command that installs them.
final class SMTPTestServer {
    struct Options {
        var requireStartTLS = false
        var implicitTLS = false
        var plain = false
        var auth: (user: String, password: String)?
        var loginOnly = false
        var host = "127.0.0.1"
        /// Answer 550 to RCPT TO this address.
        var rejectRecipient: String?
    }

    /// What the server saved for one message: the raw text and its JSON sidecar.
    struct Received {
        struct Envelope: Decodable {
            var mailFrom: String
            var recipients: [String]
            var login: String?
            var tls: Bool
            /// The Subject and body as Python's email parser decodes them.
            var subject: String?
            var body: String?
            var defects: [String]

            enum CodingKeys: String, CodingKey {
                case mailFrom = "mail_from", recipients = "rcpt_tos", login, tls, subject, body, defects
            }
        }
        var raw: String
        var envelope: Envelope
    }

    let port: Int
    /// The server's certificate, to pass as `ca_file`; nil for a plain server.
    let certificate: String?
    private let folder: URL
    private let process: Process
    private let stdin: Pipe

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let installHint = "the SMTP tests need python3, aiosmtpd and openssl: run scripts/install-deps --test"

    static func start(_ options: Options) async throws -> SMTPTestServer {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-smtp-\(UUID().uuidString)")
        let mailbox = folder.appendingPathComponent("mailbox")
        try FileManager.default.createDirectory(at: mailbox, withIntermediateDirectories: true)
        var arguments = [
            repositoryRoot.appendingPathComponent("tests/smtp_server.py").path,
            "--host", options.host, "--port", "0", "--mailbox", mailbox.path,
        ]
        if let address = options.rejectRecipient { arguments += ["--reject-rcpt", address] }
        var certificate: String?
        if options.plain {
            arguments.append("--plain")
        } else {
            let cert = folder.appendingPathComponent("cert.pem").path
            let key = folder.appendingPathComponent("key.pem").path
            try await run(
                "openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "2",
                    "-keyout", key, "-out", cert,
                ], errors: folder.appendingPathComponent("openssl.log"))
            arguments += ["--cert", cert, "--key", key]
            certificate = cert
        }
        if options.requireStartTLS { arguments.append("--require-starttls") }
        if options.implicitTLS { arguments.append("--implicit-tls") }
        if options.loginOnly { arguments.append("--login-only") }
        if let auth = options.auth { arguments += ["--auth-user", auth.user, "--auth-password", auth.password] }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let stdout = Pipe()
        let stdin = Pipe()
        let log = folder.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = stdout
        process.standardInput = stdin
        process.standardError = try FileHandle(forWritingTo: log)
        let output = Mutex(Data())
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            output.withLock { $0.append(data) }
        }
        try process.run()

        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let text = String(decoding: output.withLock { $0 }, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }),
                let port = Int(line.dropFirst(6))
            {
                stdout.fileHandleForReading.readabilityHandler = nil
                return SMTPTestServer(
                    port: port, certificate: certificate, folder: folder, process: process,
                    stdin: stdin)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        stdout.fileHandleForReading.readabilityHandler = nil
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let errors = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: folder)
        throw Failure(
            "smtp_server.py did not start (exit \(process.terminationStatus)): "
                + "\(errors.suffix(600)) — \(installHint)")
    }

    private init(port: Int, certificate: String?, folder: URL, process: Process, stdin: Pipe) {
        self.port = port
        self.certificate = certificate
        self.folder = folder
        self.process = process
        self.stdin = stdin
    }

    /// The messages received so far, oldest first. The server writes them before it answers
    /// the end of DATA, so they are complete once `send` returned.
    func messages() throws -> [Received] {
        let mailbox = folder.appendingPathComponent("mailbox")
        let sidecars = try FileManager.default.contentsOfDirectory(atPath: mailbox.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        return try sidecars.map { name in
            let stem = mailbox.appendingPathComponent(String(name.dropLast(5)))
            let envelope = try JSONDecoder().decode(
                Received.Envelope.self, from: Data(contentsOf: stem.appendingPathExtension("json")))
            let raw = try String(contentsOf: stem.appendingPathExtension("eml"), encoding: .utf8)
            return Received(raw: raw, envelope: envelope)
        }
    }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: folder)
    }

    /// Runs `body` with a server started with `options`, and stops the server afterwards.
    static func with<T>(_ options: Options, _ body: (SMTPTestServer) async throws -> T) async throws -> T {
        let server = try await start(options)
        defer { server.stop() }
        return try await body(server)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs a tool to its end without blocking a thread of the shared concurrency pool
    /// (tests run in parallel; a blocked pool would delay the timeouts other tests measure).
    private static func run(_ tool: String, _ arguments: [String], errors: URL) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardOutput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errors)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        guard status == 0 else {
            let output = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw Failure("\(tool) failed (exit \(status)): \(output.suffix(600)) — \(installHint)")
        }
    }
}

/// A TCP socket on 127.0.0.1 with a port of its own: listening but never answering (a
/// server that hangs), or closed again at once (a port where nothing listens).
final class TCPPort {
    let port: Int
    private(set) var descriptor: Int32

    init(listening: Bool) throws {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard descriptor >= 0, bound, !listening || listen(descriptor, 8) == 0 else {
            if descriptor >= 0 { close(descriptor) }
            throw SMTPTestServer.Failure("cannot bind a TCP socket on 127.0.0.1 (errno \(errno))")
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        if !listening { stop() }
    }

    func stop() {
        if descriptor >= 0 {
            // shutdown wakes a thread blocked in accept(); close alone does not on Linux.
            _ = shutdown(descriptor, Int32(SHUT_RDWR))
            close(descriptor)
        }
        descriptor = -1
    }

    deinit { stop() }
}

/// A one-connection fake server that sends `greeting`, then answers each line it reads with
/// the next of `answers` (sent as one write), for what a real server would never do:
/// plain bytes after the 220 to STARTTLS, garbage instead of a reply, odd multi-line replies.
final class ScriptedSMTPPeer {
    private let listener: TCPPort
    var port: Int { listener.port }

    init(greeting: String, answers: [String]) throws {
        listener = try TCPPort(listening: true)
        let descriptor = listener.descriptor
        Thread.detachNewThread {
            let client = accept(descriptor, nil, nil)
            guard client >= 0 else { return }
            defer { close(client) }
            func write(_ text: String) {
                let bytes = Array(text.utf8)
                _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
            }
            func readLine() -> Bool {
                var byte: UInt8 = 0
                while recv(client, &byte, 1, 0) == 1 {
                    if byte == UInt8(ascii: "\n") { return true }
                }
                return false
            }
            write(greeting)
            for answer in answers {
                guard readLine() else { return }
                write(answer)
            }
            while readLine() {}  // until the client hangs up
        }
    }

    func stop() { listener.stop() }
}
