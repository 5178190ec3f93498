import LookoutCore
import Testing

@Suite struct SHA256Tests {
    /// FIPS 180-4 / NIST example vectors, plus the padding edges (55, 56 and 64 bytes).
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (String(repeating: "a", count: 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (String(repeating: "a", count: 56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (String(repeating: "a", count: 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
    ])
    func knownDigests(input: String, expected: String) {
        #expect(SHA256.hex(Array(input.utf8)) == expected)
    }

    @Test func incrementalUpdatesEqualOneShot() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = SHA256()
        hasher.update(bytes[0..<7])
        hasher.update(bytes[7..<500])
        hasher.update(bytes[500...])
        #expect(SHA256.hexString(hasher.finalize()) == SHA256.hex(bytes))
    }

    /// A sequence that is not contiguous takes the byte path; mixing both paths agrees too.
    @Test func anyKindOfSequenceGivesTheSameDigest() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var mixed = SHA256()
        mixed.update(bytes[0..<10].lazy.map { $0 })
        mixed.update(bytes[10..<150])
        mixed.update(AnySequence(bytes[150...]))
        #expect(SHA256.hexString(mixed.finalize()) == SHA256.hex(bytes))
        #expect(
            SHA256.hex(repeatElement(UInt8(ascii: "a"), count: 200)) == SHA256.hex([UInt8](repeating: 97, count: 200)))
    }

    @Test func millionAs() {
        #expect(
            SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
