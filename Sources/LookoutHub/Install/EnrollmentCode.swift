import LookoutCore

/// One-time enrollment codes such as `7F3K-Q9PX`: 8 characters from an alphabet without the
/// look-alikes 0/O and 1/I (32 symbols, so 40 bits), read aloud or typed without doubt.
/// Only the SHA-256 of a code's canonical form is ever stored.
public enum EnrollmentCode {
    /// Digits 2-9 and the capital letters without I and O: 32 symbols, 5 bits each.
    public static let alphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ".utf8)
    /// Symbols in a code (shown as two groups of four).
    public static let length = 8

    /// A new random code, `XXXX-XXXX`, from the system's cryptographic generator.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        return generate(using: &rng)
    }

    static func generate(using rng: inout some RandomNumberGenerator) -> String {
        var symbols: [UInt8] = []
        for index in 0..<length {
            if index == length / 2 { symbols.append(UInt8(ascii: "-")) }
            // 32 divides 2^64, so a plain modulo has no bias.
            symbols.append(alphabet[Int(rng.next() % UInt64(alphabet.count))])
        }
        return String(decoding: symbols, as: UTF8.self)
    }

    /// The code as it is hashed: capitals, without the dash (so `7f3k q9px` typed by hand
    /// matches), or nil when `text` is no code of this shape (the caller says so, never
    /// echoing control characters back).
    public static func canonical(_ text: String) -> String? {
        guard text.utf8.count <= 32 else { return nil }
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: " "): continue
            case UInt8(ascii: "a")...UInt8(ascii: "z"): out.append(byte - 32)
            default: out.append(byte)
            }
        }
        guard out.count == length, out.allSatisfy(alphabet.contains) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// The stored form of a code: SHA-256 of its canonical form, in hex.
    public static func hash(canonical: String) -> String {
        SHA256.hex(Array("lookout-enrollment:\(canonical)".utf8))
    }

    /// What a code looks like, for error messages.
    public static let shape = "8 letters and digits such as 7F3K-Q9PX"
}
