import Foundation
import Logging
import LookoutCollector
import LookoutCore
import NIOHTTP1
import Synchronization
import Testing

/// `lookout-agent upgrade`: version order, the hub's URL, the checks before a binary is
/// replaced, the replace and rollback steps on real files, and the daily cadence.
@Suite struct UpgradeTests {
    let folder: String = {
        let path = NSTemporaryDirectory() + "lookout-upgrade-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// A stand-in agent: a shell script that prints `version` for `--version`.
    static func script(printing version: String) -> [UInt8] {
        Array("#!/bin/sh\necho \(version)\n".utf8)
    }

    /// An installed "agent" in the temp folder, printing `version`.
    func installed(_ version: String) throws -> String {
        let path = folder + "/lookout-agent"
        try AtomicFile.write(Self.script(printing: version), to: path, mode: 0o755)
        return path
    }

    func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: Versions and URLs

    @Test(arguments: [
        ("0.1.9", "0.1.10"), ("0.1.0", "0.2.0"), ("0.9.9", "1.0.0"), ("1.0.0~rc1", "1.0.0"), ("1.0.0-beta", "1.0.0"),
        ("1.0.0", "1.0.0+1"), ("1.0.0~rc1", "1.0.0~rc2"), ("1.2", "1.2.1"),
    ])
    func versionsCompareFieldByFieldAsNumbers(_ older: String, _ newer: String) throws {
        let a = try #require(ReleaseVersion(older))
        let b = try #require(ReleaseVersion(newer))
        #expect(a < b)
        #expect(!(b < a))
        #expect(a != b)
    }

    @Test func missingFieldsCountAsZero() throws {
        #expect(try #require(ReleaseVersion("1.2")) == #require(ReleaseVersion("1.2.0")))
    }

    @Test(arguments: ["", "v1.0", "1..2", "1.0 ", "1.0/2", "abc", "1.0.x", "1.0\n"])
    func refusesWhatIsNotAReleaseNumber(_ text: String) {
        #expect(ReleaseVersion(text) == nil)
    }

    @Test(arguments: [
        ("https://hub.example.com/api/monitoring/ingest", "https://hub.example.com"),
        ("https://hub.example.com:8443/api/monitoring/ingest", "https://hub.example.com:8443"),
        ("http://10.0.0.5:8080/lookout/api/monitoring/ingest", "http://10.0.0.5:8080/lookout"),
        ("https://hub.example.com/api/monitoring/ingest?x=1", "https://hub.example.com"),
        ("https://hub.example.com/other/path", "https://hub.example.com"),
        ("http://[::1]:8080/api/monitoring/ingest", "http://[::1]:8080"),
    ])
    func theHubIsThePushURLBeforeTheIngestPath(_ ingest: String, _ hub: String) {
        #expect(HubReleases.hubBase(ofIngest: ingest) == hub)
    }

    @Test func checksumLinesParseAsSha256sumWritesThem() {
        let a = String(repeating: "a", count: 64)
        let b = String(repeating: "B", count: 64)
        let sums = HubReleases.checksums("\(a)  x86_64/lookout-agent\n\(b) *aarch64/lookout-agent\nnot a line\n")
        #expect(sums == ["x86_64/lookout-agent": a, "aarch64/lookout-agent": b.lowercased()])
    }

    // MARK: The replace step

    @Test func installKeepsThePreviousAndRenamesTheNewOneIn() throws {
        let path = try installed("0.1.0")
        let replacer = BinaryReplacer(path: path)
        try replacer.install(Self.script(printing: "0.1.9"), expecting: "0.1.9")
        #expect(try VersionProbe.version(of: path) == "0.1.9")
        #expect(try VersionProbe.version(of: replacer.previousPath) == "0.1.0")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o755)
        #expect(try leftovers().isEmpty)
    }

    @Test func aBinaryPrintingAnotherVersionChangesNothing() throws {
        let path = try installed("0.1.0")
        let replacer = BinaryReplacer(path: path)
        let error = try #require(throws: UpgradeError.self) {
            try replacer.install(Self.script(printing: "0.1.8"), expecting: "0.1.9")
        }
        #expect(error.description.contains("says it is 0.1.8, not 0.1.9"))
        #expect(try VersionProbe.version(of: path) == "0.1.0")
        #expect(!FileManager.default.fileExists(atPath: replacer.previousPath))
        #expect(try leftovers().isEmpty)
    }

