import Logging
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Network throughput from `/proc/net/dev`, per interface and summed.
///
/// Like CPU, a rate is a counter delta since the previous sample (kept in the state file
/// as ``NetworkCounters``), so a cron run every five minutes reports the five-minute
/// average. An interface whose delta means nothing (no previous counters, a reboot, a
/// counter that went backwards because the interface was recreated or a 32-bit counter
/// wrapped) is measured over a short sample instead: read, sleep, read.
public struct NetworkProbe: Sendable {
    public let procfs: ProcFS
    /// Where `class/net/<interface>/operstate` is read.
    public let sysfs: ProcFS
    public let selection: InterfaceSelection

    static let file = "net/dev"

    /// 100 Gbit/s in bytes per second: a higher rate is a counter glitch, not traffic.
    public static let maximumRate = 12.5e9

    /// The document's limit on `system.network.interfaces`.
    static let maximumInterfaces = 256

    /// - Parameters:
    ///   - procfs: where `net/dev` and the boot id are read.
    ///   - sysfs: where the interfaces' `operstate` is read.
    ///   - selection: the config's `network.interfaces`.
    public init(procfs: ProcFS, sysfs: ProcFS, selection: InterfaceSelection = .automatic) {
        self.procfs = procfs
        self.sysfs = sysfs
        self.selection = selection
    }

    /// What one sample gives: the document's section, and the counters to keep.
    public struct Reading: Sendable, Equatable {
        /// `nil` when no interface is reported (or `net/dev` could not be read).
        public var metrics: NetworkMetrics?
        /// The baseline for the next sample: the latest reading, or the previous one kept
        /// when this sample could not read the counters.
        public var counters: NetworkCounters?
    }

    /// One interface's rates in bytes per second.
    public struct Rate: Sendable, Equatable {
        public var rx: Double
        public var tx: Double

        public init(rx: Double, tx: Double) {
            self.rx = rx
            self.tx = tx
        }
    }

    /// Takes the network part of a sample; never fails the sample. A `net/dev` that cannot
    /// be read or parsed leaves the section out (with a log line) and keeps `previous` as
    /// the baseline, so the next sample averages over both intervals.
    /// - Parameters:
    ///   - previous: the counters the last sample returned, if any.
    ///   - firstSampleDelay: the length of the short sample; tests pass `.zero`.
    ///   - now: the wall clock the counters are stamped with.
    public func read(
        previous: NetworkCounters?, firstSampleDelay: Duration = .milliseconds(250),
        now: @Sendable () -> Date, logger: Logger
    ) async -> Reading {
        guard let first = counters(now: now, logger: logger) else { return Reading(metrics: nil, counters: previous) }
        let baseline = previous.flatMap { Self.sameBoot($0, first) ? $0 : nil }
        var (rates, restarting) = Self.rates(of: first, against: [baseline])
        var latest = first
        if !restarting.isEmpty {
            logger.debug(
                """
                network: no usable previous counters for \(restarting.sorted().joined(separator: ", ")) \
                (first sample, reboot, new or reset interface); sampling for \(firstSampleDelay)
                """)
            do {
                try await Task.sleep(for: firstSampleDelay)
            } catch {
                return Reading(metrics: nil, counters: previous)
            }
            guard let second = counters(now: now, logger: logger) else { return Reading(metrics: nil, counters: first) }
            latest = second
            (rates, restarting) = Self.rates(of: second, against: [baseline, first])
            if !restarting.isEmpty {
                // Reset again within the short sample, or a clock that did not move: nothing to measure yet.
                logger.debug("network: no delta yet for \(restarting.sorted().joined(separator: ", ")); reporting 0")
                for name in restarting { rates[name] = Rate(rx: 0, tx: 0) }
            }
        }
        return Reading(metrics: metrics(latest, rates: rates, logger: logger), counters: latest)
    }

    /// The selected interfaces' counters now, or `nil` (logged) when `net/dev` is unusable.
    func counters(now: () -> Date, logger: Logger) -> NetworkCounters? {
        let path = procfs.path(Self.file)
        guard let text = try? procfs.read(Self.file) else {
            logger.debug("network: \(path) cannot be read; the network figures are left out")
            return nil
        }
        let all: [String: InterfaceCounters]
        do {
            all = try Self.parse(text, path: path)
        } catch {
            logger.warning("network: \(error); the network figures are left out")
            return nil
        }
        let selected = all.filter { name, _ in
            Self.reportable(name) && selection.includes(name, isUp: { isUp(name) })
        }
        return NetworkCounters(
            time: now().timeIntervalSince1970, bootID: BootIDProbe.read(from: procfs), interfaces: selected)
    }

    /// Whether the interface's `operstate` says up. `unknown` counts as up (tun, many virtio
    /// and PPP drivers never report a state), and so does a missing file (no sysfs mounted).
    func isUp(_ name: String) -> Bool {
        guard let text = try? sysfs.read("class/net/\(name)/operstate") else { return true }
        let state = text.trimmingWhitespace()
        return state == "up" || state == "unknown"
    }

    /// A name the document can carry: the hub refuses control characters and more than 64 bytes.
    static func reportable(_ name: String) -> Bool {
        name.utf8.count <= 64 && !name.containsControlCharacter
    }

