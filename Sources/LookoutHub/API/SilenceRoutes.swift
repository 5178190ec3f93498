import Hummingbird
import LookoutCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `GET/POST/DELETE /api/monitoring/silences`: what `lookout silence list|add|remove` does,
/// over HTTP for the dashboard. Registered in the main-token group (``Hub/router()``); the
/// next alert pass applies a change (the alerts' `silenced` marks follow within a minute).
struct SilenceRoutes: Sendable {
    typealias Context = HubRequestContext
    let file: SilenceFile
    let now: @Sendable () -> Date

    /// The body of a POST: `vm`, optional `alert` (default `all`), `for` (`2h`) or `until`
    /// (RFC 3339), `reason`.
    struct AddRequest: Decodable {
        var vm: String
        var alert: String?
        var duration: String?
        var until: String?
        var reason: String

        enum CodingKeys: String, CodingKey, CaseIterable { case vm, alert, duration = "for", until, reason }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            vm = try c.decode(String.self, forKey: .vm)
            alert = try c.decodeIfPresent(String.self, forKey: .alert)
            duration = try c.decodeIfPresent(String.self, forKey: .duration)
            until = try c.decodeIfPresent(String.self, forKey: .until)
            reason = try c.decode(String.self, forKey: .reason)
        }
    }

    func add(to group: RouterGroup<Context>) {
        group.get("silences") { _, _ in try list() }
        group.post("silences") { request, _ in try await create(request) }
        group.delete("silences/:id") { _, context in try await remove(context) }
    }

    func list() throws -> Response {
        let silences: [Silence]
        do {
            silences = try file.load(now: now())
        } catch {
            throw HTTPError(.internalServerError, message: error.message)
        }
        return .json(try Self.encode(["silences": silences]))
    }

    func create(_ request: Request) async throws -> Response {
        var request = request
        let add = try await request.decodeJSONBody(AddRequest.self, limit: 16_384, what: "silence")
        let time = now()
        let end: Date
        do {
            end = try Silence.end(for: add.duration, until: add.until, now: time)
        } catch {
            throw HTTPError(.badRequest, message: error.message)
        }
        let silence: Silence
        do {
            silence = try await file.add(
                vm: add.vm, alert: add.alert ?? "all", reason: add.reason, endsAt: end, now: time)
        } catch {
            throw HTTPError(error.isUsage ? .badRequest : .internalServerError, message: error.message)
        }
        return .json(try Self.encode(silence), status: .created)
    }

    func remove(_ context: Context) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let silence: Silence
        do {
            silence = try await file.remove(id: id, now: now())
        } catch {
            throw HTTPError(error.isUsage ? .notFound : .internalServerError, message: error.message)
        }
        return .json(try Self.encode(["removed": silence]))
    }

    static func encode(_ value: some Encodable) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONEncoder.lookout(pretty: false).encode(value))
    }
}
