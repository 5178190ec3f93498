import LookoutCore
import Testing

@Suite struct VMIDTests {
    @Test(arguments: [
        "oci-f-micro_1", "a", "web.1", "A-Z_0.9", String(repeating: "x", count: 64), "x..", "outbox1", "history.old",
    ])
    func acceptsValidIDs(_ text: String) throws {
        #expect(try VMID(validating: text).rawValue == text)
    }

    @Test(arguments: [
        ("", "empty"), (".", "'.' and '..'"), ("..", "'.' and '..'"), ("../x", "starts with '.'"),
        ("a/b", "only letters"), ("%2e%2e", "only letters"), ("a b", "only letters"), ("é", "only letters"),
        (String(repeating: "x", count: 65), "longer than 64"), ("x\0", "only letters"),
        (".hidden", "starts with '.'"), ("..x", "starts with '.'"), (".stfolder", "starts with '.'"),
        ("outbox", "hub's own files"), ("history", "hub's own files"), ("alerts.json", "hub's own files"),
        ("silences.json", "hub's own files"), ("lookout.sqlite", "hub's own files"),
        ("lookout.sqlite-wal", "hub's own files"),
    ])
    func rejectsInvalidIDsSayingWhy(_ text: String, reason: String) {
        #expect(throws: VMIDError.self) { try VMID(validating: text) }
        #expect(VMID.problem(with: text)?.contains(reason) == true)
    }
}
