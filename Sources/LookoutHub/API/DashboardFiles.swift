import Hummingbird
import LookoutCore
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Serves the dashboard's static files (`Public/` and its subfolders) from memory: a few KB,
/// read once at start. `/` is `monitoring.html`. Each answer carries an ETag and
/// `Cache-Control: no-cache`, so a browser revalidates cheaply (304) and never runs a
/// stale page after an upgrade.
struct DashboardFiles<Context: RequestContext>: RouterMiddleware {
    struct File: Sendable {
        let body: ByteBuffer
        let contentType: String
        let etag: String
    }

    let files: [String: File]

    /// The types served; a file of any other extension (the installer's `.sh`, notes) is not.
    static var contentTypes: [String: String] {
        [
            "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
            "mjs": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "svg": "image/svg+xml",
            "ico": "image/x-icon", "png": "image/png", "webmanifest": "application/manifest+json",
        ]
    }

    /// Reads `folder` and its direct subfolders (`js/` holds the dashboard's ES modules);
    /// names starting with a dot are skipped at both levels.
    init(folder: String) {
        var files: [String: File] = [:]
        func add(_ relative: String, from path: String) {
            guard let ext = relative.split(separator: ".").last.map(String.init),
                let type = Self.contentTypes[ext],
                let bytes = try? AtomicFile.read(path, limit: 4 << 20)
            else { return }
            // A content hash for the ETag, no crypto needed.
            let hash = FNV1a.hash(bytes)
            files["/" + relative] = File(
                body: ByteBuffer(bytes: bytes), contentType: type, etag: "\"\(String(hash, radix: 16))\"")
        }
        for name in AtomicFile.fileNames(in: folder) where !name.hasPrefix(".") {
            let path = "\(folder)/\(name)"
            let inner = AtomicFile.fileNames(in: path)
            if inner.isEmpty {
                add(name, from: path)
            } else {
                for child in inner where !child.hasPrefix(".") { add("\(name)/\(child)", from: "\(path)/\(child)") }
            }
        }
        if let page = files["/monitoring.html"] { files["/"] = page }
        self.files = files
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let file = files[request.uri.path] else {
            return try await next(request, context)
        }
        guard request.method == .get || request.method == .head else {
            throw HTTPError(
                .methodNotAllowed, headers: [.allow: "GET, HEAD"], message: "Method not allowed; allowed: GET, HEAD")
        }
        var headers = HTTPFields()
        headers[.eTag] = file.etag
        headers[.cacheControl] = "no-cache"
        if request.headers[.ifNoneMatch] == file.etag {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = file.contentType
        headers[.xContentTypeOptions] = "nosniff"
        let response = Response(status: .ok, headers: headers, body: .init(byteBuffer: file.body))
        return request.method == .head ? response.createHeadResponse() : response
    }
}
