import LookoutCore
import Synchronization

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

/// What the agent reports of a server's leaf certificate: when it ends, who issued it,
/// whom it names, and the host the check connected to.
struct PeerCertificate: Sendable, Equatable {
    var notAfter: Date
    /// `CN, O` of the issuer, e.g. `R11, Let's Encrypt`.
    var issuer: String?
    /// The subject's common name.
    var subject: String?
    var host: String

    /// Whole days from `now` to `notAfter`, rounded down (negative once expired).
    func daysLeft(at now: Date) -> Int {
        Int((notAfter.timeIntervalSince(now) / 86_400).rounded(.down))
    }

    /// Reads the leaf of the chain the peer sent on `ssl`, after the handshake, whether
    /// it succeeded or not: an expired or misnamed certificate is the one worth naming.
    /// `nil` when the peer sent none or this OpenSSL lacks a function it needs.
    static func read(from ssl: OpaquePointer, host: String) -> PeerCertificate? {
        guard let x509 = X509Functions.loaded, let chain = x509.SSL_get_peer_cert_chain(ssl),
            x509.OPENSSL_sk_num(chain) > 0, let leaf = x509.OPENSSL_sk_value(chain, 0)
        else { return nil }
        guard let time = x509.X509_get0_notAfter(leaf) else { return nil }
        var parts = tm()
        guard x509.ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        let notAfter = Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
        func field(_ name: OpaquePointer?, _ nid: Int32) -> String? {
            guard let name else { return nil }
            var buffer = [CChar](repeating: 0, count: 256)
            let count = x509.X509_NAME_get_text_by_NID(name, nid, &buffer, Int32(buffer.count))
            guard count > 0 else { return nil }
            let text = String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return text.replacingControlCharacters()
        }
        let commonName: Int32 = 13, organization: Int32 = 17
        let issuerName = x509.X509_get_issuer_name(leaf)
        let issuer = [field(issuerName, commonName), field(issuerName, organization)].compactMap { $0 }
        return PeerCertificate(
            notAfter: notAfter, issuer: issuer.isEmpty ? nil : issuer.joined(separator: ", "),
            subject: field(x509.X509_get_subject_name(leaf), commonName), host: host)
    }
}

/// Collects the certificates seen during one check, possibly over several connections (an
/// https check that follows redirects), and keeps the one that expires first: that is the
/// one that breaks the check first.
final class CertificateRecorder: Sendable {
    private let soonest = Mutex<PeerCertificate?>(nil)

    func record(_ certificate: PeerCertificate?) {
        guard let certificate else { return }
        soonest.withLock { current in
            if current == nil || certificate.notAfter < current!.notAfter { current = certificate }
        }
    }

    var certificate: PeerCertificate? { soonest.withLock { $0 } }
}

/// The libcrypto/libssl functions that read a certificate, resolved apart from ``OpenSSL``
/// so that an OpenSSL without one of them (older than 1.1.1) still does https, only
/// without the expiry fields.
struct X509Functions: @unchecked Sendable {
    let SSL_get_peer_cert_chain: @convention(c) (OpaquePointer) -> OpaquePointer?
    let OPENSSL_sk_num: @convention(c) (OpaquePointer) -> Int32
    let OPENSSL_sk_value: @convention(c) (OpaquePointer, Int32) -> OpaquePointer?
    let X509_get0_notAfter: @convention(c) (OpaquePointer) -> OpaquePointer?
    let ASN1_TIME_to_tm: @convention(c) (OpaquePointer, UnsafeMutablePointer<tm>) -> Int32
    let X509_get_issuer_name: @convention(c) (OpaquePointer) -> OpaquePointer?
    let X509_get_subject_name: @convention(c) (OpaquePointer) -> OpaquePointer?
    let X509_NAME_get_text_by_NID: @convention(c) (OpaquePointer, Int32, UnsafeMutablePointer<CChar>, Int32) -> Int32

    static let loaded: X509Functions? = {
        for name in OpenSSL.sonames {
            // Already mapped by OpenSSL.load(); this only takes another reference.
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            if let functions = X509Functions(handle: handle) { return functions }
            dlclose(handle)
        }
        return nil
    }()

    private init?(handle: UnsafeMutableRawPointer) {
        func symbol<T>(_ name: String, as type: T.Type = T.self) -> T? {
            guard let pointer = dlsym(handle, name) else { return nil }
            return unsafeBitCast(pointer, to: T.self)
        }
        guard
            let SSL_get_peer_cert_chain = symbol(
                "SSL_get_peer_cert_chain", as: (@convention(c) (OpaquePointer) -> OpaquePointer?).self),
            let OPENSSL_sk_num = symbol("OPENSSL_sk_num", as: (@convention(c) (OpaquePointer) -> Int32).self),
            let OPENSSL_sk_value = symbol(
                "OPENSSL_sk_value", as: (@convention(c) (OpaquePointer, Int32) -> OpaquePointer?).self),
            let X509_get0_notAfter = symbol(
                "X509_get0_notAfter", as: (@convention(c) (OpaquePointer) -> OpaquePointer?).self),
            let ASN1_TIME_to_tm = symbol(
                "ASN1_TIME_to_tm", as: (@convention(c) (OpaquePointer, UnsafeMutablePointer<tm>) -> Int32).self),
            let X509_get_issuer_name = symbol(
                "X509_get_issuer_name", as: (@convention(c) (OpaquePointer) -> OpaquePointer?).self),
            let X509_get_subject_name = symbol(
                "X509_get_subject_name", as: (@convention(c) (OpaquePointer) -> OpaquePointer?).self),
            let X509_NAME_get_text_by_NID = symbol(
                "X509_NAME_get_text_by_NID",
                as: (@convention(c) (OpaquePointer, Int32, UnsafeMutablePointer<CChar>, Int32) -> Int32).self)
        else { return nil }
        self.SSL_get_peer_cert_chain = SSL_get_peer_cert_chain
        self.OPENSSL_sk_num = OPENSSL_sk_num
        self.OPENSSL_sk_value = OPENSSL_sk_value
        self.X509_get0_notAfter = X509_get0_notAfter
        self.ASN1_TIME_to_tm = ASN1_TIME_to_tm
        self.X509_get_issuer_name = X509_get_issuer_name
        self.X509_get_subject_name = X509_get_subject_name
        self.X509_NAME_get_text_by_NID = X509_NAME_get_text_by_NID
    }
}
