import LookoutCore
import Testing

@Suite struct DurationTextTests {
    @Test(
        arguments: [
            ("2h", 7200.0), ("30m", 1800), ("1d", 86_400), ("1w", 604_800), ("90s", 90), ("0h", nil), ("2", nil),
            ("h", nil), ("-1h", nil), ("2y", nil), ("+2h", 7200), (" 2h", nil), ("2H", nil), ("", nil),
            ("400d", 34_560_000), ("401d", nil),
        ] as [(String, Double?)])
    func spellings(text: String, seconds: Double?) {
        #expect(DurationText.seconds(text, max: 400 * 86_400) == seconds)
    }

    /// Bounded before multiplying: a huge number is refused, never an overflow trap.
    @Test(arguments: [
        "200000000000000d", "9223372036854775807d", "9223372036854775807s", "15250284452471w",
        "99999999999999999999999h", String(repeating: "9", count: 5000) + "d",
    ])
    func hugeNumbersAreRefusedWithoutOverflow(text: String) {
        #expect(DurationText.seconds(text, max: 400 * 86_400) == nil)
        // Without a useful bound the largest spellings are taken; what matters is no trap.
        if let seconds = DurationText.seconds(text, max: .greatestFiniteMagnitude) { #expect(seconds > 0) }
    }
}
