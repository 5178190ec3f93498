import CompressNIO
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import LookoutCore
import NIOCore
import Testing

@testable import LookoutHub

/// The pure header parsing behind ``Response/negotiated(_:for:)``.
@Suite struct ContentNegotiationTests {
    @Test(arguments: [
        ("gzip", true), ("GZIP", true), ("x-gzip", true), ("deflate, gzip;q=0.5", true), ("*", true),
        ("br;q=1, *;q=0.1", true), ("gzip ; Q=1.000", true), ("gzip;q=0", false), ("gzip; q=0.000", false),
        ("*;q=0", false), ("gzip;q=0, *", false), ("*, gzip;q=0", false), ("br, deflate", false), ("", false),
        ("identity", false), ("gzip;q=abc", false), ("gzip;q=1.5", false), ("gzip;q=0.5555", false),
        ("\u{1};;;,,=,;q=", false), ("gzip;level=9", true), (",,, gzip ,,", true),
    ])
    func acceptEncoding(_ header: String, _ accepted: Bool) {
        #expect(AcceptEncoding.acceptsGzip([header]) == accepted, "\(header)")
    }

    @Test func acceptEncodingOverSeveralLines() {
        #expect(AcceptEncoding.acceptsGzip(["br", "gzip"]))
        #expect(!AcceptEncoding.acceptsGzip([]))
    }

