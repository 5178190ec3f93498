import CompressNIO
import Hummingbird
import LookoutCore
import NIOCore

/// An answer body in both representations the hub serves, built once and then shared by
/// every request: the plain bytes, their gzip (absent when not worth it) and a strong ETag
/// per representation. The summary, the public status and each dashboard file are one; a
/// route answers with ``Hummingbird/Response/negotiated(_:for:)``.
///
/// The ETag is a content hash (FNV-1a, as ``DashboardFiles`` always had), so it survives a
/// hub restart and two hubs with the same fleet agree. The gzip representation has its own
/// tag, the plain one plus `-gz`: a strong ETag names one sequence of bytes (RFC 9110
/// §8.8.3), and a cache holding the gzip bytes must not revalidate them as the plain ones.
struct EncodedBody: Sendable {
    /// Bodies smaller than this are sent plain: below about a kilobyte the gzip header and the
    /// client's work cost more than the bytes they save.
    static var minimumCompressedSize: Int { 1024 }

    let plain: ByteBuffer
    let gzip: ByteBuffer?
    /// The plain representation's tag, quoted: `"3f2a…"`.
    let etag: String
    /// Content-Type, Cache-Control and the like: the same on both representations.
    let headers: HTTPFields

    var gzipETag: String { Self.gzipTag(etag) }

    /// - Parameters:
    ///   - compressible: false for what is compressed already (PNG images).
    ///   - cacheControl: `private, no-cache` by default: a browser keeps the answer and
    ///     revalidates it (a 304 when nothing changed); no shared cache keeps a token's answer.
    init(
        _ plain: ByteBuffer, contentType: String = "application/json", cacheControl: String = "private, no-cache",
        compressible: Bool = true
    ) {
        self.plain = plain
        let hash = plain.withUnsafeReadableBytes { FNV1a.hash($0) }
        etag = "\"\(String(hash, radix: 16))\""
        gzip = compressible ? Self.gzipped(plain) : nil
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = cacheControl
        headers[.xContentTypeOptions] = "nosniff"
        self.headers = headers
    }

    /// `buffer` gzipped (zlib's default level), or nil when it is smaller than
    /// ``minimumCompressedSize``, when gzip would not make it smaller, or when zlib fails
    /// (the answer then goes plain, which is always correct).
    static func gzipped(_ buffer: ByteBuffer) -> ByteBuffer? {
        guard buffer.readableBytes >= minimumCompressedSize else { return nil }
        var input = buffer
        guard let output = try? input.compress(with: .gzip()), output.readableBytes < buffer.readableBytes else {
            return nil
        }
        return output
    }

    /// The tag of the gzip form of the representation tagged `etag`: `"abc"` → `"abc-gz"`.
    static func gzipTag(_ etag: String) -> String {
        guard etag.hasSuffix("\"") else { return etag + "-gz" }
        return String(etag.dropLast()) + "-gz\""
    }
}

extension Response {
    /// The answer to `request` from `body`, one line for any route:
    /// `Response.negotiated(body, for: request)`. gzip when the client accepts it
    /// (``AcceptEncoding``) and the body has a gzip form; 304 when `If-None-Match` names the
    /// chosen representation's tag (``IfNoneMatch``); `Vary: Accept-Encoding` always; a HEAD
    /// gets the GET's headers (Content-Length included) without the body.
    static func negotiated(_ body: EncodedBody, for request: Request) -> Response {
        let gzip = body.gzip.flatMap { AcceptEncoding.acceptsGzip(request.headers[values: .acceptEncoding]) ? $0 : nil }
        let etag = gzip == nil ? body.etag : body.gzipETag
        let bytes = gzip ?? body.plain
        if IfNoneMatch.matches(request.headers[values: .ifNoneMatch], etag: etag) {
            var headers = HTTPFields()
            headers[.eTag] = etag
            headers[.vary] = "Accept-Encoding"
            headers[.cacheControl] = body.headers[.cacheControl]
            return Response(status: .notModified, headers: headers)
        }
        var headers = body.headers
        headers[.eTag] = etag
        headers[.vary] = "Accept-Encoding"
        if gzip != nil { headers[.contentEncoding] = "gzip" }
        let response = Response(status: .ok, headers: headers, body: .init(byteBuffer: bytes))
        return request.method == .head ? response.createHeadResponse() : response
    }
}
