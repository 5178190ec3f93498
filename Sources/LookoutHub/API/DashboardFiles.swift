import Hummingbird
import LookoutCore
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Serves the dashboard's static files (`Public/`) from memory: they are a few KB, read
/// once at start. `/` is `monitoring.html`. Each answer carries an ETag and
/// `Cache-Control: no-cache`, so a browser revalidates cheaply (304) and never runs a
/// stale page after an upgrade.
struct DashboardFiles<Context: RequestContext>: RouterMiddleware {
    struct File: Sendable {
        let body: ByteBuffer
        let contentType: String
        let etag: String
    }

    let files: [String: File]

    init(folder: String) {
        var files: [String: File] = [:]
        let types = [
            "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
            "css": "text/css; charset=utf-8", "svg": "image/svg+xml", "ico": "image/x-icon",
            "png": "image/png",
        ]
        for name in AtomicFile.fileNames(in: folder) where !name.hasPrefix(".") {
            guard let ext = name.split(separator: ".").last.map(String.init), let type = types[ext],
                let bytes = try? AtomicFile.read("\(folder)/\(name)", limit: 4 << 20)
            else { continue }
            // A content hash for the ETag, no crypto needed.
            let hash = FNV1a.hash(bytes)
            files["/" + name] = File(
                body: ByteBuffer(bytes: bytes), contentType: type, etag: "\"\(String(hash, radix: 16))\"")
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
