import Foundation
import Logging
import LookoutCore
import NIOSSL
import Testing

@testable import LookoutCollector

#if canImport(Glibc)
    import Glibc
#endif

/// Certificates of https and tls checks, against real TLS servers whose certificates
/// `openssl` makes in the test (valid 2, 10 or 60 days).
@Suite struct CertificateCheckTests {
    /// A self-signed certificate for `localhost` and 127.0.0.1, trusted by being the CA file itself.
    struct TestCertificate {
        var folder: URL
        var certificate: String { folder.appendingPathComponent("cert.pem").path }
        var key: String { folder.appendingPathComponent("key.pem").path }

        /// - Parameter address: whether the certificate also names 127.0.0.1 (else only `localhost`).
        init(days: Int, address: Bool = true) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-cert-\(UUID())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let openssl = Process()
            openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            openssl.arguments = [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", folder.appendingPathComponent("key.pem").path, "-out",
                folder.appendingPathComponent("cert.pem").path, "-days", "\(days)", "-subj",
                "/O=Lookout Test/CN=localhost", "-addext",
                "subjectAltName=DNS:localhost" + (address ? ",IP:127.0.0.1" : ""),
            ]
            openssl.standardError = FileHandle.nullDevice
            try openssl.run()
            openssl.waitUntilExit()
            try #require(openssl.terminationStatus == 0, "openssl could not make a test certificate")
        }

        func remove() { try? FileManager.default.removeItem(at: folder) }

        func server() throws -> FixtureHTTPServer {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            return FixtureHTTPServer(
                tls: try NIOSSLContext(configuration: configuration), routes: ["/health": .text("ok")])
        }

        var checker: ServiceChecker {
            ServiceChecker(httpClient: AgentHTTPClient(caFile: certificate), logger: Logger(label: "lookout.test"))
        }
    }

    static func tls(_ host: String, _ port: Int, starttls: ServiceCheckConfig.StartTLS? = nil, timeoutMS: Int = 10_000)
        -> ServiceCheckConfig
    {
        ServiceCheckConfig(
            id: "mail", target: .tls(host: host, port: port, starttls: starttls), timeoutMS: timeoutMS)
    }

    @Test(arguments: [2, 10, 60])
    func anHTTPSCheckReportsTheLeafCertificate(_ days: Int) async throws {
        let certificate = try TestCertificate(days: days)
        defer { certificate.remove() }
        let before = Date()
        let status = try await certificate.server().run { server in
            await certificate.checker.check(
                ServiceCheckConfig(
                    id: "site", target: .http(url: server.url("/health", host: "localhost")), timeoutMS: 10_000))
        }
        #expect(status.healthy, "\(status.error ?? "")")
        // Valid from now for `days` days: a hair under `days` whole days are left.
        #expect(status.certDaysLeft == days - 1)
        let expires = try #require(status.certExpiresAt.flatMap(Timestamp.parse))
        let expected = before.addingTimeInterval(Double(days) * 86_400)
        #expect(abs(expires.timeIntervalSince(expected)) < 120)
        #expect(status.certIssuer == "localhost, Lookout Test")
        #expect(status.certSubject == "localhost")
        #expect(status.certHost == "localhost")
    }

    @Test func aPlainHTTPCheckHasNoCertificateFields() async throws {
        let status = try await FixtureHTTPServer(routes: ["/health": .text("ok")]).run { server in
            await ServiceChecker(logger: Logger(label: "lookout.test")).check(
                ServiceCheckConfig(id: "site", target: .http(url: server.url("/health"))))
        }
        #expect(status.healthy)
        #expect(status.certExpiresAt == nil)
        #expect(status.certDaysLeft == nil)
    }

    @Test func anImplicitTLSCheckIsHealthyWhenTheHandshakeVerifies() async throws {
        let certificate = try TestCertificate(days: 10)
        defer { certificate.remove() }
        let status = try await certificate.server().run { server in
            await certificate.checker.check(Self.tls("localhost", server.port))
        }
        #expect(status.healthy, "\(status.error ?? "")")
        #expect(status.error == nil)
        #expect(status.certDaysLeft == 9)
        #expect(status.certHost == "localhost")
        #expect(status.responseMS > 0)
    }

    @Test func aCertificateForAnotherHostFailsButIsStillReported() async throws {
        let certificate = try TestCertificate(days: 60, address: false)
        defer { certificate.remove() }
        let status = try await certificate.server().run { server in
            await certificate.checker.check(Self.tls("127.0.0.1", server.port))
        }
        #expect(!status.healthy)
        #expect(status.error?.hasPrefix("TLS: certificate rejected:") == true, "\(status.error ?? "")")
        #expect(status.error?.contains("mismatch") == true, "\(status.error ?? "")")
        #expect(status.certDaysLeft == 59)
        #expect(status.certHost == "127.0.0.1")
    }

    @Test func anUntrustedCertificateIsRejected() async throws {
        let certificate = try TestCertificate(days: 60)
        defer { certificate.remove() }
        let status = try await certificate.server().run { server in
            await ServiceChecker(logger: Logger(label: "lookout.test")).check(Self.tls("localhost", server.port))
        }
        #expect(!status.healthy)
        #expect(status.error?.hasPrefix("TLS: certificate rejected:") == true, "\(status.error ?? "")")
    }

    @Test func aClosedPortIsRefused() async throws {
        // Bound, then closed again: nothing listens there.
        let (descriptor, port) = try Self.loopbackSocket(listening: false)
        close(descriptor)
        let status = await ServiceChecker(logger: Logger(label: "lookout.test")).check(Self.tls("127.0.0.1", port))
        #expect(!status.healthy)
        #expect(status.error == "connection refused")
    }

    @Test(arguments: [nil, ServiceCheckConfig.StartTLS.smtp, .imap])
    func aPeerThatAcceptsAndNeverAnswersTimesOut(_ starttls: ServiceCheckConfig.StartTLS?) async throws {
        // A listening socket nobody accepts from: the kernel completes the connection, and
        // then nothing is ever said.
        let (descriptor, port) = try Self.loopbackSocket(listening: true)
        defer { close(descriptor) }
        let status = await ServiceChecker(logger: Logger(label: "lookout.test")).check(
            Self.tls("127.0.0.1", port, starttls: starttls, timeoutMS: 300))
        #expect(!status.healthy)
        #expect(status.error == "timed out after 300 ms")
        #expect(status.certExpiresAt == nil)
    }

    /// A TCP socket bound to a free port of 127.0.0.1 (listening, but never accepting, when asked).
    static func loopbackSocket(listening: Bool) throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && (!listening || listen(descriptor, 8) == 0)
                    && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }
}
