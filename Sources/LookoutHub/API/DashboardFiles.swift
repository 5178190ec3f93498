import Hummingbird
import LookoutCore
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Serves the dashboard's static files (`Public/` and its subfolders) from memory: a few KB,
/// read and gzipped once at start. `/` is `monitoring.html`. Each answer carries an ETag
/// (one per representation: ``EncodedBody``) and `Cache-Control: no-cache`, so a browser
/// revalidates cheaply (304) and never runs a stale page after an upgrade.
struct DashboardFiles<Context: RequestContext>: RouterMiddleware {
    let files: [String: EncodedBody]

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
        var files: [String: EncodedBody] = [:]
        func add(_ relative: String, from path: String) {
            guard let ext = relative.split(separator: ".").last.map(String.init),
                let type = Self.contentTypes[ext],
                let bytes = try? AtomicFile.read(path, limit: 4 << 20)
            else { return }
            // PNG is compressed already; everything else served here is text or a bitmap icon.
            files["/" + relative] = EncodedBody(
                ByteBuffer(bytes: bytes), contentType: type, cacheControl: "no-cache", compressible: ext != "png")
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
        return .negotiated(file, for: request)
    }
}
