import Foundation
import LookoutCore
import Testing

/// The example document of DESIGN §2, verbatim.
let designExample = """
    {
      "vm_id": "oci-f-micro_1",
      "timestamp": "2025-12-09T10:30:00Z",
      "system": {
        "cpu": { "percent": 23.5, "cores": 1 },
        "memory": { "total_mb": 1024, "used_mb": 756, "available_mb": 268, "percent": 73.8 },
        "disk": { "total_gb": 47, "used_gb": 12, "percent": 25.5 },
        "uptime": { "seconds": 432000, "human": "5 days" },
        "load": { "1m": 0.08, "5m": 0.05, "15m": 0.02 }
      },
      "containers": [
        { "name": "mailu-front", "status": "running", "cpu_percent": 0.5, "memory_mb": 45 }
      ],
      "services": [
        { "id": "mail", "healthy": true, "response_ms": 125 }
      ]
    }
    """

@Suite struct DocumentTests {
    @Test func decodesTheDesignExample() throws {
        let document = try MetricsDocument.decode(Array(designExample.utf8))
        #expect(document.vmID.rawValue == "oci-f-micro_1")
        #expect(document.timestamp == Date(timeIntervalSince1970: 1_765_276_200))
        #expect(document.system.memory.availableMB == 268)
        #expect(document.system.load.fifteen == 0.02)
        #expect(document.containers.first?.memoryMB == 45)
        #expect(document.services.first?.responseMS == 125)
    }

    @Test func reEncodesTheDesignExampleWithTheSameFieldsAndValues() throws {
        let document = try MetricsDocument.decode(Array(designExample.utf8))
        let original = try JSONSerialization.jsonObject(with: Data(designExample.utf8)) as? NSDictionary
        let encoded = try JSONSerialization.jsonObject(with: document.encoded()) as? NSDictionary
        #expect(original == encoded)
        // Whole numbers stay whole on the wire, as existing dashboards expect.
        let text = String(decoding: document.encoded(), as: UTF8.self)
        #expect(text.contains(#""total_mb":1024,"#))
        #expect(text.contains(#""timestamp":"2025-12-09T10:30:00Z""#))
    }

    @Test func extraFieldsRoundTrip() throws {
        var document = try MetricsDocument.decode(Array(designExample.utf8))
        document.intervalSeconds = 300
        document.services[0].error = "status 500"
        let again = try MetricsDocument.decode(Array(document.encoded()))
        #expect(again == document)
    }