    /// Parses the text of `net/dev`: per interface, the received bytes (1st counter) and
    /// transmitted bytes (9th counter).
    ///
    /// The two header lines (they hold `|`) are skipped. The kernel pads names to six
    /// columns, so a long name is glued to its first counter (`enp0s31f6:123`): the name
    /// ends at the first `:`.
    /// - Throws: ``CollectorError`` naming the line or counter that is garbled.
    public static func parse(_ text: String, path: String) throws(CollectorError) -> [String: InterfaceCounters] {
        var result: [String: InterfaceCounters] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else {
                if line.contains("|") || line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
                throw .malformed(path, "line \"\(line.prefix(80))\" (no interface name)")
            }
            let name = String(line[..<colon]).trimmingWhitespace()
            guard !name.isEmpty else { throw .malformed(path, "line \"\(line.prefix(80))\" (empty interface name)") }
            let fields = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 9 else {
                throw .malformed(
                    path, "\(name) counters \"\(fields.joined(separator: " ").prefix(80))\" (fewer than 9)")
            }
            var values: [UInt64] = []
            for field in fields {
                guard let value = UInt64(field) else {
                    throw .malformed(path, "\(name) counter \"\(field.prefix(40))\"")
                }
                values.append(value)
            }
            result[name] = InterfaceCounters(rx: values[0], tx: values[8])
        }
        return result
    }

    /// Whether two readings come from the same boot (by boot id where both have one).
    static func sameBoot(_ previous: NetworkCounters, _ current: NetworkCounters) -> Bool {
        guard let before = previous.bootID, let now = current.bootID else { return true }
        return before == now
    }

    /// The rate of each interface of `current` against the first of `bases` that gives one,
    /// and the interfaces none does (their delta restarts).
    static func rates(
        of current: NetworkCounters, against bases: [NetworkCounters?]
    ) -> (rates: [String: Rate], restarting: [String]) {
        var rates: [String: Rate] = [:]
        var restarting: [String] = []
        for (name, counters) in current.interfaces {
            let found = bases.lazy.compactMap { base in
                base.flatMap { base in
                    rate(previous: base.interfaces[name], current: counters, seconds: current.time - base.time)
                }
            }.first
            if let found { rates[name] = found } else { restarting.append(name) }
        }
        return (rates, restarting)
    }

    /// Bytes per second between two readings of one interface, or `nil` when the delta
    /// restarts: no previous reading, no time passed (or the clock went back), or a
    /// counter that went backwards (the interface was recreated, or a 32-bit counter of an
    /// old kernel wrapped: the two cannot be told apart, so neither is guessed at).
    public static func rate(previous: InterfaceCounters?, current: InterfaceCounters, seconds: Double) -> Rate? {
        guard let previous, seconds > 0, current.rx >= previous.rx, current.tx >= previous.tx else { return nil }
        return Rate(rx: Double(current.rx - previous.rx) / seconds, tx: Double(current.tx - previous.tx) / seconds)
    }

    /// The document's section: interfaces sorted by name, rates to 1 decimal, the top-level
    /// figures their sums. An interface with a rate above ``maximumRate`` is left out of
    /// this sample (logged); its counters stay the baseline.
    /// A rate as whole bytes for a log line; a glitch can exceed what `Int` holds.
    static func whole(_ rate: Double) -> String {
        rate.isFinite && abs(rate) < 9e18 ? String(Int(rate)) : "\(rate)"
    }

    func metrics(_ counters: NetworkCounters, rates: [String: Rate], logger: Logger) -> NetworkMetrics? {
        var interfaces: [InterfaceMetrics] = []
        for name in counters.interfaces.keys.sorted() {
            guard let total = counters.interfaces[name], let rate = rates[name] else { continue }
            guard rate.rx <= Self.maximumRate, rate.tx <= Self.maximumRate else {
                logger.warning(
                    """
                    network: \(name) reads \(Self.whole(rate.rx)) B/s in, \(Self.whole(rate.tx)) B/s out, above 100 Gbit/s: \
                    a counter glitch; not reported this sample
                    """)
                continue
            }
            interfaces.append(
                InterfaceMetrics(
                    name: name, rxBytesPerSecond: SystemProbe.oneDecimal(rate.rx),
                    txBytesPerSecond: SystemProbe.oneDecimal(rate.tx), rxBytes: Double(total.rx),
                    txBytes: Double(total.tx)))
        }
        if interfaces.count > Self.maximumInterfaces {
            logger.warning("network: \(interfaces.count) interfaces; reporting the first \(Self.maximumInterfaces)")
            interfaces = Array(interfaces.prefix(Self.maximumInterfaces))
        }
        guard !interfaces.isEmpty else { return nil }
        return NetworkMetrics(
            rxBytesPerSecond: SystemProbe.oneDecimal(interfaces.reduce(0) { $0 + $1.rxBytesPerSecond }),
            txBytesPerSecond: SystemProbe.oneDecimal(interfaces.reduce(0) { $0 + $1.txBytesPerSecond }),
            rxBytes: interfaces.reduce(0) { $0 + $1.rxBytes }, txBytes: interfaces.reduce(0) { $0 + $1.txBytes },
            interfaces: interfaces)
    }
}
