/// What the hub did with a document handed to it, by either transport.
///
/// The folder watcher and `POST /api/monitoring/ingest` both report it, so logs and API
/// answers say the same thing. `storedOlder` is not an error: sync tools deliver files out of
/// order, and the sample still belongs in history; it only does not replace the VM's latest.
public enum IngestOutcome: Sendable, Equatable {
    /// A new sample, now the VM's latest.
    case stored
    /// A new sample for history, older than the VM's latest (a file that went back in time).
    case storedOlder
    /// `(vm_id, timestamp)` is already stored.
    case duplicate
    /// The document is not acceptable (e.g. its clock is far ahead), with the reason.
    case rejected(String)
    /// The hub could not store it right now (disk full, database locked): try again later.
    case failed(String)
}
