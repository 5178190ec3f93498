import Hummingbird
import LookoutCore

/// The request context of the hub's router: Hummingbird's core storage plus who the
/// ingest route's middleware found the caller to be, so the handler can hold a per-VM
/// token to its own VM without reading the header a second time.
public struct HubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``IngestAuthMiddleware`` only; nil on every other route.
    var ingestCaller: IngestCaller?

    public init(source: Source) {
        self.coreContext = .init(source: source)
    }

    /// Who may push a document, as the ingest middleware decided.
    enum IngestCaller: Sendable, Equatable {
        /// No token is configured: ingest is open (loopback, or `--insecure-listen`).
        case open
        /// The main token: any VM's documents.
        case main
        /// A per-VM token: only documents whose `vm_id` is this one.
        case vm(VMID)
    }
}
