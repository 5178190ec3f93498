/// The parts of RFC 1035 a DNS check needs: one question out, the answer records of the
/// asked type back (names decompressed, addresses and texts in their usual spelling).
enum DNSMessage {
    struct Answer: Sendable, Equatable {
        /// The response code: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, …
        var rcode: Int
        /// TC was set: the answer did not fit, and its records were not read.
        var truncated: Bool
        /// The records of the asked type, each as text (`93.184.216.34`, `10 mail.example.com`).
        var records: [String]
    }

    enum ParseError: Error, Equatable {
        case malformed(String)
    }

    /// The UDP payload size the query offers (EDNS0, RFC 6891): without it a resolver cuts
    /// answers at 512 bytes, which a few long TXT records (SPF, verifications) exceed.
    static let udpPayloadSize: UInt16 = 4096

    /// A recursive query (RD set) for `name` and `type`, class IN, with an EDNS0 OPT record
    /// offering ``udpPayloadSize`` bytes.
    static func query(id: UInt16, name: String, type: DNSRecordType) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]
        for label in name.split(separator: ".", omittingEmptySubsequences: true) {
            let utf8 = Array(label.utf8)
            bytes.append(UInt8(utf8.count))
            bytes += utf8
        }
        bytes.append(0)
        bytes += [UInt8(type.code >> 8), UInt8(type.code & 0xFF), 0, 1]
        // OPT: the root name, type 41, the payload size as its class, extended rcode,
        // version and flags 0, no options.
        bytes += [0, 0, 41, UInt8(udpPayloadSize >> 8), UInt8(udpPayloadSize & 0xFF), 0, 0, 0, 0, 0, 0]
        return bytes
    }

    /// Whether `name` can be asked: labels of 1–63 bytes, 253 bytes in all, no empty label.
    static func nameProblem(_ name: String) -> String? {
        let shown = "\"\(name.prefix(200))\""
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        guard !trimmed.isEmpty else { return "\(shown) is empty; give a domain name such as example.com" }
        guard trimmed.utf8.count <= 253 else { return "\(shown) is longer than 253 bytes" }
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty { return "\(shown) has an empty label (two dots in a row)" }
            if label.utf8.count > 63 { return "\(shown) has a label longer than 63 bytes" }
            if label.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F }) {
                return "\(shown) holds a space, a control character or a non-ASCII letter (write IDNs as xn--…)"
            }
        }
        return nil
    }

    /// The answer to query `id`: `nil` when `bytes` answers another query (a late reply
    /// to an earlier one); the records of `type` in the answer section.
    static func parse(_ bytes: [UInt8], id: UInt16, type: DNSRecordType) throws(ParseError) -> Answer? {
        guard bytes.count >= 12 else { throw .malformed("answer shorter than its header") }
        guard UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id, bytes[2] & 0x80 != 0 else { return nil }
        let rcode = Int(bytes[3] & 0x0F)
        // Cut short (TC): its records may be missing or end mid-record; the caller asks
        // again over TCP, so they are not read.
        guard bytes[2] & 0x02 == 0 else { return Answer(rcode: rcode, truncated: true, records: []) }
        let questions = Int(UInt16(bytes[4]) << 8 | UInt16(bytes[5]))
        let answers = Int(UInt16(bytes[6]) << 8 | UInt16(bytes[7]))
        var offset = 12
        for _ in 0..<questions {
            _ = try readName(bytes, at: &offset)
            offset += 4
        }
        var records: [String] = []
        for _ in 0..<answers {
            _ = try readName(bytes, at: &offset)
            guard offset + 10 <= bytes.count else { throw .malformed("record cut short") }
            let recordType = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let length = Int(UInt16(bytes[offset + 8]) << 8 | UInt16(bytes[offset + 9]))
            offset += 10
            guard offset + length <= bytes.count else { throw .malformed("record data cut short") }
            if recordType == type.code {
                records.append(try text(of: type, bytes, at: offset, length: length))
            }
            offset += length
        }
        return Answer(rcode: rcode, truncated: false, records: records)
    }

    static func text(of type: DNSRecordType, _ bytes: [UInt8], at start: Int, length: Int) throws(ParseError) -> String
    {
        let data = bytes[start..<start + length]
        switch type {
        case .a:
            guard length == 4 else { throw .malformed("an A record of \(length) bytes") }
            return data.map { String($0) }.joined(separator: ".")
        case .aaaa:
            guard length == 16 else { throw .malformed("an AAAA record of \(length) bytes") }
            return ipv6Text(Array(data))
        case .cname, .ns:
            var offset = start
            return try readName(bytes, at: &offset)
        case .mx:
            guard length >= 3 else { throw .malformed("an MX record of \(length) bytes") }
            var offset = start + 2
            return "\(UInt16(bytes[start]) << 8 | UInt16(bytes[start + 1])) \(try readName(bytes, at: &offset))"
        case .txt:
            var parts: [String] = []
            var offset = start
            while offset < start + length {
                let count = Int(bytes[offset])
                guard offset + 1 + count <= start + length else { throw .malformed("a TXT string cut short") }
                parts.append(String(decoding: bytes[offset + 1..<offset + 1 + count], as: UTF8.self))
                offset += 1 + count
            }
            return parts.joined()
        }
    }

    /// A (possibly compressed) name at `offset`, which moves past it; pointers may only go
    /// back, so a hostile answer cannot loop.
    static func readName(_ bytes: [UInt8], at offset: inout Int) throws(ParseError) -> String {
        var labels: [String] = []
        var position = offset
        var jumped = false
        var limit = position
        while true {
            guard position < bytes.count else { throw .malformed("name runs past the end") }
            let length = Int(bytes[position])
            if length & 0xC0 == 0xC0 {
                guard position + 1 < bytes.count else { throw .malformed("name pointer cut short") }
                let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < limit else { throw .malformed("name pointer that does not point back") }
                if !jumped { offset = position + 2 }
                jumped = true
                limit = target
                position = target
                continue
            }
            guard length & 0xC0 == 0 else { throw .malformed("unknown label type") }
            if length == 0 {
                if !jumped { offset = position + 1 }
                return labels.joined(separator: ".")
            }
            guard position + 1 + length <= bytes.count else { throw .malformed("label runs past the end") }
            labels.append(String(decoding: bytes[position + 1..<position + 1 + length], as: UTF8.self))
            guard labels.count <= 127 else { throw .malformed("name with too many labels") }
            position += 1 + length
        }
    }

    /// RFC 5952 text: lower case, leading zeros dropped, the longest run of zero groups as `::`.
    static func ipv6Text(_ bytes: [UInt8]) -> String {
        let groups = (0..<8).map { Int(bytes[2 * $0]) << 8 | Int(bytes[2 * $0 + 1]) }
        var best = (start: -1, count: 0)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > best.count, end - index >= 2 { best = (index, end - index) }
            index = end
        }
        let hex = groups.map { String($0, radix: 16) }
        guard best.start >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<best.start].joined(separator: ":")
        let tail = hex[(best.start + best.count)...].joined(separator: ":")
        return head + "::" + tail
    }
}
