import Foundation
import LookoutCore
import Testing

/// `lookout replay`'s engine run: histories with known crossings give exact notice lists.
@Suite struct AlertReplayTests {
    static let t0 = AlertEngineTests.t0

    /// One document a minute from `start`, cpu taken from `cpu(minute)`.
    static func history(
        minutes: ClosedRange<Int>, vm: String = "web-1", boot: (Int) -> String? = { _ in nil },
        cpu: (Int) -> Double
    ) -> [MetricsDocument] {
        minutes.map { minute in
            var document = AlertEngineTests.doc(vm, at: Double(minute), cpu: cpu(minute))
            document.system.bootID = boot(minute)
            return document
        }
    }

    static func config(cpuWarning: Double = 80, cpuCritical: Double = 95, cpuSustained: Int = 1, cooldown: Int = 10)
        -> MonitoringConfig
    {
        var config = MonitoringConfig()
        config.thresholds.cpu = Threshold(warning: cpuWarning, critical: cpuCritical, sustainedSamples: cpuSustained)
        config.notifications.cooldownMinutes = cooldown
        return config
    }

    static func lines(_ outcome: AlertReplay.Outcome) -> [String] {
        outcome.notices.map { notice in
            let minute = Int(notice.at.timeIntervalSince(t0) / 60)
            return "\(minute) \(notice.alert.id) \(notice.kind.rawValue) \(notice.alert.severity.rawValue)"
        }
    }

    static func at(_ minute: Int) -> Date { t0.addingTimeInterval(Double(minute) * 60) }

    @Test func knownCrossingsGiveTheExactNotices() {
        // warning 10-14, critical 15-16, warning again 17-19 (de-escalation held by the
        // 10-minute cooldown after the escalation), ok from 20.
        let documents = Self.history(minutes: 0...40) { minute in
            switch minute {
            case 10..<15, 17..<20: 85
            case 15..<17: 97
            default: 10
            }
        }
        let outcome = AlertReplay.run(documents: documents, config: Self.config(), from: Self.t0, to: Self.at(40))
        #expect(
            Self.lines(outcome) == [
                "10 web-1/cpu opened warning", "15 web-1/cpu escalated critical", "20 web-1/cpu resolved warning",
            ])
        #expect(outcome.firingSeconds == ["web-1/cpu": 600])
        #expect(outcome.labels["web-1/cpu"] == "cpu")
    }

    @Test func raisingAThresholdRemovesExactlyTheNoticesBelowIt() {
        // Episode A peaks at 85 (minutes 10-14), episode B at 97 (minutes 30-34).
        let documents = Self.history(minutes: 0...50) { minute in
            switch minute {
            case 10..<15: 85
            case 30..<35: 97
            default: 10
            }
        }
        let current = AlertReplay.run(documents: documents, config: Self.config(), from: Self.t0, to: Self.at(50))
        let proposed = AlertReplay.run(
            documents: documents, config: Self.config(cpuWarning: 90), from: Self.t0, to: Self.at(50))
        #expect(
            Self.lines(current) == [
                "10 web-1/cpu opened warning", "15 web-1/cpu resolved warning",
                "30 web-1/cpu opened critical", "35 web-1/cpu resolved critical",
            ])
        #expect(Self.lines(proposed) == Array(Self.lines(current).dropFirst(2)))
        #expect(current.firingSeconds["web-1/cpu"] == 600)
        #expect(proposed.firingSeconds["web-1/cpu"] == 300)
    }

    @Test func aGapLongerThanTheStaleLimitOpensAndResolvesHostDown() {
        // Interval 60 s: stale after 180 s; the hub's first pass past that is a minute later.
        let documents = Self.history(minutes: 0...10) { _ in 10 } + Self.history(minutes: 60...70) { _ in 10 }
        let outcome = AlertReplay.run(
            documents: documents, config: Self.config(), from: Self.t0, to: Self.at(70), intervalSeconds: 60)
        #expect(Self.lines(outcome) == ["14 web-1/stale opened critical", "60 web-1/stale resolved critical"])
        #expect(outcome.firingSeconds["web-1/stale"] == TimeInterval(46 * 60))
    }

    @Test func aVMSilentAtTheEndStaysFiringUntilTheWindowEnds() {
        let documents = Self.history(minutes: 0...10) { _ in 10 }
        let outcome = AlertReplay.run(
            documents: documents, config: Self.config(), from: Self.t0, to: Self.at(30), intervalSeconds: 60)
        #expect(Self.lines(outcome) == ["14 web-1/stale opened critical"])
        #expect(outcome.firingSeconds["web-1/stale"] == TimeInterval(16 * 60))
    }

    @Test func anAlertOpenBeforeTheWindowIsNotToldAsNew() {
        let documents = Self.history(minutes: 0...40) { minute in (5..<25).contains(minute) ? 85 : 10 }
        let outcome = AlertReplay.run(documents: documents, config: Self.config(), from: Self.at(20), to: Self.at(40))
        #expect(Self.lines(outcome) == ["25 web-1/cpu resolved warning"])
        #expect(outcome.firingSeconds["web-1/cpu"] == 300)
    }

    @Test func sustainedSamplesSeeThePreviousDocuments() {
        // Two samples over the threshold, then three: only the second run opens.
        let documents = Self.history(minutes: 0...30) { minute in
            [5, 6, 15, 16, 17].contains(minute) ? 85 : 10
        }
        let outcome = AlertReplay.run(
            documents: documents, config: Self.config(cpuSustained: 3), from: Self.t0, to: Self.at(30))
        #expect(Self.lines(outcome) == ["17 web-1/cpu opened warning", "18 web-1/cpu resolved warning"])
    }

    @Test func aNewBootIDIsAReboot() {
        let documents = Self.history(minutes: 0...10, boot: { $0 < 5 ? "boot-1" : "boot-2" }) { _ in 10 }
        let outcome = AlertReplay.run(documents: documents, config: Self.config(), from: Self.t0, to: Self.at(10))
        #expect(Self.lines(outcome) == ["5 web-1/reboot opened warning"])
    }

    @Test func documentsInAnyOrderAndNoneAtAll() {
        let documents = Self.history(minutes: 0...20) { minute in (10..<15).contains(minute) ? 85 : 10 }
        let sorted = AlertReplay.run(documents: documents, config: Self.config(), from: Self.t0, to: Self.at(20))
        let shuffled = AlertReplay.run(
            documents: documents.reversed(), config: Self.config(), from: Self.t0, to: Self.at(20))
        #expect(sorted == shuffled)
        #expect(AlertReplay.run(documents: [], config: Self.config(), from: Self.t0, to: Self.at(20)) == .init())
    }
}