    @Test(arguments: [
        (#""abc""#, true), (#"W/"abc""#, true), (#""x", "abc""#, true), (#""x","y" , W/"abc""#, true), ("*", true),
        (" * ", true), (#""abd""#, false), ("abc", false), (#""abc"#, false), (#""a,b", "abc""#, true),
        (#""ab"#, false), ("", false), (#"junk "abc""#, false), (#""x" junk "abc""#, false),
    ])
    func ifNoneMatch(_ header: String, _ matches: Bool) {
        #expect(IfNoneMatch.matches([header], etag: #""abc""#) == matches, "\(header)")
    }

    @Test func theGzipTagIsItsOwn() {
        #expect(EncodedBody.gzipTag(#""abc""#) == #""abc-gz""#)
        #expect(!IfNoneMatch.matches([#""abc""#], etag: EncodedBody.gzipTag(#""abc""#)))
    }
}

/// gzip, ETags and 304s on a real hub's router (HummingbirdTesting, no socket).
@Suite struct WireTests {
    static let now = Date(timeIntervalSince1970: 1_765_276_200)
    let folder = NSTemporaryDirectory() + "lookout-wire-\(UUID().uuidString)"

    @discardableResult
    func withHub<Value: Sendable>(
        publicFolder: String? = nil, _ body: @escaping @Sendable (Hub, any TestClientProtocol) async throws -> Value
    ) async throws -> Value {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hub = try await Hub.open(
            Hub.Settings(dataFolder: "\(folder)/data", publicFolder: publicFolder), logger: Logger(label: "test"),
            now: { WireTests.now })
        return try await Application(router: hub.router()).test(.router) { client in try await body(hub, client) }
    }

    /// Enough VMs for a summary well above ``EncodedBody/minimumCompressedSize``.
    static let fleet = ["web-1", "web-2", "web-3", "db-1", "db-2"]

    static func report(_ hub: Hub, _ vm: String, secondsAgo: Double, cpu: Double = 10) async {
        let outcome = await hub.ingestor.ingest(makeDocument(vm, at: now.addingTimeInterval(-secondsAgo), cpu: cpu))
        #expect(outcome == .stored, "\(vm)")
    }

    static func gunzip(_ buffer: ByteBuffer) throws -> ByteBuffer {
        var buffer = buffer
        return try buffer.decompress(with: .gzip())
    }

    func get(
        _ client: any TestClientProtocol, _ uri: String, method: HTTPRequest.Method = .get, _ fields: HTTPFields = [:]
    ) async throws -> TestResponse {
        try await client.execute(uri: uri, method: method, headers: fields, body: nil) { $0 }
    }

    static let gzip: HTTPFields = [.acceptEncoding: "gzip, deflate, br"]

    @Test func theSummaryGoesGzipWhenAcceptedAndDecodesToThePlainBody() async throws {
        try await withHub { hub, client in
            for vm in Self.fleet { await Self.report(hub, vm, secondsAgo: 60) }
            let plain = try await get(client, "/api/monitoring/summary")
            #expect(plain.status == .ok)
            #expect(plain.headers[.contentEncoding] == nil)
            #expect(plain.headers[.vary] == "Accept-Encoding")
            #expect(plain.body.readableBytes >= EncodedBody.minimumCompressedSize)
            #expect(plain.body == hub.ingestor.fleet.summaryBody())
            let zipped = try await get(client, "/api/monitoring/summary", Self.gzip)
            #expect(zipped.status == .ok)
            #expect(zipped.headers[.contentEncoding] == "gzip")
            #expect(zipped.headers[.vary] == "Accept-Encoding")
            #expect(zipped.headers[.contentType] == "application/json")
            #expect(zipped.headers[.contentLength] == String(zipped.body.readableBytes))
            #expect(zipped.body.readableBytes < plain.body.readableBytes / 2)
            #expect(try Self.gunzip(zipped.body) == plain.body)
            let plainTag = try #require(plain.headers[.eTag])
            #expect(zipped.headers[.eTag] == EncodedBody.gzipTag(plainTag))
            #expect(plainTag.hasPrefix("\"") && plainTag.hasSuffix("\"") && plainTag.count > 4)
        }
    }

    @Test(arguments: ["gzip;q=0", "br, deflate", "*;q=0", "identity", ""])
    func aRefusedGzipGetsThePlainBody(_ header: String) async throws {
        try await withHub { hub, client in
            for vm in Self.fleet { await Self.report(hub, vm, secondsAgo: 60) }
            let response = try await get(client, "/api/monitoring/summary", [.acceptEncoding: header])
            #expect(response.status == .ok)
            #expect(response.headers[.contentEncoding] == nil)
            #expect(response.headers[.vary] == "Accept-Encoding")
            #expect(response.body == hub.ingestor.fleet.summaryBody())
        }
    }

    @Test func anUnchangedSummaryIs304AndAReportChangesTheETag() async throws {
        try await withHub { hub, client in
            for vm in Self.fleet { await Self.report(hub, vm, secondsAgo: 60) }
            let first = try await get(client, "/api/monitoring/summary", Self.gzip)
            let tag = try #require(first.headers[.eTag])
            for match in [tag, "W/\(tag)", "\"nope\", \(tag)", "*"] {
                var fields = Self.gzip
                fields[.ifNoneMatch] = match
                let again = try await get(client, "/api/monitoring/summary", fields)
                #expect(again.status == .notModified, "\(match)")
                #expect(again.body.readableBytes == 0)
                #expect(again.headers[.eTag] == tag)
                #expect(again.headers[.vary] == "Accept-Encoding")
                #expect(again.headers[.contentEncoding] == nil)
            }
            // The plain representation's tag does not revalidate the gzip one, nor the reverse.
            let plainTag = try #require(try await get(client, "/api/monitoring/summary").headers[.eTag])
            #expect(plainTag != tag)
            var crossed = Self.gzip
            crossed[.ifNoneMatch] = plainTag
            #expect(try await get(client, "/api/monitoring/summary", crossed).status == .ok)
            #expect(try await get(client, "/api/monitoring/summary", [.ifNoneMatch: tag]).status == .ok)

            await Self.report(hub, "web-1", secondsAgo: 30, cpu: 80)
            var stale = Self.gzip
            stale[.ifNoneMatch] = tag
            let changed = try await get(client, "/api/monitoring/summary", stale)
            #expect(changed.status == .ok)
            let newTag = try #require(changed.headers[.eTag])
            #expect(newTag != tag)
            #expect(try Self.gunzip(changed.body) == hub.ingestor.fleet.summaryBody())
        }
    }

    /// Two hubs that reached the same fleet by different paths (one saw an extra, older
    /// report) give the same tag: it is the content's, not a count of changes.
    @Test func theETagIsAContentHashNotACounter() async throws {
        var tags: [String] = []
        for extra in [false, true] {
            tags.append(
                try await withHub { hub, client in
                    if extra { await Self.report(hub, "web-1", secondsAgo: 120, cpu: 70) }
                    await Self.report(hub, "web-1", secondsAgo: 60)
                    await Self.report(hub, "web-2", secondsAgo: 60)
                    return try #require(try await get(client, "/api/monitoring/summary").headers[.eTag])
                })
        }
        #expect(tags.count == 2 && tags[0] == tags[1])
    }

    @Test func headAnswersTheGetHeadersWithoutTheBody() async throws {
        try await withHub { hub, client in
            for vm in Self.fleet { await Self.report(hub, vm, secondsAgo: 60) }
            let full = try await get(client, "/api/monitoring/summary", Self.gzip)
            let head = try await get(client, "/api/monitoring/summary", method: .head, Self.gzip)
            #expect(head.status == .ok)
            #expect(head.body.readableBytes == 0)
            #expect(head.headers[.contentEncoding] == "gzip")
            #expect(head.headers[.contentLength] == String(full.body.readableBytes))
            #expect(head.headers[.eTag] == full.headers[.eTag])
            var fields = Self.gzip
            fields[.ifNoneMatch] = full.headers[.eTag]
            #expect(try await get(client, "/api/monitoring/summary", method: .head, fields).status == .notModified)
        }
    }

    @Test func aSmallSummaryGoesPlainEvenWhenGzipIsAccepted() async throws {
        try await withHub { _, client in
            let response = try await get(client, "/api/monitoring/summary", Self.gzip)
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == #"{"vms":{}}"#)
            #expect(response.headers[.contentEncoding] == nil)
            #expect(response.headers[.vary] == "Accept-Encoding")
            #expect(response.headers[.eTag] != nil)
        }
    }

    @Test func otherLargeJSONAnswersAreGzippedByTheMiddleware() async throws {
        try await withHub { hub, client in
            for minute in stride(from: 300, to: 0, by: -1) {
                await Self.report(hub, "web-1", secondsAgo: Double(minute * 60), cpu: Double(minute % 97))
            }
            let uri = "/api/monitoring/history/web-1?metric=cpu&range=24h&points=300"
            let plain = try await get(client, uri)
            #expect(plain.status == .ok)
            #expect(plain.headers[.contentEncoding] == nil)
            #expect(plain.body.readableBytes >= EncodedBody.minimumCompressedSize)
            let zipped = try await get(client, uri, Self.gzip)
            #expect(zipped.headers[.contentEncoding] == "gzip")
            #expect(zipped.headers[.vary] == "Accept-Encoding")
            #expect(zipped.headers[.contentLength] == String(zipped.body.readableBytes))
            #expect(try Self.gunzip(zipped.body) == plain.body)
            // Small JSON errors stay plain; text (Prometheus) is not the middleware's.
            let missing = try await get(client, "/api/monitoring/vm/nope", Self.gzip)
            #expect(missing.status == .notFound)
            #expect(missing.headers[.contentEncoding] == nil)
            let metrics = try await get(client, "/metrics", Self.gzip)
            #expect(metrics.status == .ok)
            #expect(metrics.body.readableBytes >= EncodedBody.minimumCompressedSize)
            #expect(metrics.headers[.contentEncoding] == nil)
        }
    }

    @Test func dashboardFilesHaveAGzipFormAndATagPerRepresentation() async throws {
        let publicFolder = "\(folder)/public"
        try AtomicFile.makeDirectories("\(publicFolder)/js")
        let script = String(repeating: "export const answer = 42; // the same line again\n", count: 100)
        try AtomicFile.write(Array(script.utf8), to: "\(publicFolder)/js/main.js")
        try AtomicFile.write(Array("<!doctype html><title>x</title>".utf8), to: "\(publicFolder)/monitoring.html")
        let png = (0..<2048).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
        try AtomicFile.write(png, to: "\(publicFolder)/icon.png")
        try await withHub(publicFolder: publicFolder) { _, client in
            let plain = try await get(client, "/js/main.js")
            #expect(String(buffer: plain.body) == script)
            #expect(plain.headers[.contentEncoding] == nil)
            #expect(plain.headers[.cacheControl] == "no-cache")
            let zipped = try await get(client, "/js/main.js", Self.gzip)
            #expect(zipped.headers[.contentEncoding] == "gzip")
            #expect(zipped.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(zipped.headers[.xContentTypeOptions] == "nosniff")
            #expect(zipped.headers[.vary] == "Accept-Encoding")
            #expect(String(buffer: try Self.gunzip(zipped.body)) == script)
            let tag = try #require(zipped.headers[.eTag])
            #expect(tag == EncodedBody.gzipTag(try #require(plain.headers[.eTag])))
            var fields = Self.gzip
            fields[.ifNoneMatch] = tag
            #expect(try await get(client, "/js/main.js", fields).status == .notModified)
            fields[.ifNoneMatch] = plain.headers[.eTag]
            #expect(try await get(client, "/js/main.js", fields).status == .ok)
            // Small and already-compressed files go plain.
            let page = try await get(client, "/", Self.gzip)
            #expect(page.headers[.contentEncoding] == nil)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let icon = try await get(client, "/icon.png", Self.gzip)
            #expect(icon.headers[.contentEncoding] == nil)
            #expect(Array(icon.body.readableBytesView) == png)
        }
    }
}

/// ``CompressionMiddleware`` on its own router: what it must leave alone.
@Suite struct CompressionMiddlewareTests {
    static let big = ByteBuffer(string: "[" + (0..<400).map { #"{"n":\#($0)}"# }.joined(separator: ",") + "]")

    func withRouter(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router()
        router.add(middleware: CompressionMiddleware())
        router.get("json") { _, _ in Response.json(Self.big) }
        router.get("small") { _, _ in Response.json(#"{"ok":true}"#) }
        router.get("text") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: Self.big))
        }
        router.get("encoded") { _, _ in
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            fields[.contentEncoding] = "br"
            return Response(status: .ok, headers: fields, body: .init(byteBuffer: Self.big))
        }
        router.get("unmodified") { _, _ in
            Response(status: .notModified, headers: [.contentType: "application/json", .eTag: #""x""#])
        }
        router.get("created") { _, _ in Response.json(Self.big, status: .created, headers: [.eTag: #""v1""#]) }
        router.get("streamed") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init { writer in
                    try await writer.write(Self.big)
                    try await writer.finish(nil)
                })
        }
        try await Application(router: router).test(.router, body)
    }

    func get(_ client: any TestClientProtocol, _ uri: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get, headers: [.acceptEncoding: "gzip"], body: nil) { $0 }
    }

    @Test func itGzipsLargeJSONAndKeepsTheTagPerRepresentation() async throws {
        try await withRouter { client in
            let json = try await get(client, "/json")
            #expect(json.headers[.contentEncoding] == "gzip")
            #expect(try WireTests.gunzip(json.body) == Self.big)
            let created = try await get(client, "/created")
            #expect(created.status == .created)
            #expect(created.headers[.eTag] == #""v1-gz""#)
            #expect(try WireTests.gunzip(created.body) == Self.big)
        }
    }

    @Test func itLeavesAloneWhatIsNotPlainLargeJSON() async throws {
        try await withRouter { client in
            let small = try await get(client, "/small")
            #expect(small.headers[.contentEncoding] == nil)
            #expect(String(buffer: small.body) == #"{"ok":true}"#)
            let text = try await get(client, "/text")
            #expect(text.headers[.contentEncoding] == nil)
            #expect(text.headers[.vary] == nil)
            #expect(text.body == Self.big)
            let encoded = try await get(client, "/encoded")
            #expect(encoded.headers[.contentEncoding] == "br")
            #expect(encoded.body == Self.big)
            let unmodified = try await get(client, "/unmodified")
            #expect(unmodified.status == .notModified)
            #expect(unmodified.headers[.contentEncoding] == nil)
            #expect(unmodified.headers[.eTag] == #""x""#)
            let streamed = try await get(client, "/streamed")
            #expect(streamed.headers[.contentEncoding] == nil)
            #expect(streamed.body == Self.big)
        }
    }
}
