import Hummingbird
import NIOCore

/// gzips the JSON answers no route negotiated itself (history, services, alerts, …) when
/// the client accepts gzip and the body is at least ``EncodedBody/minimumCompressedSize``.
/// The hub's JSON bodies are bounded and built whole, so the body is gathered and compressed
/// in one go, never streamed.
///
/// Left alone: an answer that has a `Content-Encoding` already or lists `Accept-Encoding` in
/// `Vary` (``Response/negotiated(_:for:)`` chose its representation), anything but a
/// successful answer with a body (304, 204, errors), anything not `application/json`
/// (`/metrics`, the dashboard's files, the installer), and a body of unknown length.
struct CompressionMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        guard Self.isPlainJSON(response), let length = response.body.contentLength else { return response }
        response.headers[values: .vary].append("Accept-Encoding")
        guard length >= EncodedBody.minimumCompressedSize,
            AcceptEncoding.acceptsGzip(request.headers[values: .acceptEncoding])
        else { return response }
        let collector = Collector()
        try await response.body.write(collector)
        guard let gzip = EncodedBody.gzipped(collector.box.buffer) else {
            response.body = .init(byteBuffer: collector.box.buffer)
            return response
        }
        response.headers[.contentEncoding] = "gzip"
        if let etag = response.headers[.eTag] { response.headers[.eTag] = EncodedBody.gzipTag(etag) }
        response.body = .init(byteBuffer: gzip)
        return response
    }

    /// A 200-class JSON answer with a body that nothing encoded or negotiated yet.
    static func isPlainJSON(_ response: Response) -> Bool {
        guard response.status.kind == .successful, response.status != .noContent,
            response.status != .partialContent, response.headers[.contentEncoding] == nil,
            !response.headers[values: .vary].contains(where: { $0.lowercased().contains("accept-encoding") }),
            let type = response.headers[.contentType]
        else { return false }
        let media = type.split(separator: ";", maxSplits: 1).first ?? ""
        return media.lowercased().filter { $0 != " " } == "application/json"
    }
}

/// Gathers a response body's buffers (the body is bounded: ``CompressionMiddleware``).
private struct Collector: ResponseBodyWriter {
    final class Box {
        var buffer = ByteBuffer()
    }
    let box = Box()

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        box.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
