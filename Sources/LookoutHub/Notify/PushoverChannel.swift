import AsyncHTTPClient
import LookoutCore
import NIOCore
import NIOHTTP1

/// Pushover: `POST <api_url>/1/messages.json`, form-encoded `token`, `user`, `title` (at
/// most 250 characters), `message` (at most 1024), `priority` and, with a `public_url`,
/// `url` to the VM's page. Plain text (no `html=1`), so nothing is escaped.
extension ChatChannel {
    func pushoverRequest(_ notice: Notice) -> HTTPClientRequest {
        var fields = [
            ("token", secret), ("user", settings.recipient ?? ""), ("title", notice.subject.cut(characters: 250)),
            ("message", notice.body(publicURL: nil).cut(characters: 1024)),
            ("priority", String(Self.pushoverPriority(notice))),
        ]
        if let base = publicURL {
            fields.append(("url", HTTPDelivery.join(base, "/#vm/\(notice.alert.vmID)")))
            fields.append(("url_title", "Lookout dashboard"))
        }
        var request = HTTPClientRequest(url: HTTPDelivery.join(apiURL, "/1/messages.json"))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields)))
        return request
    }

    /// 1 (high: bypasses the user's quiet hours) for critical, 0 for warning, -1 (quiet)
    /// for resolved. Never 2 (emergency), which needs acknowledging and repeats until then.
    static func pushoverPriority(_ notice: Notice) -> Int {
        notice.kind == .resolved ? -1 : notice.alert.severity == .critical ? 1 : 0
    }
}

/// `application/x-www-form-urlencoded`, and the percent-encoding of path segments.
enum FormEncoding {
    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&")
    }

    /// Every byte outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`) as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
                || "-._~".unicodeScalars.contains(scalar)
            {
                result.unicodeScalars.append(scalar)
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return result
    }
}
