import Foundation
import LookoutCore
import Testing

/// Certificate expiry (issue 12 item 4): `services[].cert_*` judged against
/// `thresholds.certificates` at the engine's injected time, one alert per check.
@Suite struct CertificateRuleTests {
    typealias Extras = AlertEngineExtrasTests
    static let t0 = Extras.t0
    static let web = Extras.web
    static let backup = Extras.backup

    /// A document whose `site` check saw a certificate ending `daysLeft` days after `t0`.
    static func doc(_ vm: VMID = web, at minutes: Double, daysLeft: Double?, healthy: Bool = true) -> MetricsDocument {
        var document = Extras.doc(vm, at: minutes)
        var site = ServiceStatus(id: "site", healthy: healthy, responseMS: 12)
        if let daysLeft {
            site.certExpiresAt = Timestamp.format(t0.addingTimeInterval(daysLeft * 86_400))
            site.certDaysLeft = Int(daysLeft.rounded(.down))
            site.certIssuer = "R11, Let's Encrypt"
            site.certSubject = "www.example.com"
            site.certHost = "www.example.com"
        }
        document.services = [site, ServiceStatus(id: "db", healthy: true, responseMS: 1)]
        return document
    }

    @Test(arguments: [
        (60.0, Severity.ok), (14.5, .ok), (14, .warning), (10, .warning), (3.5, .warning), (3, .critical),
        (2, .critical), (0.2, .critical), (-1, .critical),
    ])
    func severityByDaysLeft(_ daysLeft: Double, _ expected: Severity) {
        #expect(CertificateThreshold.defaults.severity(daysLeft: daysLeft) == expected)
    }

