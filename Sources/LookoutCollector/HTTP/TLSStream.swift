import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// TLS for https checks and an https push target, through the system's OpenSSL.
///
/// OpenSSL is loaded with `dlopen` the first time an https URL is used, not linked: a VM
/// whose agent only writes files or pushes over plain HTTP never maps it, the binary
/// starts on a machine without it, and the certificate store is the system's own
/// (`/etc/ssl/certs`, kept current by `ca-certificates`; `SSL_CERT_FILE` works as with
/// curl). Verification is always on: the chain and the host name (or IP address).
final class TLSStream: ByteStream {
    private let socket: Socket
    private let library: OpenSSL
    private let ssl: OpaquePointer

    /// Runs the handshake over `socket`, verifying the server's certificate for `host`.
    ///
    /// - Parameters:
    ///   - caFile: a PEM file of extra CAs to trust beside the system's.
    ///   - certificates: receives the server's leaf certificate once the handshake is over,
    ///     also when verification rejected it (expired, another host's).
    init(
        socket: Socket, host: String, caFile: String?, deadline: Deadline, certificates: CertificateRecorder? = nil
    ) throws(NetworkError) {
        let library = try OpenSSL.load()
        let context = try ClientContext.shared(caFile: caFile, library: library)
        guard let ssl = library.SSL_new(context) else {
            throw .tls("cannot create a connection: \(library.lastError())")
        }
        self.socket = socket
        self.library = library
        self.ssl = ssl
        _ = library.SSL_set_fd(ssl, socket.descriptor)
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        if !isAddress {
            // Server Name Indication (`SSL_set_tlsext_host_name` is this macro); never for an address.
            _ = host.withCString { library.SSL_ctrl(ssl, 55, 0, UnsafeMutableRawPointer(mutating: $0)) }
        }
        // OpenSSL 3 checks an IP address literal against the certificate's IP entries.
        guard library.SSL_set1_host(ssl, host) == 1 else { throw .tls("cannot verify against host \(host)") }
        defer { certificates?.record(PeerCertificate.read(from: ssl, host: host)) }
        try retry(deadline: deadline) { library.SSL_connect(ssl) }
    }

    deinit {
        _ = library.SSL_shutdown(ssl)
        library.SSL_free(ssl)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline) throws(NetworkError) -> Int {
        let count = try retry(deadline: deadline) {
            library.SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        }
        return Int(count)
    }

    func write(_ bytes: [UInt8], deadline: Deadline) throws(NetworkError) {
        var offset = 0
        while offset < bytes.count {
            let count = try retry(deadline: deadline) {
                bytes[offset...].withUnsafeBytes { library.SSL_write(ssl, $0.baseAddress, Int32(clamping: $0.count)) }
            }
            guard count > 0 else { throw .closedEarly }
            offset += Int(count)
        }
    }

    /// Calls `operation` until it succeeds, waiting on the socket whenever OpenSSL asks to.
    /// A clean close (`SSL_ERROR_ZERO_RETURN`) is returned as 0.
    @discardableResult
    private func retry(deadline: Deadline, _ operation: () -> Int32) throws(NetworkError) -> Int32 {
        while true {
            library.ERR_clear_error()
            let result = operation()
            if result > 0 { return result }
            switch library.SSL_get_error(ssl, result) {
            case 2:  // SSL_ERROR_WANT_READ
                try socket.wait(for: Int16(POLLIN), deadline: deadline)
            case 3:  // SSL_ERROR_WANT_WRITE
                try socket.wait(for: Int16(POLLOUT), deadline: deadline)
            case 6:  // SSL_ERROR_ZERO_RETURN: the peer closed the TLS session
                return 0
            case 5:  // SSL_ERROR_SYSCALL
                let code = errno
                // OpenSSL 3 reports a close without close_notify here; HTTP framing decides.
                if result == 0 || code == 0 { return 0 }
                throw .system(errno: code)
            default:
                let verify = library.SSL_get_verify_result(ssl)
                if verify != 0 {
                    throw .tls(
                        "certificate rejected: \(String(cString: library.X509_verify_cert_error_string(verify)))")
                }
                throw .tls(library.lastError())
            }
        }
    }
}

