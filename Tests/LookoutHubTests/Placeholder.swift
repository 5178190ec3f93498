import Testing
import HummingbirdTesting
@Test func hubPlaceholder() { #expect(Int("2") == 2) }
