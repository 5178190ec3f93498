import LookoutCore

/// Temperature sensors from sysfs: hwmon chips first (`class/hwmon/hwmon*/temp*_input`, as
/// `sensors` shows them), else the ACPI and SoC thermal zones (`class/thermal/thermal_zone*`).
///
/// Zones are only the fallback: where a machine has both, the zones repeat the chips'
/// figures under vaguer names (`acpitz`, `x86_pkg_temp`). Most cloud VMs have neither.
public enum TemperatureProbe {
    /// Readings outside this range (°C) are a sensor that is absent or broken, not a temperature.
    public static let plausible: ClosedRange<Double> = 0...150
    /// Enough for a dual-socket server with a dozen drives; the document stays small.
    static let maximumSensors = 64

    /// Reads every sensor under the sysfs root; `nil` when there is none (or none readable).
    ///
    /// A sensor whose file cannot be read (many drivers answer EIO or ENODATA for an
    /// unconnected input) or holds something else than millidegrees is left out, as is a
    /// reading outside ``plausible``: a temperature is never worth failing a sample for.
    public static func read(from sysfs: ProcFS) -> [TemperatureReading]? {
        var readings = hwmon(sysfs)
        if readings.isEmpty { readings = thermalZones(sysfs) }
        return finish(readings)
    }

    static func hwmon(_ sysfs: ProcFS) -> [TemperatureReading] {
        var readings: [TemperatureReading] = []
        for chip in numbered(AtomicFile.fileNames(in: sysfs.path("class/hwmon")), prefix: "hwmon") {
            let base = "class/hwmon/\(chip)"
            // Before Linux 3.x the attributes lived in the chip's device folder.
            var folder = base
            var indices = inputIndices(AtomicFile.fileNames(in: sysfs.path(folder)))
            if indices.isEmpty {
                folder = "\(base)/device"
                indices = inputIndices(AtomicFile.fileNames(in: sysfs.path(folder)))
            }
            let name = text(sysfs, "\(folder)/name") ?? text(sysfs, "\(base)/name") ?? chip
            for index in indices {
                guard let value = text(sysfs, "\(folder)/temp\(index)_input"), let celsius = celsius(value) else {
                    continue
                }
                let sensor = sensorName(chip: name, label: text(sysfs, "\(folder)/temp\(index)_label"), index: index)
                readings.append(TemperatureReading(sensor: sensor, celsius: celsius))
            }
        }
        return readings
    }

    static func thermalZones(_ sysfs: ProcFS) -> [TemperatureReading] {
        var readings: [TemperatureReading] = []
        for zone in numbered(AtomicFile.fileNames(in: sysfs.path("class/thermal")), prefix: "thermal_zone") {
            let base = "class/thermal/\(zone)"
            guard let value = text(sysfs, "\(base)/temp"), let celsius = celsius(value) else { continue }
            readings.append(TemperatureReading(sensor: text(sysfs, "\(base)/type") ?? zone, celsius: celsius))
        }
        return readings
    }

    /// `coretemp package_id_0` for chip `coretemp` and label `Package id 0`; `nvme temp1`
    /// without a label: stable names for the history series `temp:<sensor>`.
    public static func sensorName(chip: String, label: String?, index: Int) -> String {
        guard let label, !label.isEmpty else { return "\(chip) temp\(index)" }
        // ASCII only: labels are ASCII, and Unicode case tables cost every run resident memory.
        let bytes = label.utf8.map { byte -> UInt8 in
            if byte == UInt8(ascii: " ") { return UInt8(ascii: "_") }
            return (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
        }
        return "\(chip) \(String(decoding: bytes, as: UTF8.self))"
    }

    /// Degrees Celsius, 1 decimal, from a sysfs reading in millidegrees (`48000`), or `nil`
    /// when it is not a whole number or not ``plausible``.
    public static func celsius(_ millidegrees: String) -> Double? {
        guard let value = Int(millidegrees.trimmingWhitespace()) else { return nil }
        let celsius = SystemProbe.oneDecimal(Double(value) / 1000)
        return plausible.contains(celsius) ? celsius : nil
    }

    /// Names the document can carry, made unique (a second `nvme composite` of a second
    /// drive becomes `nvme composite #2`, in the kernel's order), sorted, at most
    /// ``maximumSensors``; `nil` when none is left.
    static func finish(_ readings: [TemperatureReading]) -> [TemperatureReading]? {
        var seen: [String: Int] = [:]
        var unique: [TemperatureReading] = []
        for var reading in readings where reading.sensor.utf8.count <= 120 && !reading.sensor.containsControlCharacter {
            let count = (seen[reading.sensor] ?? 0) + 1
            seen[reading.sensor] = count
            if count > 1 { reading.sensor += " #\(count)" }
            unique.append(reading)
        }
        unique.sort { $0.sensor < $1.sensor }
        return unique.isEmpty ? nil : Array(unique.prefix(maximumSensors))
    }

    /// The `temp<N>_input` files' N, ascending.
    static func inputIndices(_ names: [String]) -> [Int] {
        names.compactMap { name -> Int? in
            guard name.hasPrefix("temp"), name.hasSuffix("_input") else { return nil }
            return Int(name.dropFirst(4).dropLast(6))
        }.sorted()
    }

    /// The entries `<prefix><N>`, in the order of N (so `hwmon10` comes after `hwmon2`).
    static func numbered(_ names: [String], prefix: String) -> [String] {
        names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix(prefix), let number = Int(name.dropFirst(prefix.count)) else { return nil }
            return (number, name)
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// A one-line sysfs attribute without its line break; `nil` when unreadable or empty.
    private static func text(_ sysfs: ProcFS, _ name: String) -> String? {
        guard let value = try? sysfs.read(name) else { return nil }
        let trimmed = value.trimmingWhitespace()
        return trimmed.isEmpty ? nil : trimmed
    }
}
