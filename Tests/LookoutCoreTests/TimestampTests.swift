import Foundation
import LookoutCore
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00Z"), (1_765_276_200, "2025-12-09T10:30:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"), (4_107_542_399, "2100-02-28T23:59:59Z"),
        (1_765_276_200.9, "2025-12-09T10:30:00Z"), (-1, "1969-12-31T23:59:59Z"),
    ])
    func formats(seconds: Double, text: String) {
        #expect(Timestamp.format(Date(timeIntervalSince1970: seconds)) == text)
    }

    @Test(arguments: [
        ("2025-12-09T10:30:00Z", 1_765_276_200.0), ("2025-12-09T10:30:00.250Z", 1_765_276_200.25),
        ("2025-12-09T11:30:00+01:00", 1_765_276_200), ("2025-12-09T05:00:00-05:30", 1_765_276_200),
        ("2025-12-09 10:30:00Z", 1_765_276_200), ("2000-02-29T00:00:00Z", 951_782_400),
    ])
    func parses(text: String, seconds: Double) {
        #expect(Timestamp.parse(text)?.timeIntervalSince1970 == seconds)
    }

    @Test(arguments: [
        "", "2025-12-09", "2025-12-09T10:30:00", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z",
        "2025-12-09T24:00:00Z", "2025-12-09T10:30:00Zjunk", "2025-12-09T10:30:00.Z", "abcd-ef-ghT...",
    ])
    func rejects(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func roundTripsEveryDayOfFourHundredYears() {
        // Every day from 1900 to 2300 survives format → parse, which checks the calendar maths.
        var day = Timestamp.parse("1900-01-01T12:34:56Z")!.timeIntervalSince1970
        let end = Timestamp.parse("2300-01-01T00:00:00Z")!.timeIntervalSince1970
        while day < end {
            let date = Date(timeIntervalSince1970: day)
            #expect(Timestamp.parse(Timestamp.format(date)) == date)
            day += 86_400 * 7
        }
    }
}