    @Test func twoDaysIsCriticalTenIsWarningSixtyIsNothing() throws {
        let (_, notices, last) = Extras.run([
            .init(minutes: 0, documents: [Self.doc(at: 0, daysLeft: 60)]),
            .init(minutes: 1, documents: [Self.doc(at: 1, daysLeft: 10)]),
            .init(minutes: 2, documents: [Self.doc(at: 2, daysLeft: 2)]),
        ])
        #expect(notices == [[], ["opened web-1/cert/site warning"], ["escalated web-1/cert/site critical"]])
        let alert = try #require(last?.state.alerts.first { $0.id == "web-1/cert/site" })
        #expect(alert.kind == "cert")
        #expect(alert.metric == "site")
        #expect(alert.threshold == 3)
        #expect(
            alert.message
                == "certificate of www.example.com (issuer R11, Let's Encrypt) expires 2025-12-11T10:30:00Z, "
                + "in 1 day, critical at 3 days")
    }

    @Test func theNoticeNamesTheHostTheIssuerAndTheDate() throws {
        let result = AlertEngine.evaluate(
            documents: [Self.doc(at: 0, daysLeft: 10)], config: MonitoringConfig(), previous: AlertState(),
            now: Self.t0)
        let notice = try #require(result.notices.first)
        #expect(
            notice.subject
                == "[Lookout] WARNING web-1: certificate of www.example.com (issuer R11, Let's Encrypt) expires "
                + "2025-12-19T10:30:00Z, in 10 days, warning at 14 days")
    }

    @Test func daysAreCountedFromTheHubsTimeSoTheAlertTightensOnSchedule() {
        // The certificate stays the same (ends 15 days after t0); each pass is a fresh
        // sample of it, two and thirteen days later.
        let sample = { (minutes: Double) in
            var next = Self.doc(at: 0, daysLeft: 15)
            next.timestamp = Self.t0.addingTimeInterval(minutes * 60)
            return next
        }
        let (_, notices, _) = Extras.run([
            .init(minutes: 0, documents: [sample(0)]),
            .init(minutes: 2 * 24 * 60, documents: [sample(2 * 24 * 60)]),
            .init(minutes: 13 * 24 * 60, documents: [sample(13 * 24 * 60)]),
        ])
        #expect(notices == [[], ["opened web-1/cert/site warning"], ["escalated web-1/cert/site critical"]])
    }

    @Test func anExpiredCertificateIsCriticalAndSaysWhenItEnded() throws {
        let result = AlertEngine.evaluate(
            documents: [Self.doc(at: 0, daysLeft: -3, healthy: false)], config: MonitoringConfig(),
            previous: AlertState(), now: Self.t0)
        let cert = try #require(result.state.alerts.first { $0.id == "web-1/cert/site" })
        #expect(cert.severity == .critical)
        #expect(cert.message.hasSuffix("expired 2025-12-06T10:30:00Z, 3 days ago"))
        // The failing check is its own alert beside it.
        #expect(result.state.alerts.contains { $0.id == "web-1/service/site" })
    }

    @Test func aRenewedCertificateResolvesTheAlert() {
        let (_, notices, _) = Extras.run([
            .init(minutes: 0, documents: [Self.doc(at: 0, daysLeft: 5)]),
            .init(minutes: 60, documents: [Self.doc(at: 60, daysLeft: 90)]),
        ])
        #expect(notices == [["opened web-1/cert/site warning"], ["resolved web-1/cert/site warning"]])
    }

    @Test func aCheckWithoutACertificateNeverAlerts() {
        let (_, notices, _) = Extras.run([.init(minutes: 0, documents: [Self.doc(at: 0, daysLeft: nil)])])
        #expect(notices == [[]])
    }

    @Test func perVMOverridesReplaceTheGlobalDays() throws {
        let config = try Extras.config(
            #"""
            {"thresholds": {"certificates": {"warning_days": 30, "critical_days": 7}},
             "overrides": {"backup-1": {"certificates": {"warning_days": 5, "critical_days": 1}}}}
            """#)
        #expect(config.thresholds(for: Self.web).certificates == .init(warningDays: 30, criticalDays: 7))
        #expect(config.thresholds(for: Self.backup).certificates == .init(warningDays: 5, criticalDays: 1))
        let (_, notices, _) = Extras.run(
            [
                .init(
                    minutes: 0,
                    documents: [Self.doc(Self.web, at: 0, daysLeft: 20), Self.doc(Self.backup, at: 0, daysLeft: 20)]
                ),
                .init(
                    minutes: 1,
                    documents: [Self.doc(Self.web, at: 1, daysLeft: 6), Self.doc(Self.backup, at: 1, daysLeft: 4)]),
            ], config: config)
        #expect(
            notices == [
                ["opened web-1/cert/site warning"],
                ["opened backup-1/cert/site warning", "escalated web-1/cert/site critical"],
            ])
    }

    @Test func aMissingKeyKeepsItsDefault() throws {
        let config = try Extras.config(#"{"thresholds": {"certificates": {"warning_days": 21}}}"#)
        #expect(config.thresholds.certificates == .init(warningDays: 21, criticalDays: 3))
        #expect(MonitoringConfig().thresholds.certificates == .init(warningDays: 14, criticalDays: 3))
    }

    @Test(arguments: [
        (
            #"{"thresholds": {"certificates": {"warning_days": 3, "critical_days": 14}}}"#,
            "thresholds.certificates.critical_days", "between 0 and warning_days"
        ),
        (
            #"{"thresholds": {"certificates": {"warning_days": -1}}}"#, "thresholds.certificates.warning_days",
            "not between 0 and 3650"
        ),
        (
            #"{"thresholds": {"certificates": {"warning": 14}}}"#, "thresholds.certificates.warning",
            "unknown key"
        ),
        (
            #"{"overrides": {"web-1": {"certificates": {"critical_days": 30}}}}"#,
            "overrides.web-1.certificates.critical_days", "between 0 and warning_days"
        ),
    ])
    func badCertificateThresholdsNameTheKey(_ json: String, _ path: String, _ reason: String) {
        let error = #expect(throws: ConfigError.self) { try Extras.config(json) }
        #expect(error?.message.contains(path) == true, "\(error?.message ?? "") should name \(path)")
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "") should say \(reason)")
    }

    // MARK: - The document fields

    static func documentJSON(service: String) -> String {
        var document = Extras.doc(at: 0)
        document.services = []
        let text = String(decoding: document.encoded(), as: UTF8.self)
        return text.replacingOccurrences(of: #""services":[]"#, with: #""services":[\#(service)]"#)
    }

    @Test func theCertificateFieldsRoundTrip() throws {
        let json = Self.documentJSON(
            service: #"{"id":"site","healthy":true,"response_ms":3,"cert_expires_at":"2026-01-02T03:04:05Z","#
                + #""cert_days_left":24,"cert_issuer":"R11, Let's Encrypt","cert_subject":"example.com","#
                + #""cert_host":"example.com"}"#)
        let document = try MetricsDocument.decode(Array(json.utf8))
        let site = try #require(document.services.first)
        #expect(site.certExpiresAt == "2026-01-02T03:04:05Z")
        #expect(site.certDaysLeft == 24)
        #expect(site.certIssuer == "R11, Let's Encrypt")
        #expect(try MetricsDocument.decode(document.encoded()) == document)
    }

    @Test(arguments: [
        (#""cert_expires_at":"next tuesday""#, "services[0].cert_expires_at", "not an RFC 3339 timestamp"),
        (#""cert_days_left":99999"#, "services[0].cert_days_left", "not between -36500 and 36500"),
        (#""cert_issuer":"evil\r\nBcc: x""#, "services[0].cert_issuer", "U+000D"),
        (#""cert_host":"\#(String(repeating: "h", count: 1025))""#, "services[0].cert_host", "longer than 1024"),
    ])
    func badCertificateFieldsNameTheField(_ field: String, _ path: String, _ reason: String) {
        let json = Self.documentJSON(service: #"{"id":"site","healthy":true,"response_ms":3,\#(field)}"#)
        let error = #expect(throws: DocumentError.self) { try MetricsDocument.decode(Array(json.utf8)) }
        #expect(error?.path == path)
        #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "") should say \(reason)")
    }
}
