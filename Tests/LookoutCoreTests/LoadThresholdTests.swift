import Foundation
import LookoutCore
import Testing

/// Load thresholds per core (issue 12): defaults, the absolute meaning an existing config
/// keeps, the notice's arithmetic and sustained rules over stored loads.
@Suite struct LoadThresholdTests {
    static let t0 = Date(timeIntervalSince1970: 1_765_276_200)

    static func doc(load: Double, cores: Int, at minutes: Double = 0) -> MetricsDocument {
        MetricsDocument(
            vmID: try! VMID(validating: "web-1"), timestamp: t0.addingTimeInterval(minutes * 60),
            system: SystemMetrics(
                cpu: .init(percent: 10, cores: cores),
                memory: .init(totalMB: 1024, usedMB: 100, availableMB: 924, percent: 9.8),
                disk: .init(totalGB: 40, usedGB: 10, percent: 25), uptime: .init(seconds: 3600),
                load: .init(one: load, five: load, fifteen: load)),
            intervalSeconds: 60)
    }

    func parse(_ text: String) throws(ConfigError) -> MonitoringConfig {
        try MonitoringConfig.parse(Array(text.utf8))
    }

    func loadProblem(_ document: MetricsDocument, _ config: MonitoringConfig) -> VMHealth.Problem? {
        VMHealth.evaluate(document, config: config, now: Self.t0).problems.first { $0.kind == "load" }
    }

    @Test func theDefaultIsPerCore() throws {
        let config = try parse("{}")
        #expect(config.thresholds.load == Threshold(warning: 1.5, critical: 3, perCore: true))
        #expect(Thresholds.defaults.load.perCore == true)
    }

    @Test func aConfigThatSetsLoadWithoutPerCoreKeepsTheAbsoluteMeaning() throws {
        let config = try parse(#"{"thresholds": {"load": {"warning": 2.0, "critical": 4.0}}}"#)
        #expect(config.thresholds.load == Threshold(warning: 2, critical: 4, perCore: false))
        // A load of 5.2 on 4 cores is critical in absolute terms (5.2 ≥ 4) ...
        let problem = try #require(loadProblem(Self.doc(load: 5.2, cores: 4), config))
        #expect(problem.severity == .critical)
        #expect(problem.value == 5.2 && problem.threshold == 4)
        #expect(problem.message == "load (5 min) 5.2, critical at 4")
        // ... and nothing per core (1.3 < 1.5) with the defaults.
        #expect(loadProblem(Self.doc(load: 5.2, cores: 4), MonitoringConfig()) == nil)
    }

    @Test func thePerCoreNoticeShowsTheArithmetic() throws {
        let config = try parse(#"{"thresholds": {"load": {"warning": 1.2, "critical": 3.0, "per_core": true}}}"#)
        let problem = try #require(loadProblem(Self.doc(load: 5.2, cores: 4), config))
        #expect(problem.severity == .warning)
        #expect(problem.value == 1.3 && problem.threshold == 1.2)
        #expect(problem.message == "load 5.2 on 4 cores = 1.3 per core, warning at 1.2")
        let one = try #require(loadProblem(Self.doc(load: 3.5, cores: 1), config))
        #expect(one.message == "load 3.5 on 1 core = 3.5 per core, critical at 3")
    }

    @Test func aOneCoreVMIsJudgedByItsOneCore() {
        // Load 2 is a warning on 1 core (2 ≥ 1.5) and nothing on 2 cores (1 < 1.5).
        #expect(loadProblem(Self.doc(load: 2, cores: 1), MonitoringConfig())?.severity == .warning)
        #expect(loadProblem(Self.doc(load: 2, cores: 2), MonitoringConfig()) == nil)
        #expect(loadProblem(Self.doc(load: 12, cores: 4), MonitoringConfig())?.severity == .critical)
    }

    @Test func anOverrideMayChooseEitherMeaning() throws {
        let config = try parse(
            #"{"overrides": {"web-1": {"load": {"warning": 6, "critical": 10}}, "db-1": {"load": "#
                + #"{"warning": 0.8, "critical": 2, "per_core": true}}}}"#)
        #expect(config.thresholds(for: try VMID(validating: "web-1")).load.perCore == false)
        #expect(config.thresholds(for: try VMID(validating: "db-1")).load.perCore == true)
        #expect(config.thresholds(for: try VMID(validating: "other")).load == Thresholds.defaultLoad)
        #expect(loadProblem(Self.doc(load: 5.2, cores: 4), config) == nil)
    }

    @Test(arguments: [
        (
            #"{"thresholds": {"cpu": {"warning": 70, "critical": 90, "per_core": true}}}"#,
            "thresholds.cpu.per_core: only the load threshold takes per_core"
        ),
        (
            #"{"overrides": {"a": {"fs:/srv": {"warning": 70, "critical": 90, "per_core": false}}}}"#,
            "overrides.a.fs:/srv.per_core: only the load threshold takes per_core"
        ),
        (
            #"{"thresholds": {"load": {"warning": 1, "critical": 2, "per_core": "yes"}}}"#,
            "thresholds.load.per_core"
        ),
        (
            #"{"thresholds": {"load": {"warning": 3, "critical": 2, "per_core": true}}}"#,
            "thresholds.load.critical: 2.0 must be at least the warning threshold 3.0"
        ),
    ])
    func badLoadConfigsNameTheKey(text: String, message: String) throws {
        let error = try #require(throws: ConfigError.self) { try parse(text) }
        #expect(error.message.hasPrefix(message), "\(error.message)")
    }

    @Test func theConfigEncodesPerCoreForLoadOnly() throws {
        let json = String(decoding: try JSONEncoder().encode(Thresholds.defaults), as: UTF8.self)
        #expect(json.contains(#""per_core":true"#))
        #expect(json.components(separatedBy: "per_core").count == 2, "\(json)")
        let again = try JSONDecoder().decode(Thresholds.self, from: Data(json.utf8))
        #expect(again == Thresholds.defaults)
    }

    @Test func aSustainedRuleDividesTheStoredLoadsToo() {
        var config = MonitoringConfig()
        config.thresholds.load = Threshold(warning: 1.5, critical: 3, sustainedSamples: 3, perCore: true)
        let vm = try! VMID(validating: "web-1")
        func pass(_ recent: [Double]) -> [String] {
            AlertEngine.evaluate(
                documents: [Self.doc(load: 8, cores: 4)], config: config, previous: AlertState(), now: Self.t0,
                recent: [vm: ["load": recent]]
            ).notices.map { "\($0.kind.rawValue) \($0.alert.id) \($0.alert.severity.rawValue)" }
        }
        // 8, 7, 6.4 on 4 cores are 2, 1.75, 1.6 per core: all above 1.5.
        #expect(pass([8, 7, 6.4]) == ["opened web-1/load warning"])
        // 5.6 is 1.4 per core: below the warning, so three in a row did not cross.
        #expect(pass([8, 7, 5.6]) == [])
    }
}
