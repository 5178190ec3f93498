import Hummingbird
import LookoutCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `POST /api/monitoring/enrollments`: what `lookout enroll` does, for the dashboard's Add
/// VM dialog. Registered in the main-token group (``Hub/router()``); the answer holds the
/// code once (only its hash is stored) and the command to run on the new VM.
struct EnrollmentRoutes: Sendable {
    typealias Context = HubRequestContext
    let enroller: Enroller
    let live: LiveTokens
    let publicURL: String?
    let now: @Sendable () -> Date

    /// The body: `vm_id`; `hub`, the address the dashboard was opened at (used when the
    /// config has no `public_url`); `valid`, how long the code works (`1h` by default).
    struct CreateRequest: Decodable {
        var vmID: String
        var hub: String?
        var valid: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case vmID = "vm_id", hub, valid }
        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            vmID = try c.decode(String.self, forKey: .vmID)
            hub = try c.decodeIfPresent(String.self, forKey: .hub)
            valid = try c.decodeIfPresent(String.self, forKey: .valid)
        }
    }

    struct Created: Encodable {
        let vmID: VMID
        let code: String
        let command: String
        let expiresAt: String
        enum CodingKeys: String, CodingKey { case vmID = "vm_id", code, command, expiresAt = "expires_at" }
    }

    func add(to group: RouterGroup<Context>) {
        group.post("enrollments") { request, _ in try await create(request) }
    }

    func create(_ request: Request) async throws -> Response {
        var request = request
        let ask = try await request.decodeJSONBody(CreateRequest.self, limit: 4096, what: "enrollment")
        if let refusal = Enroller.refusal(live.current) { throw HTTPError(.forbidden, message: refusal) }
        let vm: VMID
        do {
            vm = try VMID(validating: ask.vmID)
        } catch {
            throw HTTPError(.badRequest, message: "vm_id: \(error)")
        }
        guard let validity = Silence.duration(ask.valid ?? "1h") else {
            throw HTTPError(
                .badRequest, message: "valid: \"\((ask.valid ?? "").prefix(20))\" is not a duration such as 1h")
        }
        guard let given = publicURL ?? ask.hub else {
            throw HTTPError(
                .badRequest, message: "no hub address: set public_url in the hub's config, or send \"hub\"")
        }
        let hub: String
        switch InstallCommand.hubAddress(given) {
        case .success(let address): hub = address
        case .failure(let error): throw HTTPError(.badRequest, message: error.message)
        }
        let made: (code: String, enrollment: Enrollment)
        do {
            made = try await enroller.codes.create(vm: vm, validity: validity, now: now())
        } catch {
            throw HTTPError(error.kind == .usage ? .badRequest : .internalServerError, message: error.message)
        }
        let answer = Created(
            vmID: vm, code: made.code, command: InstallCommand.line(hub: hub, code: made.code),
            expiresAt: Timestamp.format(made.enrollment.expiresAt))
        return .json(ByteBuffer(bytes: try JSONEncoder.lookout().encode(answer)), status: .created)
    }
}