/// One verifying client context per CA file, made on first use and kept for the life of
/// the process: loading the system's CA bundle parses ~150 certificates, which a sample
/// with a dozen https checks would otherwise do a dozen times. An `SSL_CTX` may be shared
/// by connections on any thread once it is set up.
enum ClientContext {
    private struct Handle: @unchecked Sendable {
        let pointer: OpaquePointer
    }
    /// Keyed by the extra CA file ("" for the system store alone).
    private static let contexts = Mutex<[String: Handle]>([:])

    static func shared(caFile: String?, library: OpenSSL) throws(NetworkError) -> OpaquePointer {
        let result: Result<OpaquePointer, NetworkError> = contexts.withLock { contexts in
            if let known = contexts[caFile ?? ""] { return .success(known.pointer) }
            guard let context = library.SSL_CTX_new(library.TLS_client_method()) else {
                return .failure(.tls("cannot create a context: \(library.lastError())"))
            }
            library.SSL_CTX_set_verify(context, 1 /* SSL_VERIFY_PEER */, nil)
            guard library.SSL_CTX_set_default_verify_paths(context) == 1 else {
                library.SSL_CTX_free(context)
                return .failure(.tls("cannot load the system's CA certificates: \(library.lastError())"))
            }
            if let caFile, library.SSL_CTX_load_verify_locations(context, caFile, nil) != 1 {
                library.SSL_CTX_free(context)
                return .failure(.tls("cannot load CA file \(caFile): \(library.lastError())"))
            }
            contexts[caFile ?? ""] = Handle(pointer: context)
            return .success(context)
        }
        return try result.get()
    }
}

/// The few OpenSSL 1.1/3 functions the agent calls, resolved once from the system's libssl.
struct OpenSSL: @unchecked Sendable {
    typealias Context = OpaquePointer
    typealias Connection = OpaquePointer

