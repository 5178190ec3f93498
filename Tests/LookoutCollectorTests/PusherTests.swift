import Foundation
import Logging
import LookoutCollector
import LookoutCore
import NIOHTTP1
import Testing

@Suite struct PusherTests {
    let spoolFolder = NSTemporaryDirectory() + "lookout-spool-\(UUID().uuidString)"
    let logger = Logger(label: "test.push")

    func document(_ n: Int) -> [UInt8] { Array(#"{"n":\#(n)}"#.utf8) }

    /// A hub stand-in: accepts only the right bearer token, records bodies in order.
    func hub(token: String = "s3cret") -> FixtureHTTPServer {
        FixtureHTTPServer { request in
            guard request.path == "/api/monitoring/ingest", request.method == .POST else { return .notFound }
            guard request.bearerToken == token else {
                return .json(#"{"error":"Unauthorized"}"#, status: .unauthorized)
            }
            return .json(#"{"status":"accepted"}"#)
        }
    }

    func pusher(
        _ url: String, token: String? = "s3cret", limit: Int = 100, replayLimit: Int = 288,
        replayBudget: Duration = Pusher.defaultReplayBudget
    ) -> Pusher {
        Pusher(
            url: url, token: token, spool: Spool(folder: spoolFolder, limit: limit), replayLimit: replayLimit,
            replayBudget: replayBudget, timeout: .seconds(30), logger: logger)
    }

    /// The hub's rule for a per-VM token: it may push only its own VM's documents (403 for
    /// another's), and an unknown token is refused with 403 too.
    func perVMHub() -> FixtureHTTPServer {
        FixtureHTTPServer { request in
            guard request.bearerToken == "web-1-token" else {
                return .json(#"{"error":"Invalid token"}"#, status: .forbidden)
            }
            guard request.bodyText.contains(#""vm":"web-1""#) else {
                return .json(#"{"error":"this token may only push documents of web-1"}"#, status: .forbidden)
            }
            return .json(#"{"status":"stored"}"#, status: .created)
        }
    }

    func document(_ n: Int, vm: String) -> [UInt8] { Array(#"{"vm":"\#(vm)","n":\#(n)}"#.utf8) }

    @Test func deliversWithTheBearerTokenAndJSON() async throws {
        let server = hub()
        try await server.run { server in
            let outcome = await pusher(server.url("/api/monitoring/ingest")).deliver(document(1), timestamp: 1)
            #expect(outcome == .delivered(replayed: 0))
            let request = try #require(server.requests.first)
            #expect(request.bearerToken == "s3cret")
            #expect(request.headers.first(name: "content-type") == "application/json")
            #expect(request.body == document(1))
        }
    }

    @Test func anOutageSpoolsAndTheNextRunDeliversOldestFirst() async throws {
        // The hub is down: bind a server, note its URL, stop it.
        let gone = hub()
        try await gone.start()
        let deadURL = gone.url("/api/monitoring/ingest")
        await gone.shutdown()
        for n in 1...3 {
            let outcome = await pusher(deadURL).deliver(document(n), timestamp: Int64(1000 + n))
            guard case .spooled(let pending, _) = outcome else {
                Issue.record("expected spooled, got \(outcome)")
                return
            }
            #expect(pending == n)
        }
        // The hub is back: the spool goes first, in order, then the new document.
        let server = hub()
        try await server.run { server in
            let outcome = await pusher(server.url("/api/monitoring/ingest")).deliver(document(4), timestamp: 1004)
            #expect(outcome == .delivered(replayed: 3))
            #expect(server.requests.map(\.bodyText) == (1...4).map { #"{"n":\#($0)}"# })
        }
        #expect(Spool(folder: spoolFolder, limit: 100).pending().isEmpty)
    }

    @Test func aWrongTokenKeepsTheDocumentForLater() async throws {
        let server = hub()
        try await server.run { server in
            let outcome = await pusher(server.url("/api/monitoring/ingest"), token: "wrong").deliver(
                document(1), timestamp: 1)
            guard case .spooled(1, let reason) = outcome else {
                Issue.record("expected one spooled document, got \(outcome)")
                return
            }
            #expect(reason.contains("401"))
        }
    }

    @Test func aDocumentTheHubRejectsIsNotRetried() async throws {
        let server = FixtureHTTPServer { _ in
            .json(#"{"error":"system.cpu.percent: 300 is not a percentage"}"#, status: .badRequest)
        }
        try await server.run { server in
            let outcome = await pusher(server.url("/api/monitoring/ingest")).deliver(document(1), timestamp: 1)
            guard case .rejected(let reason) = outcome else {
                Issue.record("expected rejected, got \(outcome)")
                return
            }
            #expect(reason.contains("HTTP 400") && reason.contains("system.cpu.percent"))
        }
        #expect(Spool(folder: spoolFolder, limit: 100).pending().isEmpty)
    }

    @Test func theSpoolIsBoundedDroppingTheOldest() throws {
        let spool = Spool(folder: spoolFolder, limit: 3)
        for n in 1...5 { try spool.add(document(n), timestamp: Int64(n)) }
        let kept = spool.pending().map { String(decoding: try! AtomicFile.read($0, limit: 100), as: UTF8.self) }
        #expect(kept == [3, 4, 5].map { #"{"n":\#($0)}"# })
    }

    @Test func aServerErrorKeepsTheSpoolInOrder() async throws {
        let spool = Spool(folder: spoolFolder, limit: 100)
        try spool.add(document(1), timestamp: 1)
        let server = FixtureHTTPServer { _ in .json(#"{"error":"database is locked"}"#, status: .serviceUnavailable) }
        try await server.run { server in
            let outcome = await pusher(server.url("/api/monitoring/ingest")).deliver(document(2), timestamp: 2)
            #expect(outcome == .spooled(pending: 2, reason: #"HTTP 503: {"error":"database is locked"}"#))
            #expect(server.requests.count == 1)
        }
    }

    @Test func replayIsCappedPerRunAndTheRestWaitsForTheNext() async throws {
        let spool = Spool(folder: spoolFolder, limit: 100)
        for n in 1...5 { try spool.add(document(n), timestamp: Int64(n)) }
        let server = hub()
        try await server.run { server in
            let url = server.url("/api/monitoring/ingest")
            #expect(await pusher(url, replayLimit: 2).deliver(document(6), timestamp: 6) == .delivered(replayed: 2))
            #expect(server.requests.map(\.bodyText) == [1, 2, 6].map { #"{"n":\#($0)}"# })
            #expect(spool.pending().count == 3)
            #expect(await pusher(url, replayLimit: 2).deliver(document(7), timestamp: 7) == .delivered(replayed: 2))
            #expect(await pusher(url, replayLimit: 2).deliver(document(8), timestamp: 8) == .delivered(replayed: 1))
            #expect(server.requests.map(\.bodyText) == [1, 2, 6, 3, 4, 7, 5, 8].map { #"{"n":\#($0)}"# })
        }
        #expect(spool.pending().isEmpty)
    }

    @Test func aSpooledDocumentOfAVMThisTokenMayNotPushIsDropped() async throws {
        // Spooled under the VM's old name, before it got a per-VM token for its new one.
        let spool = Spool(folder: spoolFolder, limit: 100)
        try spool.add(document(1, vm: "old-name"), timestamp: 1)
        try spool.add(document(2, vm: "web-1"), timestamp: 2)
        try spool.add(document(3, vm: "old-name"), timestamp: 3)
        let server = perVMHub()
        try await server.run { server in
            let outcome = await pusher(server.url("/api/monitoring/ingest"), token: "web-1-token")
                .deliver(document(4, vm: "web-1"), timestamp: 4)
            #expect(outcome == .delivered(replayed: 1))
            // The new document went out as soon as a 403 needed telling apart from a bad token.
            #expect(
                server.requests.map(\.bodyText)
                    == [
                        document(1, vm: "old-name"), document(4, vm: "web-1"), document(2, vm: "web-1"),
                        document(3, vm: "old-name"),
                    ].map { String(decoding: $0, as: UTF8.self) })
        }
        #expect(spool.pending().isEmpty)
    }

    /// A 503 on a later spooled document, after this run's document already went out (to
    /// tell a 403 apart): the run delivered, and its document must not be spooled again.
    @Test func aDeliveredDocumentIsNotSpooledAgainWhenTheReplayStops() async throws {
        let spool = Spool(folder: spoolFolder, limit: 100)
        try spool.add(document(1, vm: "old-name"), timestamp: 1)
        try spool.add(document(2, vm: "web-1"), timestamp: 2)
        let server = FixtureHTTPServer { request in
            guard request.bearerToken == "web-1-token" else {
                return .json(#"{"error":"Invalid token"}"#, status: .forbidden)
            }
            guard request.bodyText.contains(#""vm":"web-1""#) else {
                return .json(#"{"error":"this token may only push documents of web-1"}"#, status: .forbidden)
            }
            if request.bodyText.contains(#""n":2"#) { return .json(#"{"error":"busy"}"#, status: .serviceUnavailable) }
            return .json(#"{"status":"stored"}"#, status: .created)
        }
        try await server.run { server in
            let outcome = await pusher(server.url("/api/monitoring/ingest"), token: "web-1-token")
                .deliver(document(3, vm: "web-1"), timestamp: 3)
            #expect(outcome == .delivered(replayed: 0))
        }
        #expect(
            spool.pending().map { String(decoding: (try? AtomicFile.read($0, limit: 1000)) ?? [], as: UTF8.self) }
                == [String(decoding: document(2, vm: "web-1"), as: UTF8.self)])
    }

    /// A spent replay budget (here none at all) stops the replay after the first document;
    /// the new document still goes out and the rest stays spooled in order.
    @Test func aSpentReplayBudgetLeavesTheRestForTheNextRun() async throws {
        let spool = Spool(folder: spoolFolder, limit: 100)
        for n in 1...3 { try spool.add(document(n), timestamp: Int64(n)) }
        let server = hub()
        try await server.run { server in
            let outcome = await pusher(server.url("/api/monitoring/ingest"), replayBudget: .zero)
                .deliver(document(4), timestamp: 4)
            #expect(outcome == .delivered(replayed: 1))
            #expect(server.requests.map(\.bodyText) == [1, 4].map { String(decoding: document($0), as: UTF8.self) })
        }
        #expect(spool.pending().count == 2)
    }

    @Test func aTokenTheHubRefusesKeepsTheWholeSpool() async throws {
        let spool = Spool(folder: spoolFolder, limit: 100)
        try spool.add(document(1, vm: "old-name"), timestamp: 1)
        try spool.add(document(2, vm: "web-1"), timestamp: 2)
        let server = perVMHub()
        try await server.run { server in
            let outcome = await pusher(server.url("/api/monitoring/ingest"), token: "mistyped")
                .deliver(document(3, vm: "web-1"), timestamp: 3)
            #expect(outcome == .spooled(pending: 3, reason: #"HTTP 403: {"error":"Invalid token"}"#))
            // One spooled document and the new one tell that the token is wrong; no more requests.
            #expect(server.requests.count == 2)
        }
        #expect(spool.pending().count == 3)
    }

    @Test func aDocumentThatCannotBeSpooledIsReportedLostNotSpooled() async throws {
        // The spool's folder cannot be created: its parent is a file.
        let blocker = NSTemporaryDirectory() + "lookout-blocker-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: blocker, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: blocker) }
        let gone = hub()
        try await gone.start()
        let deadURL = gone.url("/api/monitoring/ingest")
        await gone.shutdown()
        let pusher = Pusher(
            url: deadURL, token: nil, spool: Spool(folder: blocker + "/spool", limit: 10), timeout: .seconds(30),
            logger: logger)
        let outcome = await pusher.deliver(document(1), timestamp: 1)
        guard case .lost(let reason) = outcome else {
            Issue.record("expected lost, got \(outcome)")
            return
        }
        #expect(reason.contains("could not spool the document") && reason.contains("Not a directory"), "\(reason)")
    }
}
