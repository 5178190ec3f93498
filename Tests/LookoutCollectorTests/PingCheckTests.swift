import Foundation
import Logging
import LookoutCore
import Testing

@testable import LookoutCollector

/// The ping check's config, packets and a real echo to the loopback (the system tests in
/// tests/test_ping.py cover loss, both socket kinds and a machine without any).
@Suite struct PingCheckTests {
    let checker = ServiceChecker(logger: Logger(label: "lookout.test"))

    @Test func theLoopbackAnswersEveryEcho() async throws {
        let status = await checker.check(
            ServiceCheckConfig(
                id: "lo", target: .ping(host: "127.0.0.1", count: 3, maxLossPercent: 50), timeoutMS: 10_000))
        #expect(status.healthy, "\(status)")
        #expect(status.lossPercent == 0)
        #expect(status.error == nil)
        #expect(status.responseMS >= 0 && status.responseMS < 1000)
    }

    @Test func aNameThatDoesNotResolveIsUnhealthyWithoutALossFigure() async throws {
        let status = await checker.check(
            ServiceCheckConfig(
                id: "x", target: .ping(host: "no-such-host.invalid", count: 1, maxLossPercent: 50), timeoutMS: 10_000))
        #expect(!status.healthy)
        #expect(status.lossPercent == nil)
        #expect(status.error?.hasPrefix("could not resolve no-such-host.invalid") == true, "\(status)")
    }

    @Test func theChecksumIsRFC1071s() {
        // The example of RFC 1071 §3: the one's complement sum is 0xddf2.
        #expect(PingCheck.checksum([0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]) == ~UInt16(0xDDF2))
        let packet = PingCheck.echoRequest(v6: false, identifier: 0xBEEF, sequence: 7, token: Array(1...8))
        #expect(PingCheck.checksum(packet) == 0, "a packet with its checksum in place sums to zero")
        #expect(packet.count == 8 + PingCheck.payloadLength)
        #expect(Array(packet[4..<8]) == [0xBE, 0xEF, 0, 7])
    }

    @Test func onlyTheAnswerToThisEchoCounts() {
        let token: [UInt8] = Array(1...8)
        var reply = PingCheck.echoRequest(v6: false, identifier: 0x1234, sequence: 2, token: token)
        #expect(!PingCheck.isReply(reply, v6: false, identifier: 0x1234, sequence: 2, token: token), "own request")
        reply[0] = 0
        #expect(PingCheck.isReply(reply, v6: false, identifier: 0x1234, sequence: 2, token: token))
        #expect(PingCheck.isReply(reply, v6: false, identifier: nil, sequence: 2, token: token), "datagram socket")
        #expect(!PingCheck.isReply(reply, v6: false, identifier: 0x4321, sequence: 2, token: token), "other program")
        #expect(!PingCheck.isReply(reply, v6: false, identifier: 0x1234, sequence: 3, token: token), "other echo")
        #expect(!PingCheck.isReply(reply, v6: false, identifier: 0x1234, sequence: 2, token: Array(2...9)))
        #expect(!PingCheck.isReply(reply, v6: true, identifier: 0x1234, sequence: 2, token: token), "v4 type")
        #expect(!PingCheck.isReply(Array(reply.prefix(10)), v6: false, identifier: nil, sequence: 2, token: token))
    }

    @Test func theMedianIgnoresOneSlowEcho() {
        var outcome = PingCheck.Outcome(sent: 4, roundTrips: [1, 2, 3, 90], sendError: nil, socketKind: "raw")
        #expect(outcome.medianMS == 2.5)
        #expect(outcome.lossPercent == 0)
        outcome = PingCheck.Outcome(sent: 3, roundTrips: [9, 1], sendError: nil, socketKind: "raw")
        #expect(outcome.medianMS == 5)
        #expect(abs(outcome.lossPercent - 100.0 / 3) < 1e-9)
        outcome = PingCheck.Outcome(sent: 3, roundTrips: [], sendError: nil, socketKind: "raw")
        #expect(outcome.medianMS == nil)
        #expect(outcome.lossPercent == 100)
    }

    @Test(arguments: [
        (#"{"id": "gw", "ping": "10.0.0.1"}"#, "10.0.0.1", 3, 50.0),
        (#"{"id": "gw", "ping": "gw.internal", "count": 10, "max_loss_percent": 20}"#, "gw.internal", 10, 20),
        (#"{"id": "gw", "ping": "[fe80::1]", "count": 1, "max_loss_percent": 100}"#, "fe80::1", 1, 100),
        (#"{"id": "gw", "ping": "2001:db8::1"}"#, "2001:db8::1", 3, 50),
    ])
    func goodPingConfigsDecodeAndRoundTrip(json: String, host: String, count: Int, maxLoss: Double) throws {
        let decoded = try JSONDecoder().decode(ServiceCheckConfig.self, from: Data(json.utf8))
        #expect(decoded.target == .ping(host: host, count: count, maxLossPercent: maxLoss))
        let again = try JSONDecoder().decode(ServiceCheckConfig.self, from: JSONEncoder().encode(decoded))
        #expect(again == decoded)
    }

    @Test(arguments: [
        (#"{"id": "a", "ping": ""}"#, "ping", "empty"),
        (#"{"id": "a", "ping": "gw:80"}"#, "ping", "has a port"),
        (#"{"id": "a", "ping": "http://gw"}"#, "ping", "without a scheme"),
        (#"{"id": "a", "ping": "g w"}"#, "ping", "space"),
        (#"{"id": "a", "ping": "gw", "count": 0}"#, "count", "between 1 and 100"),
        (#"{"id": "a", "ping": "gw", "max_loss_percent": -1}"#, "max_loss_percent", "above 0"),
        (#"{"id": "a", "ping": "gw", "url": "http://gw"}"#, "ping", "both set"),
        (#"{"id": "a", "ping": "gw", "keyword": "ok"}"#, "keyword", "no body"),
        (#"{"id": "a", "url": "http://gw", "max_loss_percent": 5}"#, "max_loss_percent", "only a \"ping\""),
        (#"{"id": "a"}"#, "", "\"ping\" nor"),
    ])
    func badPingConfigsNameTheKey(json: String, path: String, mention: String) throws {
        let error = try #require(throws: DecodingError.self) {
            try JSONDecoder().decode(ServiceCheckConfig.self, from: Data(json.utf8))
        }
        let message = DocumentError(error)
        #expect(message.path == path)
        #expect(message.reason.contains(mention), "\(message)")
    }
}
