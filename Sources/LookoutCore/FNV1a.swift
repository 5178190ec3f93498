/// FNV-1a, 64 bit: the one non-cryptographic hash Lookout uses where a value must be stable
/// across processes and platforms (Swift's `Hasher` is seeded per process): channel ids and
/// outbox names, the dashboard files' ETags.
public enum FNV1a {
    public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x100_0000_01b3
        }
        return value
    }
}