    let TLS_client_method: @convention(c) () -> OpaquePointer?
    let SSL_CTX_new: @convention(c) (OpaquePointer?) -> Context?
    let SSL_CTX_free: @convention(c) (Context) -> Void
    let SSL_CTX_set_verify: @convention(c) (Context, Int32, OpaquePointer?) -> Void
    let SSL_CTX_set_default_verify_paths: @convention(c) (Context) -> Int32
    let SSL_CTX_load_verify_locations: @convention(c) (Context, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32
    let SSL_new: @convention(c) (Context) -> Connection?
    let SSL_free: @convention(c) (Connection) -> Void
    let SSL_set_fd: @convention(c) (Connection, Int32) -> Int32
    let SSL_ctrl: @convention(c) (Connection, Int32, Int, UnsafeMutableRawPointer?) -> Int
    let SSL_set1_host: @convention(c) (Connection, UnsafePointer<CChar>) -> Int32
    let SSL_connect: @convention(c) (Connection) -> Int32
    let SSL_read: @convention(c) (Connection, UnsafeMutableRawPointer?, Int32) -> Int32
    let SSL_write: @convention(c) (Connection, UnsafeRawPointer?, Int32) -> Int32
    let SSL_shutdown: @convention(c) (Connection) -> Int32
    let SSL_get_error: @convention(c) (Connection, Int32) -> Int32
    let SSL_get_verify_result: @convention(c) (Connection) -> Int
    let X509_verify_cert_error_string: @convention(c) (Int) -> UnsafePointer<CChar>
    let ERR_get_error: @convention(c) () -> UInt
    let ERR_clear_error: @convention(c) () -> Void
    let ERR_error_string_n: @convention(c) (UInt, UnsafeMutablePointer<CChar>, Int) -> Void

    /// The sonames tried, newest first: Debian 12+/Ubuntu 22.04+ ship 3, older ones 1.1.
    static let sonames = ["libssl.so.3", "libssl.so.1.1"]

    /// Loads libssl on first use; later calls return the same table (or the same error).
    static func load() throws(NetworkError) -> OpenSSL {
        switch loaded {
        case .success(let library): return library
        case .failure(let error): throw error
        }
    }

    private static let loaded: Result<OpenSSL, NetworkError> = {
        for name in sonames {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            if let library = OpenSSL(handle: handle) { return .success(library) }
            dlclose(handle)
        }
        return .failure(
            .tls(
                "https needs the system's OpenSSL (\(sonames.joined(separator: " or "))); install it with `apt-get install libssl3`"
            ))
    }()

    private init?(handle: UnsafeMutableRawPointer) {
        func symbol<T>(_ name: String, as type: T.Type = T.self) -> T? {
            guard let pointer = dlsym(handle, name) else { return nil }
            return unsafeBitCast(pointer, to: T.self)
        }
        guard let TLS_client_method = symbol("TLS_client_method", as: (@convention(c) () -> OpaquePointer?).self),
            let SSL_CTX_new = symbol("SSL_CTX_new", as: (@convention(c) (OpaquePointer?) -> Context?).self),
            let SSL_CTX_free = symbol("SSL_CTX_free", as: (@convention(c) (Context) -> Void).self),
            let SSL_CTX_set_verify = symbol(
                "SSL_CTX_set_verify", as: (@convention(c) (Context, Int32, OpaquePointer?) -> Void).self),
            let SSL_CTX_set_default_verify_paths = symbol(
                "SSL_CTX_set_default_verify_paths", as: (@convention(c) (Context) -> Int32).self),
            let SSL_CTX_load_verify_locations = symbol(
                "SSL_CTX_load_verify_locations",
                as: (@convention(c) (Context, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32).self),
            let SSL_new = symbol("SSL_new", as: (@convention(c) (Context) -> Connection?).self),
            let SSL_free = symbol("SSL_free", as: (@convention(c) (Connection) -> Void).self),
            let SSL_set_fd = symbol("SSL_set_fd", as: (@convention(c) (Connection, Int32) -> Int32).self),
            let SSL_ctrl = symbol(
                "SSL_ctrl", as: (@convention(c) (Connection, Int32, Int, UnsafeMutableRawPointer?) -> Int).self),
            let SSL_set1_host = symbol(
                "SSL_set1_host", as: (@convention(c) (Connection, UnsafePointer<CChar>) -> Int32).self),
            let SSL_connect = symbol("SSL_connect", as: (@convention(c) (Connection) -> Int32).self),
            let SSL_read = symbol(
                "SSL_read", as: (@convention(c) (Connection, UnsafeMutableRawPointer?, Int32) -> Int32).self),
            let SSL_write = symbol(
                "SSL_write", as: (@convention(c) (Connection, UnsafeRawPointer?, Int32) -> Int32).self),
            let SSL_shutdown = symbol("SSL_shutdown", as: (@convention(c) (Connection) -> Int32).self),
            let SSL_get_error = symbol("SSL_get_error", as: (@convention(c) (Connection, Int32) -> Int32).self),
            let SSL_get_verify_result = symbol(
                "SSL_get_verify_result", as: (@convention(c) (Connection) -> Int).self),
            let X509_verify_cert_error_string = symbol(
                "X509_verify_cert_error_string", as: (@convention(c) (Int) -> UnsafePointer<CChar>).self),
            let ERR_get_error = symbol("ERR_get_error", as: (@convention(c) () -> UInt).self),
            let ERR_clear_error = symbol("ERR_clear_error", as: (@convention(c) () -> Void).self),
            let ERR_error_string_n = symbol(
                "ERR_error_string_n", as: (@convention(c) (UInt, UnsafeMutablePointer<CChar>, Int) -> Void).self)
        else { return nil }
        self.TLS_client_method = TLS_client_method
        self.SSL_CTX_new = SSL_CTX_new
        self.SSL_CTX_free = SSL_CTX_free
        self.SSL_CTX_set_verify = SSL_CTX_set_verify
        self.SSL_CTX_set_default_verify_paths = SSL_CTX_set_default_verify_paths
        self.SSL_CTX_load_verify_locations = SSL_CTX_load_verify_locations
        self.SSL_new = SSL_new
        self.SSL_free = SSL_free
        self.SSL_set_fd = SSL_set_fd
        self.SSL_ctrl = SSL_ctrl
        self.SSL_set1_host = SSL_set1_host
        self.SSL_connect = SSL_connect
        self.SSL_read = SSL_read
        self.SSL_write = SSL_write
        self.SSL_shutdown = SSL_shutdown
        self.SSL_get_error = SSL_get_error
        self.SSL_get_verify_result = SSL_get_verify_result
        self.X509_verify_cert_error_string = X509_verify_cert_error_string
        self.ERR_get_error = ERR_get_error
        self.ERR_clear_error = ERR_clear_error
        self.ERR_error_string_n = ERR_error_string_n
    }

    /// OpenSSL's text for its most recent error, e.g. `…:wrong version number`.
    func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "unknown error" }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        let full = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // "error:0A00010B:SSL routines::wrong version number" → the reason at the end.
        return full.split(separator: ":").last.map(String.init) ?? full
    }
}
