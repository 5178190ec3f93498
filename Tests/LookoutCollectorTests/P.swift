import Testing
import NIOHTTP1
@Test func placeholder2() { #expect(1 + 1 == 2) }
