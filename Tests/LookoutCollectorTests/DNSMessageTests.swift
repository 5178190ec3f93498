import Foundation
import LookoutCore
import Testing

@testable import LookoutCollector

/// The DNS check's wire format: the query it sends and the answers it reads, hostile ones
/// included (tests/test_dns.py asks a live server through the agent).
@Suite struct DNSMessageTests {
    /// An answer to query 0x1234 for example.com with `records` (type, data) after the
    /// question, each owner name a pointer to the question's name (offset 12).
    static func answer(id: UInt16 = 0x1234, rcode: UInt8 = 0, _ records: [(UInt16, [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = [
            UInt8(id >> 8), UInt8(id & 0xFF), 0x81, 0x80 | rcode, 0, 1, 0, UInt8(records.count), 0, 0, 0, 0,
        ]
        bytes += [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 1, 0, 1]
        for (type, data) in records {
            bytes += [0xC0, 12, UInt8(type >> 8), UInt8(type & 0xFF), 0, 1, 0, 0, 0, 60, 0, UInt8(data.count)] + data
        }
        return bytes
    }

    @Test func theQueryAsksOneQuestionWithRecursionAndOffersEDNS0() {
        let query = DNSMessage.query(id: 0xABCD, name: "mail.example.com", type: .mx)
        // One question and one additional record (the OPT).
        #expect(Array(query[0..<12]) == [0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1])
        #expect(
            Array(query[12...]) == [4] + Array("mail".utf8) + [7] + Array("example".utf8) + [3] + Array("com".utf8)
                + [0, 0, 15, 0, 1]
                // OPT: root name, type 41, payload 4096 as the class, TTL 0, no data.
                + [0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0])
    }

    @Test func aTruncatedAnswerIsMarkedAndItsCutRecordsAreNotRead() throws {
        var bytes = Self.answer([(16, [200] + Array("v=spf1".utf8))])
        bytes[2] |= 0x02  // TC, and the TXT record ends mid-string
        let answer = try #require(try DNSMessage.parse(bytes, id: 0x1234, type: .txt))
        #expect(answer == .init(rcode: 0, truncated: true, records: []))
        bytes[2] &= ~0x02
        #expect(throws: DNSMessage.ParseError.self) { try DNSMessage.parse(bytes, id: 0x1234, type: .txt) }
    }

    @Test func recordsOfTheAskedTypeAreRead() throws {
        let bytes = Self.answer([(1, [192, 0, 2, 10]), (5, [0xC0, 12]), (1, [192, 0, 2, 11])])
        let answer = try #require(try DNSMessage.parse(bytes, id: 0x1234, type: .a))
        #expect(answer == .init(rcode: 0, truncated: false, records: ["192.0.2.10", "192.0.2.11"]))
        let cname = try #require(try DNSMessage.parse(bytes, id: 0x1234, type: .cname))
        #expect(cname.records == ["example.com"])
    }

    @Test func mxTxtAndAAAAReadAsPeopleWriteThem() throws {
        let v6: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
        let bytes = Self.answer([
            (15, [0, 10, 4] + Array("mail".utf8) + [0xC0, 12]), (16, [3] + Array("abc".utf8) + [2] + Array("de".utf8)),
            (28, v6),
        ])
        #expect(try DNSMessage.parse(bytes, id: 0x1234, type: .mx)?.records == ["10 mail.example.com"])
        #expect(try DNSMessage.parse(bytes, id: 0x1234, type: .txt)?.records == ["abcde"])
        #expect(try DNSMessage.parse(bytes, id: 0x1234, type: .aaaa)?.records == ["2001:db8::1"])
    }

    @Test func anAnswerToAnotherQueryIsSkipped() throws {
        #expect(try DNSMessage.parse(Self.answer(id: 0x9999, []), id: 0x1234, type: .a) == nil)
        #expect(try DNSMessage.parse(Self.answer(rcode: 3, []), id: 0x1234, type: .a)?.rcode == 3)
    }

    @Test func hostileAnswersAreMalformedNotACrashOrALoop() {
        var looping = Self.answer([])
        looping[12] = 0xC0
        looping[13] = 12  // the question's name points at itself
        #expect(throws: DNSMessage.ParseError.self) { try DNSMessage.parse(looping, id: 0x1234, type: .a) }
        let cut = Array(Self.answer([(1, [192, 0, 2, 10])]).dropLast(2))
        #expect(throws: DNSMessage.ParseError.self) { try DNSMessage.parse(cut, id: 0x1234, type: .a) }
        let wrongLength = Self.answer([(1, [192, 0, 2])])
        #expect(throws: DNSMessage.ParseError.self) { try DNSMessage.parse(wrongLength, id: 0x1234, type: .a) }
        #expect(throws: DNSMessage.ParseError.self) { try DNSMessage.parse([0x12, 0x34], id: 0x1234, type: .a) }
    }

    @Test(
        arguments: [
            ([0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1], "2001:db8::1:0:0:1"),
            ([UInt8](repeating: 0, count: 15) + [1], "::1"),
            ([UInt8](repeating: 0, count: 16), "::"),
            ([0xFE, 0x80] + [UInt8](repeating: 0, count: 14), "fe80::"),
            ([0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0], "1:0:1:0:1:0:1:0"),
        ] as [([UInt8], String)])
    func ipv6TextIsRFC5952(bytes: [UInt8], text: String) {
        #expect(DNSMessage.ipv6Text(bytes) == text)
    }

    @Test func aDNSConfigDecodesCanonicallyAndRoundTrips() throws {
        let json =
            #"{"id": "n", "dns": "Example.COM.", "type": "aaaa", "expect": ["2001:DB8:0::1"], "server": "[::1]:5353"}"#
        let decoded = try JSONDecoder().decode(ServiceCheckConfig.self, from: Data(json.utf8))
        #expect(
            decoded.target
                == .dns(
                    name: "Example.COM", type: .aaaa, expect: ["2001:db8::1"],
                    server: DNSServer(host: "::1", port: 5353)))
        let again = try JSONDecoder().decode(ServiceCheckConfig.self, from: JSONEncoder().encode(decoded))
        #expect(again == decoded)
        let bare = try JSONDecoder().decode(ServiceCheckConfig.self, from: Data(#"{"id": "n", "dns": "x.test"}"#.utf8))
        #expect(bare.target == .dns(name: "x.test", type: .a, expect: [], server: nil))
    }

    @Test func withoutAServerTheFirstNameserverOfResolvConfIsAsked() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("resolv-\(UUID()).conf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "# written by hand\nsearch example.com\nnameserver 10.0.0.53\nnameserver 10.0.0.54\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try DNSServer.system(resolvConf: path) == DNSServer(host: "10.0.0.53", port: 53))
        try "search example.com\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: NetworkError.invalidRequest("no \"server\" set and \(path) names no nameserver")) {
            try DNSServer.system(resolvConf: path)
        }
    }
}
