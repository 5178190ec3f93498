#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `90s`, `30m`, `2h`, `7d`, `1w` as seconds: the one spelling of a duration in every option,
/// query and body (`silence --for`, `?range=`, `replay --since`).
public enum DurationText {
    static let unitSeconds: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]

    /// The seconds of `text`, or nil when it is no positive whole number and a unit, or is
    /// longer than `max`. The bound is checked before any multiplication, so no spelling of
    /// a huge number can overflow (an overflow traps and would end the process).
    public static func seconds(_ text: String, max: TimeInterval) -> TimeInterval? {
        guard text.utf8.count <= 24, let unit = text.last, let per = unitSeconds[unit],
            let value = Int(text.dropLast()), value > 0, value <= limit(max) / per
        else { return nil }
        return TimeInterval(value * per)
    }

    /// `max` as whole seconds; a bound past what an Int holds means no bound.
    static func limit(_ max: TimeInterval) -> Int {
        max >= 9e18 ? Int.max : Int(Swift.max(0, max))
    }
}
