/// `status_page`: what the public status page (`/status`, `/api/status`) shows, and under
/// which names. Only the entries listed here ever reach the page, under their display
/// names; vm_ids, hostnames and figures stay behind the token.
///
/// ```json
/// "status_page": { "title": "Example status",
///                  "vms": { "web-1": "Website" },
///                  "services": { "web-1/site": "Website", "mail-1/imaps": "Mail" } }
/// ```
public struct StatusPageConfig: Sendable, Equatable {
    /// One service check of one VM: `<vm_id>/<service_id>` in the config.
    public struct ServiceKey: Sendable, Hashable, Comparable {
        public let vmID: VMID
        public let serviceID: String

        public init(vmID: VMID, serviceID: String) {
            self.vmID = vmID
            self.serviceID = serviceID
        }

        /// Parses `<vm_id>/<service_id>`: the vm_id ends at the first `/` (a vm_id holds none);
        /// the service id follows the agent's rule (1–128 UTF-8 bytes, no control characters).
        public init(parsing text: String) throws(ConfigError) {
            guard let slash = text.firstIndex(of: "/") else {
                throw ConfigError("expected \"<vm_id>/<service_id>\", e.g. \"web-1/site\"")
            }
            do {
                vmID = try VMID(validating: String(text[..<slash]))
            } catch {
                throw ConfigError("the vm_id before \"/\": \(error.description)")
            }
            serviceID = String(text[text.index(after: slash)...])
            guard !serviceID.isEmpty, serviceID.utf8.count <= Self.maxServiceIDBytes else {
                throw ConfigError("the service id after \"/\" must be 1 to \(Self.maxServiceIDBytes) bytes long")
            }
            if let (scalar, offset) = ControlCharacters.first(in: serviceID) {
                throw ConfigError(
                    "the service id holds the control character \(ControlCharacters.name(scalar)) at position \(offset)"
                )
            }
        }

        /// The agent's longest service id (`ServiceCheck.maxIDLength`).
        public static let maxServiceIDBytes = 128

        public static func < (lhs: ServiceKey, rhs: ServiceKey) -> Bool {
            (lhs.vmID, lhs.serviceID) < (rhs.vmID, rhs.serviceID)
        }
    }

    /// The page's heading and `<title>`.
    public var title: String
    /// VM → display name: the VM is up while it reports (not stale).
    public var vms: [VMID: String]
    /// Service check → display name: up while the check passes.
    public var services: [ServiceKey: String]

    public init(title: String, vms: [VMID: String] = [:], services: [ServiceKey: String] = [:]) {
        self.title = title
        self.vms = vms
        self.services = services
    }

    /// The longest title or display name, in characters.
    public static let maxNameLength = 100

    /// Why `name` cannot be shown as a title or display name, or nil when it can.
    static func problem(with name: String) -> String? {
        guard !name.isEmpty, name.count <= maxNameLength else {
            return "\"\(name.prefix(40))\" must be 1 to \(maxNameLength) characters long"
        }
        if let (scalar, offset) = ControlCharacters.first(in: name) {
            return "holds the control character \(ControlCharacters.name(scalar)) at position \(offset)"
        }
        return nil
    }
}

extension StatusPageConfig: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case title, vms, services }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func invalid(_ path: [any CodingKey], _ message: String) -> DecodingError {
            DecodingError.dataCorrupted(.init(codingPath: c.codingPath + path, debugDescription: message))
        }
        title = try c.decode(String.self, forKey: .title)
        if let problem = Self.problem(with: title) { throw invalid([CodingKeys.title], problem) }
        // Each listing maps a key (parsed, or refused naming the key) to a display name.
        func names<Key: Hashable>(
            under field: CodingKeys, _ parse: (String) throws -> Key
        ) throws -> [Key: String] {
            var names: [Key: String] = [:]
            for (key, name) in try c.decodeIfPresent([String: String].self, forKey: field) ?? [:] {
                let path: [any CodingKey] = [field, AnyCodingKey(stringValue: key)]
                do {
                    names[try parse(key)] = name
                } catch {
                    throw invalid(path, String(describing: error))
                }
                if let problem = Self.problem(with: name) { throw invalid(path, problem) }
            }
            return names
        }
        let vms = try names(under: .vms) { try VMID(validating: $0) }
        let services = try names(under: .services) { try ServiceKey(parsing: $0) }
        guard !vms.isEmpty || !services.isEmpty else {
            throw invalid([], "lists nothing: name at least one entry under \"vms\" or \"services\"")
        }
        self.vms = vms
        self.services = services
    }
}
