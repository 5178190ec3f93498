import Foundation
import Logging
import LookoutCore
import Synchronization
import Testing

@testable import LookoutHub

/// The enrollment code store: codes are random, stored only as hashes, single use, end on
/// time (an injected clock), and a damaged file is named, never overwritten.
@Suite struct EnrollmentTests {
    static let now = Date(timeIntervalSince1970: 1_765_276_200)  // 2025-12-09T10:30:00Z
    let folder = NSTemporaryDirectory() + "lookout-enroll-\(UUID().uuidString)"
    var web1: VMID { try! VMID(validating: "web-1") }

    init() throws {
        try AtomicFile.makeDirectories(folder)
    }

    @Test func codesAreEightSymbolsOfTheUnambiguousAlphabetInTwoGroups() {
        var seen = Set<String>()
        for _ in 0..<200 {
            let code = EnrollmentCode.generate()
            #expect(code.count == 9 && code.dropFirst(4).first == "-", "\(code)")
            #expect(code.replacingOccurrences(of: "-", with: "").utf8.allSatisfy(EnrollmentCode.alphabet.contains))
            #expect(!code.contains("0") && !code.contains("O") && !code.contains("1") && !code.contains("I"))
            seen.insert(code)
        }
        #expect(seen.count == 200, "200 codes of 40 bits should not repeat")
        #expect(EnrollmentCode.alphabet.count == 32)  // 5 bits a symbol, 40 bits a code
    }

    @Test(arguments: [
        ("7F3K-Q9PX", "7F3KQ9PX"), ("7f3k-q9px", "7F3KQ9PX"), ("7F3KQ9PX", "7F3KQ9PX"), (" 7F3K Q9PX", "7F3KQ9PX"),
    ])
    func aCodeIsAcceptedAsTypedByHand(_ typed: String, _ canonical: String) {
        #expect(EnrollmentCode.canonical(typed) == canonical)
    }

    @Test(arguments: ["", "7F3K-Q9P", "7F3K-Q9PXX", "7F3K-Q9P0", "7F3K-Q9PI", "7F3K\u{0}Q9PX", "7F3K\nQ9PX", "../../x"])
    func malformedCodesAreNoCodes(_ text: String) {
        #expect(EnrollmentCode.canonical(text) == nil)
    }

    @Test func theFileHoldsTheHashNeverTheCode() async throws {
        let file = EnrollmentFile(dataFolder: folder)
        let (code, entry) = try await file.create(vm: web1, validity: 3600, now: Self.now)
        let text = try String(contentsOfFile: file.path, encoding: .utf8)
        let canonical = try #require(EnrollmentCode.canonical(code))
        #expect(!text.contains(canonical) && !text.contains(code))
        #expect(text.contains(entry.codeSHA256) && entry.codeSHA256 == EnrollmentCode.hash(canonical: canonical))
        #expect(entry.expiresAt == Self.now.addingTimeInterval(3600))
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func theFileBelongsToTheDataFoldersOwnerSoTheHubCanReadIt() async throws {
        // Run as root (CI), the folder is given to nobody as the package gives it to `lookout`;
        // run as another user, the file stays that user's, the folder's owner too.
        let nobody: uid_t = 65_534
        if geteuid() == 0 { #expect(chown(folder, nobody, nobody) == 0) }
        let file = EnrollmentFile(dataFolder: folder)
        _ = try await file.create(vm: web1, validity: 3600, now: Self.now)
        let owner = try FileManager.default.attributesOfItem(atPath: file.path)[.ownerAccountID] as? Int
        #expect(owner == Int(geteuid() == 0 ? nobody : geteuid()))
        // The lock too: a root-owned 0600 lock could not even be opened read-only by the hub.
        let lock = try FileManager.default.attributesOfItem(atPath: "\(folder)/.enrollments.lock")
        #expect(lock[.ownerAccountID] as? Int == Int(geteuid() == 0 ? nobody : geteuid()))
        #expect(lock[.posixPermissions] as? Int == 0o644)
    }

    @Test func aCodeWorksOnceThenSaysItWasUsed() async throws {
        let file = EnrollmentFile(dataFolder: folder)
        let (code, _) = try await file.create(vm: web1, validity: 3600, now: Self.now)
        let vm = try await file.trade(code: code, now: Self.now.addingTimeInterval(60)) { (vm: VMID) in vm }
        #expect(vm == web1)
        let error = await #expect(throws: EnrollmentError.self) {
            try await file.trade(code: code, now: Self.now.addingTimeInterval(120)) { (vm: VMID) in vm }
        }
        #expect(
            error?.kind == .refused && error?.message.contains("already used") == true, "\(String(describing: error))")
        #expect(error?.message.contains("lookout enroll web-1") == true)
    }