    @Test func aBinaryThatDoesNotRunChangesNothing() throws {
        let path = try installed("0.1.0")
        let replacer = BinaryReplacer(path: path)
        let error = try #require(throws: UpgradeError.self) {
            try replacer.install(Array("\u{7F}ELF truncated".utf8), expecting: "0.1.9")
        }
        #expect(error.description.contains("does not run here"))
        #expect(try VersionProbe.version(of: path) == "0.1.0")
        #expect(try leftovers().isEmpty)
    }

    @Test func anUnwritableFolderChangesNothing() throws {
        guard geteuid() != 0 else {
            // Root writes anywhere; the refusal is then shown with a folder that does not exist.
            let replacer = BinaryReplacer(path: folder + "/missing/lookout-agent")
            let error = try #require(throws: UpgradeError.self) {
                try replacer.install(Self.script(printing: "0.1.9"), expecting: "0.1.9")
            }
            #expect(error.description.contains("could not write a new binary in"))
            return
        }
        let path = try installed("0.1.0")
        chmod(folder, 0o500)
        defer { chmod(folder, 0o700) }
        let error = try #require(throws: UpgradeError.self) {
            try BinaryReplacer(path: path).install(Self.script(printing: "0.1.9"), expecting: "0.1.9")
        }
        #expect(error.description.contains("could not write a new binary in"))
        #expect(try VersionProbe.version(of: path) == "0.1.0")
    }

    @Test func rollbackSwapsWithThePreviousSoASecondOneUndoesIt() throws {
        let path = try installed("0.1.0")
        let replacer = BinaryReplacer(path: path)
        try replacer.install(Self.script(printing: "0.1.9"), expecting: "0.1.9")
        #expect(try replacer.rollback() == "0.1.0")
        #expect(try VersionProbe.version(of: path) == "0.1.0")
        #expect(try VersionProbe.version(of: replacer.previousPath) == "0.1.9")
        #expect(try replacer.rollback() == "0.1.9")
        #expect(try VersionProbe.version(of: path) == "0.1.9")
        #expect(try leftovers().isEmpty)
    }

    @Test func rollbackWithoutAPreviousSaysSo() throws {
        let path = try installed("0.1.0")
        let error = try #require(throws: UpgradeError.self) { try BinaryReplacer(path: path).rollback() }
        #expect(error == .failed("there is no \(path).previous to roll back to (it is kept by an upgrade)"))
        #expect(try VersionProbe.version(of: path) == "0.1.0")
    }

    /// Temp files the replace step left in the folder.
    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".tmp") }
    }

    // MARK: Against a hub

    /// A hub serving `binary` for x86_64 as `version`; `listed` overrides the checksums it states.
    static func hub(
        binary: [UInt8], version: String, catalogSHA: String? = nil, sumsSHA: String? = nil, served: [UInt8]? = nil
    ) -> FixtureHTTPServer {
        let sha = SHA256.hex(binary)
        let catalog = """
            {"hub_version": "\(version)", "agents": [{"arch": "x86_64", "version": "\(version)", \
            "sha256": "\(catalogSHA ?? sha)", "size": \(binary.count), "path": "/install/lookout-agent/x86_64"}]}
            """
        return FixtureHTTPServer(routes: [
            "/install/agents.json": .json(catalog),
            "/install/SHA256SUMS": .text("\(sumsSHA ?? sha)  x86_64/lookout-agent\n"),
            "/install/lookout-agent/x86_64": .init(body: served ?? binary),
        ])
    }

    func upgrader(_ server: FixtureHTTPServer, path: String, current: String = "0.1.0") -> Upgrader {
        Upgrader(hub: server.url("/"), binaryPath: path, arch: "x86_64", currentVersion: current)
    }

    @Test func upgradesFromTheHubAndThenIsUpToDate() async throws {
        let path = try installed("0.1.0")
        let new = Self.script(printing: "0.1.9")
        try await Self.hub(binary: new, version: "0.1.9").run { server async throws in
            #expect(try await upgrader(server, path: path).run() == .upgraded(from: "0.1.0", to: "0.1.9"))
            #expect(try await upgrader(server, path: path, current: "0.1.9").run() == .upToDate("0.1.9"))
            #expect(
                try await upgrader(server, path: path, current: "0.1.10").run()
                    == .newerThanHub(current: "0.1.10", hub: "0.1.9"))
        }
        #expect(contents(path) == String(decoding: new, as: UTF8.self))
        #expect(try VersionProbe.version(of: path + ".previous") == "0.1.0")
    }

    @Test func checkOnlySaysWhatIsAvailableAndChangesNothing() async throws {
        let path = try installed("0.1.0")
        try await Self.hub(binary: Self.script(printing: "0.1.9"), version: "0.1.9").run { server async throws in
            #expect(
                try await upgrader(server, path: path).run(checkOnly: true)
                    == .available(current: "0.1.0", hub: "0.1.9"))
            #expect(server.requests.map(\.path) == ["/install/agents.json"])
        }
        #expect(try VersionProbe.version(of: path) == "0.1.0")
    }

    @Test func aTamperedDownloadChangesNothing() async throws {
        let path = try installed("0.1.0")
        let new = Self.script(printing: "0.1.9")
        let tampered = Self.script(printing: "0.1.7")
        try await Self.hub(binary: new, version: "0.1.9", served: tampered).run { server async throws in
            let error = try await #require(throws: UpgradeError.self) { try await upgrader(server, path: path).run() }
            #expect(error.description.hasPrefix("checksum mismatch"))
            #expect(error.exitCode == 1)
        }
        #expect(try VersionProbe.version(of: path) == "0.1.0")
        #expect(try leftovers().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: path + ".previous"))
    }

    @Test func aCatalogAndChecksumListThatDisagreeChangeNothing() async throws {
        let path = try installed("0.1.0")
        let new = Self.script(printing: "0.1.9")
        try await Self.hub(binary: new, version: "0.1.9", sumsSHA: String(repeating: "0", count: 64)).run {
            server async throws in
            let error = try await #require(throws: UpgradeError.self) { try await upgrader(server, path: path).run() }
            #expect(error.description.contains("agents.json and SHA256SUMS disagree"))
            #expect(!server.requests.contains { $0.path == "/install/lookout-agent/x86_64" })
        }
        #expect(try VersionProbe.version(of: path) == "0.1.0")
    }

    @Test func noBinaryForThisArchitectureNamesWhatTheHubHas() async throws {
        let path = try installed("0.1.0")
        try await Self.hub(binary: Self.script(printing: "0.1.9"), version: "0.1.9").run { server async throws in
            var upgrader = upgrader(server, path: path)
            upgrader.arch = "riscv64"
            let error = try await #require(throws: UpgradeError.self) { try await upgrader.run() }
            #expect(error.description.hasPrefix("the hub has no agent binary for riscv64 (it has: x86_64)"))
            #expect(error.exitCode == 1)
        }
    }

    @Test func anUnreachableHubIsTryLater() async throws {
        let path = try installed("0.1.0")
        let server = Self.hub(binary: [], version: "0.1.9")
        try await server.start()
        let url = server.url("/")
        await server.shutdown()
        let error = try await #require(throws: UpgradeError.self) {
            try await Upgrader(hub: url, binaryPath: path, arch: "x86_64", currentVersion: "0.1.0").run()
        }
        #expect(error.exitCode == 75)
        #expect(error.description.hasPrefix("the hub is unreachable"))
        #expect(try VersionProbe.version(of: path) == "0.1.0")
    }

    @Test func aBinaryOfTheDebianPackageIsLeftToThePackage() async throws {
        let path = try installed("0.1.0")
        try AtomicFile.write(Array("/.\n/usr/bin\n\(path)\n".utf8), to: folder + "/lookout-agent.list")
        try await Self.hub(binary: Self.script(printing: "0.1.9"), version: "0.1.9").run { server async throws in
            var upgrader = upgrader(server, path: path)
            upgrader.dpkgInfo = folder
            let error = try await #require(throws: UpgradeError.self) { try await upgrader.run() }
            #expect(error.description.contains("belongs to the lookout-agent package"))
        }
        #expect(try VersionProbe.version(of: path) == "0.1.0")
    }

    @Test func anotherArchitectureWithoutAVersionDoesNotStopThisOne() async throws {
        let path = try installed("0.1.0")
        let new = Self.script(printing: "0.1.9")
        let sha = SHA256.hex(new)
        let catalog = """
            {"hub_version": "0.1.9", "agents": [{"arch": "aarch64", "sha256": "\(sha)", "size": 1}, \
            {"arch": "x86_64", "version": "0.1.9", "sha256": "\(sha)", "size": \(new.count)}]}
            """
        let server = FixtureHTTPServer(routes: [
            "/install/agents.json": .json(catalog),
            "/install/SHA256SUMS": .text("\(sha)  x86_64/lookout-agent\n"),
            "/install/lookout-agent/x86_64": .init(body: new),
        ])
        try await server.run { server async throws in
            #expect(try await upgrader(server, path: path).run() == .upgraded(from: "0.1.0", to: "0.1.9"))
            var other = upgrader(server, path: path, current: "0.1.9")
            other.arch = "aarch64"
            let error = try await #require(throws: UpgradeError.self) { try await other.run() }
            #expect(error.description.contains("cannot tell the version of its aarch64 agent"))
        }
    }

    @Test func aHubAnswering5xxIsTryLater() async throws {
        let path = try installed("0.1.0")
        try await FixtureHTTPServer(routes: ["/install/agents.json": .json("{}", status: .serviceUnavailable)]).run {
            server async throws in
            let error = try await #require(throws: UpgradeError.self) { try await upgrader(server, path: path).run() }
            #expect(error.exitCode == 75)
            #expect(error.description.contains("answered 503"))
        }
        #expect(try VersionProbe.version(of: path) == "0.1.0")
    }

    @Test func aCatalogThatIsNotJSONIsNamed() async throws {
        let path = try installed("0.1.0")
        try await FixtureHTTPServer(routes: ["/install/agents.json": .text("<html>proxy login</html>")]).run {
            server async throws in
            let error = try await #require(throws: UpgradeError.self) { try await upgrader(server, path: path).run() }
            #expect(error.exitCode == 1)
            #expect(error.description.hasPrefix("/install/agents.json is not what a Lookout hub serves"))
        }
        #expect(try VersionProbe.version(of: path) == "0.1.0")
    }

    @Test func aHubWithoutTheInstallRoutesIsNamed() async throws {
        let path = try installed("0.1.0")
        try await FixtureHTTPServer(routes: [:]).run { server async throws in
            let error = try await #require(throws: UpgradeError.self) { try await upgrader(server, path: path).run() }
            #expect(error.description.contains("answered 404"))
            #expect(error.exitCode == 1)
        }
    }

    // MARK: The daily cadence

    final class Clock: Sendable {
        let time = Mutex<Date>(Date(timeIntervalSince1970: 1_800_000_000))
        var now: Date { time.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { time.withLock { $0 += seconds } }
    }

    @Test func autoUpgradeChecksAtMostOnceADay() throws {
        let clock = Clock()
        let schedule = AutoUpgrade(
            recordPath: AutoUpgrade.recordPath(forState: folder + "/state.json"),
            upgrader: Upgrader(hub: "http://127.0.0.1:9", binaryPath: folder + "/lookout-agent"), now: { clock.now })
        let logger = Logger(label: "test")
        #expect(schedule.claim(logger: logger))
        #expect(contents(folder + "/upgrade-check.json") == #"{"checked_at":1800000000}"#)
        clock.advance(3600)
        #expect(!schedule.claim(logger: logger))
        clock.advance(86_400 - 3600 - 1)
        #expect(!schedule.claim(logger: logger))
        clock.advance(1)
        #expect(schedule.claim(logger: logger))
        // A clock set back by more than a day would otherwise never check again.
        clock.advance(-3 * 86_400)
        #expect(schedule.claim(logger: logger))
        #expect(!schedule.claim(logger: logger))
    }

    @Test func aDamagedRecordCountsAsDueAndIsRewritten() throws {
        let clock = Clock()
        let record = folder + "/upgrade-check.json"
        try AtomicFile.write(Array("{not json".utf8), to: record)
        let schedule = AutoUpgrade(
            recordPath: record, upgrader: Upgrader(hub: "http://127.0.0.1:9", binaryPath: folder + "/x"),
            now: { clock.now })
        #expect(schedule.claim(logger: Logger(label: "test")))
        #expect(contents(record) == #"{"checked_at":1800000000}"#)
    }

    @Test func aFailedCheckStillWaitsADay() async throws {
        let clock = Clock()
        let path = try installed("0.1.0")
        let schedule = AutoUpgrade(
            recordPath: folder + "/upgrade-check.json",
            upgrader: Upgrader(hub: "http://127.0.0.1:9", binaryPath: path, arch: "x86_64"), now: { clock.now })
        let logger = Logger(label: "test")
        #expect(schedule.claim(logger: logger))
        #expect(await schedule.perform(logger: logger) == nil)
        #expect(!schedule.claim(logger: logger))
        #expect(try VersionProbe.version(of: path) == "0.1.0")
    }

    @Test func autoUpgradeNeedsAHubToUpgradeFrom() throws {
        let config = folder + "/agent.json"
        try AtomicFile.write(Array(#"{"auto_upgrade": true}"#.utf8), to: config)
        var options = AgentOptions()
        options.configPath = config
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(options, environment: [:], hostName: "host")
        }
        #expect(error.message.hasPrefix("auto_upgrade: the agent upgrades from the hub it pushes to"))
        options.pushURL = "https://hub.example.com/sub/api/monitoring/ingest"
        options.token = "t"
        #expect(
            try AgentSettings.resolve(options, environment: [:], hostName: "host").autoUpgradeHub
                == "https://hub.example.com/sub")
    }

    /// A binary fetched over plain http from another machine could be anyone's (its checksum
    /// travels the same way): auto_upgrade refuses such a hub; loopback is fine.
    @Test func autoUpgradeRefusesAPlainHTTPHubOnAnotherMachine() throws {
        let config = folder + "/agent.json"
        try AtomicFile.write(Array(#"{"auto_upgrade": true}"#.utf8), to: config)
        var options = AgentOptions()
        options.configPath = config
        options.token = "t"
        options.pushURL = "http://10.0.0.5:8080/api/monitoring/ingest"
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(options, environment: [:], hostName: "host")
        }
        #expect(error.message.contains("is plain http on another machine"), "\(error.message)")
        options.pushURL = "http://127.0.0.1:8080/api/monitoring/ingest"
        #expect(
            try AgentSettings.resolve(options, environment: [:], hostName: "host").autoUpgradeHub
                == "http://127.0.0.1:8080")
    }

    @Test func autoUpgradeMustBeABoolean() throws {
        let config = folder + "/agent.json"
        try AtomicFile.write(Array(#"{"auto_upgrade": "yes"}"#.utf8), to: config)
        let error = try #require(throws: CollectorError.self) { try AgentConfiguration.load(path: config) }
        #expect(error.message.contains("auto_upgrade"))
    }
}