    @Test func missingListsMeanEmpty() throws {
        let text = designExample.replacingOccurrences(of: #""containers""#, with: #""ignored_containers""#)
        let document = try MetricsDocument.decode(Array(text.utf8))
        #expect(document.containers.isEmpty)
    }

    @Test(arguments: [
        (#""total_mb": 1024"#, #""total_mb": "lots""#, "system.memory.total_mb: expected a number"),
        (#""cores": 1"#, #""cores": null"#, "system.cpu.cores: expected a whole number, found null"),
        (#""vm_id": "oci-f-micro_1""#, #""vm_id": "../etc""#, "vm_id: invalid vm_id"),
        (#""vm_id": "oci-f-micro_1""#, #""vm_id": ".."#, "not valid JSON"),
        (
            #""timestamp": "2025-12-09T10:30:00Z""#, #""timestamp": "yesterday""#,
            "timestamp: \"yesterday\" is not a timestamp"
        ),
        (#""name": "mailu-front", "#, "", "containers[0].name: missing"),
        (#""percent": 73.8"#, #""percent": 173.8"#, "system.memory.percent: 173.8 is not a percentage"),
        (#""15m": 0.02"#, #""15m": -1"#, "system.load.15m: -1.0 is negative"),
        (#""healthy": true"#, #""healthy": "yes""#, "services[0].healthy: expected true or false"),
    ])
    func rejectsBadDocumentsNamingTheField(original: String, replacement: String, expected: String) throws {
        let text = designExample.replacingOccurrences(of: original, with: replacement)
        #expect(text != designExample)
        let error = try #require(throws: DocumentError.self) { try MetricsDocument.decode(Array(text.utf8)) }
        #expect(error.description.contains(expected), "\(error)")
    }

    /// Each string field of the document, with a control character put in by JSON escape.
    /// (vm_id is covered by its own rule; the timestamp must parse.)
    @Test(arguments: [
        (#""name": "mailu-front""#, #""name": "mailu\r\nfront""#, "containers[0].name", "U+000D"),
        (#""status": "running""#, #""status": "run\u0000ning""#, "containers[0].status", "U+0000"),
        (#""id": "mail""#, #""id": "ma\nil""#, "services[0].id", "U+000A"),
        (#""response_ms": 125"#, #""response_ms": 125, "error": "bad\u001b[31m""#, "services[0].error", "U+001B"),
        (#""human": "5 days""#, #""human": "5\tdays""#, "system.uptime.human", "U+0009"),
        (#""percent": 25.5"#, #""percent": 25.5, "path": "/\u0085x""#, "system.disk.path", "U+0085"),
        (#""vm_id": "oci-f-micro_1""#, #""vm_id": "oci-f-micro_1", "agent": "a\u007fb""#, "agent", "U+007F"),
        (#""vm_id": "oci-f-micro_1""#, #""vm_id": "oci-f\nmicro_1""#, "vm_id", "invalid vm_id"),
        (#""human": "5 days" }"#, #""human": "5 days" }, "boot_id": "6f1c\r""#, "system.boot_id", "U+000D"),
    ])
    func refusesControlCharactersInEveryStringField(
        original: String, replacement: String, path: String, expected: String
    ) throws {
        let text = designExample.replacingOccurrences(of: original, with: replacement)
        #expect(text != designExample)
        let error = try #require(throws: DocumentError.self) { try MetricsDocument.decode(Array(text.utf8)) }
        #expect(error.path == path, "\(error)")
        #expect(error.description.contains(expected), "\(error)")
    }

    @Test func controlCharactersAreJudgedPerScalarNotPerCharacter() {
        // "\r\n" is one Character in Swift; a Character-based check would miss it.
        #expect("a\r\nb".containsControlCharacter)
        #expect("a\r\nb".replacingControlCharacters() == "a  b")
        #expect(!"Grüße, 東京 ✓".containsControlCharacter)
        #expect("x\u{85}y\u{7F}".replacingControlCharacters(with: "?") == "x?y?")
        #expect(ControlCharacters.first(in: "ab\u{1B}")?.offset == 2)
    }

    @Test func rejectsHugeAndNonJSONInput() throws {
        let huge = [UInt8](repeating: UInt8(ascii: " "), count: MetricsDocument.maxEncodedSize + 1)
        let tooBig = try #require(throws: DocumentError.self) { try MetricsDocument.decode(huge) }
        #expect(tooBig.description.contains("more than"))
        let garbage = try #require(throws: DocumentError.self) {
            try MetricsDocument.decode(Array("{\"vm_id\": ".utf8))
        }
        #expect(garbage.description.contains("not valid JSON"))
        let list = try #require(throws: DocumentError.self) { try MetricsDocument.decode(Array("[1,2]".utf8)) }
        #expect(list.description.contains("expected an object"))
    }

    @Test(arguments: [
        (0.0, "0 minutes"), (59, "0 minutes"), (60, "1 minute"), (720, "12 minutes"),
        (3600, "1 hour"), (10_800, "3 hours"), (86_400, "1 day"), (432_000, "5 days"),
    ])
    func uptimeHuman(seconds: Double, human: String) {
        #expect(UptimeMetrics.humanize(seconds: seconds) == human)
    }
}

/// The example of issue 11: every optional `system` field an agent may add.
let extrasExample = designExample.replacingOccurrences(
    of: #""load": { "1m": 0.08, "5m": 0.05, "15m": 0.02 }"#,
    with: #"""
        "load": { "1m": 0.08, "5m": 0.05, "15m": 0.02 },
            "swap": { "total_mb": 1024, "used_mb": 12, "percent": 1.2 },
            "network": { "rx_bytes_per_s": 5120.4, "tx_bytes_per_s": 880.0, "rx_bytes": 123456789, "tx_bytes": 98765432,
              "interfaces": [ { "name": "eth0", "rx_bytes_per_s": 5120.4, "tx_bytes_per_s": 880.0,
                                "rx_bytes": 123456789, "tx_bytes": 98765432 } ] },
            "disk_io": { "device": "vda", "read_bytes_per_s": 40960.0, "write_bytes_per_s": 204800.0, "util_percent": 3.1 },
            "filesystems": [ { "path": "/", "device": "/dev/vda1", "fstype": "ext4", "total_gb": 47, "used_gb": 12,
                               "percent": 25.5 },
                             { "path": "/srv/backup", "device": "/dev/vdb", "fstype": "xfs", "total_gb": 100,
                               "used_gb": 91, "percent": 91.0 } ],
            "temperatures": [ { "sensor": "coretemp package_id_0", "celsius": 48.0 } ],
            "boot_id": "6f1c2a4e-3b8d-4e51-9a0c-2d7e5b9f1a38"
        """#)

/// Validation of the issue-11 fields of `system` (SystemExtras.swift, `validateExtras`).
@Suite struct DocumentExtrasTests {
    @Test func theIssueExampleDecodesAndRoundTrips() throws {
        #expect(extrasExample != designExample)
        let document = try MetricsDocument.decode(Array(extrasExample.utf8))
        #expect(document.system.swap == SwapMetrics(totalMB: 1024, usedMB: 12, percent: 1.2))
        #expect(document.system.network?.interfaces.map(\.name) == ["eth0"])
        #expect(document.system.diskIO?.device == "vda")
        #expect(document.system.filesystems?.map(\.path) == ["/", "/srv/backup"])
        #expect(document.system.temperatures == [TemperatureReading(sensor: "coretemp package_id_0", celsius: 48)])
        #expect(try MetricsDocument.decode(Array(document.encoded())) == document)
    }

    @Test func aDocumentWithoutThemStillDecodes() throws {
        let document = try MetricsDocument.decode(Array(designExample.utf8))
        let system = document.system
        #expect(system.swap == nil && system.network == nil && system.diskIO == nil)
        #expect(system.filesystems == nil && system.temperatures == nil && system.bootID == nil)
        let encoded = String(decoding: document.encoded(), as: UTF8.self)
        #expect(!encoded.contains("network") && !encoded.contains("swap") && !encoded.contains("temperatures"))
    }

    @Test(arguments: [
        (
            #""network": { "rx_bytes_per_s": 5120.4"#, #""network": { "rx_bytes_per_s": -1"#,
            "system.network.rx_bytes_per_s", "-1.0 is negative"
        ),
        (#""tx_bytes": 98765432,"#, #""tx_bytes": -2,"#, "system.network.tx_bytes", "is negative"),
        (
            #""name": "eth0", "rx_bytes_per_s": 5120.4, "tx_bytes_per_s": 880.0"#,
            #""name": "eth0", "rx_bytes_per_s": 5120.4, "tx_bytes_per_s": -880.0"#,
            "system.network.interfaces[0].tx_bytes_per_s", "-880.0 is negative"
        ),
        (
            #""read_bytes_per_s": 40960.0"#, #""read_bytes_per_s": -0.5"#, "system.disk_io.read_bytes_per_s",
            "is negative"
        ),
        (#""percent": 1.2"#, #""percent": 100.1"#, "system.swap.percent", "100.1 is not a percentage"),
        (#""used_mb": 12"#, #""used_mb": -12"#, "system.swap.used_mb", "is negative"),
        (#""util_percent": 3.1"#, #""util_percent": 250"#, "system.disk_io.util_percent", "is not a percentage"),
        (#""percent": 91.0"#, #""percent": 191.0"#, "system.filesystems[1].percent", "is not a percentage"),
        (#""path": "/srv/backup""#, #""path": "srv/backup""#, "system.filesystems[1].path", "absolute path"),
        (#""path": "/srv/backup""#, #""path": """#, "system.filesystems[1].path", "must be 1 to 4096 bytes long"),
        (#""celsius": 48.0"#, #""celsius": 400"#, "system.temperatures[0].celsius", "not a temperature"),
        (#""celsius": 48.0"#, #""celsius": -120"#, "system.temperatures[0].celsius", "not a temperature"),
        (#""celsius": 48.0"#, #""celsius": "hot""#, "system.temperatures[0].celsius", "expected a number"),
        (#""name": "eth0""#, #""name": "eth\u00000""#, "system.network.interfaces[0].name", "U+0000"),
        (#""name": "eth0""#, #""name": "eth0\n""#, "system.network.interfaces[0].name", "U+000A"),
        (#""path": "/srv/backup""#, #""path": "/srv/\u001bbackup""#, "system.filesystems[1].path", "U+001B"),
        (#""device": "/dev/vdb""#, #""device": "/dev/vdb\r""#, "system.filesystems[1].device", "U+000D"),
        (#""fstype": "xfs""#, #""fstype": "x\u0085fs""#, "system.filesystems[1].fstype", "U+0085"),
        (#""device": "vda""#, #""device": "vd\ta""#, "system.disk_io.device", "U+0009"),
        (
            #""sensor": "coretemp package_id_0""#, #""sensor": "core\u007ftemp""#, "system.temperatures[0].sensor",
            "U+007F"
        ),
        (
            #""name": "eth0""#, #""name": "\#(String(repeating: "e", count: 65))""#,
            "system.network.interfaces[0].name",
            "must be 1 to 64 bytes long"
        ),
        (#""name": "eth0""#, #""name": """#, "system.network.interfaces[0].name", "must be 1 to 64 bytes long"),
        // Figures past 2^64 (a hostile 1e300 would overflow sums and Int conversions later).
        (#""tx_bytes": 98765432,"#, #""tx_bytes": 1e300,"#, "system.network.tx_bytes", "larger than 2^64"),
        (#""used_gb": 91,"#, #""used_gb": 2e19,"#, "system.filesystems[1].used_gb", "larger than 2^64"),
        (#""seconds": 432000"#, #""seconds": 1e300"#, "system.uptime.seconds", "larger than 2^64"),
        (#""seconds": 432000"#, #""seconds": 2e10"#, "system.uptime.seconds", "more than 300 years"),
        // A name twice in one list: two series with one label set break a Prometheus scrape.
        (#""path": "/srv/backup""#, #""path": "/""#, "system.filesystems[1].path", "appears twice"),
        (
            #""temperatures": [ { "sensor": "coretemp package_id_0", "celsius": 48.0 } ]"#,
            #""temperatures": [ { "sensor": "a", "celsius": 48.0 }, { "sensor": "a", "celsius": 50 } ]"#,
            "system.temperatures[1].sensor", "appears twice"
        ),
        (
            #""rx_bytes": 123456789, "tx_bytes": 98765432 } ] }"#,
            #""rx_bytes": 123456789, "tx_bytes": 98765432 }, { "name": "eth0", "rx_bytes_per_s": 1, "tx_bytes_per_s": 1, "rx_bytes": 1, "tx_bytes": 1 } ] }"#,
            "system.network.interfaces[1].name", "appears twice"
        ),
    ])
    func rejectsBadExtrasNamingTheField(original: String, replacement: String, path: String, expected: String) throws {
        let text = extrasExample.replacingOccurrences(of: original, with: replacement)
        #expect(text != extrasExample)
        let error = try #require(throws: DocumentError.self) { try MetricsDocument.decode(Array(text.utf8)) }
        #expect(error.path == path, "\(error)")
        #expect(error.description.contains(expected), "\(error)")
    }

    @Test(arguments: [
        ("interfaces", "system.network.interfaces"), ("filesystems", "system.filesystems"),
        ("temperatures", "system.temperatures"),
    ])
    func refusesTooManyEntries(_ list: String, path: String) throws {
        var document = try MetricsDocument.decode(Array(extrasExample.utf8))
        let count = 257
        switch list {
        case "interfaces":
            let one = try #require(document.system.network?.interfaces.first)
            document.system.network?.interfaces = (0..<count).map {
                var i = one; i.name = "eth\($0)"; return i
            }
        case "filesystems":
            let one = try #require(document.system.filesystems?.first)
            document.system.filesystems = (0..<count).map {
                var f = one; f.path = "/mnt/\($0)"; return f
            }
        default:
            document.system.temperatures = (0..<count).map { TemperatureReading(sensor: "s\($0)", celsius: 40) }
        }
        let error = try #require(throws: DocumentError.self) { try document.validate() }
        #expect(error.path == path && error.description.contains("257 entries, more than 256"), "\(error)")
        // 256 is still fine.
        switch list {
        case "interfaces": document.system.network?.interfaces.removeLast()
        case "filesystems": document.system.filesystems?.removeLast()
        default: document.system.temperatures?.removeLast()
        }
        try document.validate()
    }
}