    @Test func aCodeEndsWhenItExpires() async throws {
        let file = EnrollmentFile(dataFolder: folder)
        let (code, _) = try await file.create(vm: web1, validity: 3600, now: Self.now)
        let error = await #expect(throws: EnrollmentError.self) {
            try await file.trade(code: code, now: Self.now.addingTimeInterval(3600)) { (vm: VMID) in vm }
        }
        #expect(error?.kind == .refused && error?.message.contains("expired") == true)
        // One second before the end it still works.
        let (other, _) = try await file.create(vm: web1, validity: 3600, now: Self.now)
        let vm = try await file.trade(code: other, now: Self.now.addingTimeInterval(3599)) { (vm: VMID) in vm }
        #expect(vm == web1)
    }

    @Test func aWrongCodeIsRefusedAndAMalformedOneIsAUsageError() async throws {
        let file = EnrollmentFile(dataFolder: folder)
        _ = try await file.create(vm: web1, validity: 3600, now: Self.now)
        let wrong = await #expect(throws: EnrollmentError.self) {
            try await file.trade(code: "2222-2222", now: Self.now) { (vm: VMID) in vm }
        }
        #expect(wrong?.kind == .refused && wrong?.message.contains("wrong") == true)
        let malformed = await #expect(throws: EnrollmentError.self) {
            try await file.trade(code: "7F3K\u{7}Q9PX", now: Self.now) { (vm: VMID) in vm }
        }
        #expect(malformed?.kind == .usage && malformed?.message.contains("\u{7}") == false)
    }

    @Test func aFailedIssueLeavesTheCodeUsable() async throws {
        let file = EnrollmentFile(dataFolder: folder)
        let (code, _) = try await file.create(vm: web1, validity: 3600, now: Self.now)
        await #expect(throws: EnrollmentError.self) {
            try await file.trade(code: code, now: Self.now) { (_: VMID) throws(EnrollmentError) -> VMID in
                throw EnrollmentError("disk full", kind: .file)
            }
        }
        let vm = try await file.trade(code: code, now: Self.now) { (vm: VMID) in vm }
        #expect(vm == web1)
    }

    @Test func aTokenFileThatCannotBeWrittenFailsTheTradeAndKeepsTheCode() async throws {
        let live = LiveTokens(APITokens(main: "main-token-0123456789"))
        let broken = Enroller(
            dataFolder: folder, tokensPath: "\(folder)/missing-folder/vm-tokens.json", live: live,
            logger: Logger(label: "test"), now: { Self.now })
        let (code, _) = try await broken.codes.create(vm: web1, validity: 3600, now: Self.now)
        let error = await #expect(throws: EnrollmentError.self) { try await broken.trade(code: code) }
        #expect(error?.kind == .file && error?.message.contains("missing-folder") == true)
        #expect(live.current.perVM.isEmpty)
        let working = Enroller(
            dataFolder: folder, tokensPath: "\(folder)/vm-tokens.json", live: live, logger: Logger(label: "test"),
            now: { Self.now })
        let trade = try await working.trade(code: code)
        #expect(trade.vmID == web1 && live.current.perVM == [web1: trade.token])
    }

    /// Guessing is capped for the whole hub: after 30 refused codes in a minute even the right
    /// one is not looked up (429) until the minute is over; then it trades.
    @Test func aFloodOfWrongCodesStopsLookupsForAMinute() async throws {
        let clock = Mutex(Self.now)
        let live = LiveTokens(APITokens(main: "main-token-0123456789"))
        let enroller = Enroller(
            dataFolder: folder, tokensPath: "\(folder)/vm-tokens.json", live: live, logger: Logger(label: "test"),
            now: { clock.withLock { $0 } })
        let (code, _) = try await enroller.codes.create(vm: web1, validity: 3600, now: Self.now)
        for _ in 0..<WrongCodeBudget.perMinute {
            let error = await #expect(throws: EnrollmentError.self) { try await enroller.trade(code: "2222-2222") }
            #expect(error?.kind == .refused)
        }
        let held = await #expect(throws: EnrollmentError.self) { try await enroller.trade(code: code) }
        #expect(held?.kind == .tooMany && held?.message.contains("try again in a minute") == true)
        clock.withLock { $0 = Self.now.addingTimeInterval(60) }
        let trade = try await enroller.trade(code: code)
        #expect(trade.vmID == web1)
    }

    @Test func endedEntriesArePrunedADayAfterTheirEnd() async throws {
        let file = EnrollmentFile(dataFolder: folder)
        _ = try await file.create(vm: web1, validity: 3600, now: Self.now)
        let later = Self.now.addingTimeInterval(3600 + 86_400 + 1)
        _ = try await file.create(vm: try VMID(validating: "db-1"), validity: 3600, now: later)
        #expect(try file.load().map(\.vmID.rawValue) == ["db-1"])
    }

    @Test func aDamagedFileIsNamedAndLeftAsItIs() async throws {
        let file = EnrollmentFile(dataFolder: folder)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: file.path))
        let error = await #expect(throws: EnrollmentError.self) {
            try await file.create(vm: web1, validity: 3600, now: Self.now)
        }
        #expect(error?.message.contains(file.path) == true && error?.message.contains("damaged") == true)
        #expect(try String(contentsOfFile: file.path, encoding: .utf8) == "{not json")
    }

    @Test func ofConcurrentTradesOfOneCodeExactlyOneWins() async throws {
        let file = EnrollmentFile(dataFolder: folder)
        let (code, _) = try await file.create(vm: web1, validity: 3600, now: Self.now)
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        _ = try await file.trade(code: code, now: Self.now) { (vm: VMID) in vm }
                        return true
                    } catch let error as EnrollmentError {
                        #expect(error.kind == .refused, "\(error)")
                        return false
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
    }

    @Test func theTokenFileKeepsEveryOtherEntryAndRotatesTheVMs() async throws {
        let path = "\(folder)/vm-tokens.json"
        try Data(#"{"db-1": "db-1-token-0123456789", "web-1": "old-web-1-token-0123456789"}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let token = VMTokenFile.newToken()
        #expect(token.count == 64 && token != VMTokenFile.newToken())
        let all = try await VMTokenFile(path: path).issue(token, for: web1)
        let db1 = try VMID(validating: "db-1")
        #expect(all[web1] == token && all[db1] == "db-1-token-0123456789")
        #expect(try APITokens.readVMTokens(path) == all)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func aDamagedTokenFileStopsTheIssueAndStaysAsItIs() async throws {
        let path = "\(folder)/vm-tokens.json"
        try Data(#"{"web-1": 5}"#.utf8).write(to: URL(fileURLWithPath: path))
        await #expect(throws: EnrollmentError.self) {
            try await VMTokenFile(path: path).issue(VMTokenFile.newToken(), for: web1)
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == #"{"web-1": 5}"#)
    }

    @Test(arguments: [
        ("https://hub.example.com/", "https://hub.example.com"), ("http://10.0.0.5:8080", "http://10.0.0.5:8080"),
    ])
    func hubAddressesAreTrimmed(_ text: String, _ expected: String) throws {
        #expect(try InstallCommand.hubAddress(text).get() == expected)
    }

    @Test(arguments: [
        "ftp://hub", "https://hub;rm -rf /", "https://hub/$(id)", "https://hub `id`", "https://h?x=1", "hub",
    ])
    func hubAddressesThatAShellWouldReadAreRefused(_ text: String) {
        #expect(throws: EnrollmentError.self) { try InstallCommand.hubAddress(text).get() }
    }

    @Test func theVersionIsReadFromTheStampInTheBytes() {
        let bytes = Array("\u{0}junk LOOKOUT_VERSION LOOKOUT_VERSION=0.2.1~rc1\u{0}more".utf8)
        #expect(AgentBinaries.version(in: bytes) == "0.2.1~rc1")
        #expect(AgentBinaries.version(in: Array("no stamp here".utf8)) == nil)
        #expect(AgentBinaries.version(in: Array("LOOKOUT_VERSION=".utf8)) == nil)
    }

    @Test(arguments: ["x86_64", "aarch64", "armv7l"])
    func architectureNamesAreUnameNames(_ arch: String) {
        #expect(AgentBinaries.isArchitecture(arch))
    }

    @Test(arguments: ["", "..", "../x", "x86_64/", "a b", "x86_64\u{0}"])
    func otherArchitectureNamesNameNoFile(_ arch: String) {
        #expect(!AgentBinaries.isArchitecture(arch))
    }
}
