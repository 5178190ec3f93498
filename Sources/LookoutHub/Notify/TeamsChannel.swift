import AsyncHTTPClient
import LookoutCore
import NIOHTTP1

/// Microsoft Teams through a Workflows webhook ("Post to a channel when a webhook request
/// is received"): `POST <workflow URL>` with a `message` whose one attachment is an
/// Adaptive Card (1.4): the subject as a bold heading (red for critical), the body below,
/// and a "Dashboard" button with a `public_url`. Card text is Markdown, so VM-supplied
/// text is escaped; the link is a button, not text, so it needs no escaping.
extension ChatChannel {
    func teamsRequest(_ notice: Notice) -> HTTPClientRequest {
        Self.jsonRequest(secret, body: Self.teamsCard(notice, publicURL: publicURL))
    }

    static func teamsCard(_ notice: Notice, publicURL: String?) -> TeamsMessage {
        let color =
            notice.kind == .resolved ? "Good" : notice.alert.severity == .critical ? "Attention" : "Warning"
        let actions = publicURL.map {
            [TeamsMessage.Action(title: "Dashboard", url: HTTPDelivery.join($0, "/#vm/\(notice.alert.vmID)"))]
        }
        let card = TeamsMessage.Card(
            body: [
                .init(text: MarkupEscaping.markdown(notice.subject), weight: "Bolder", size: "Medium", color: color),
                .init(text: MarkupEscaping.markdown(notice.body(publicURL: nil))),
            ], actions: actions)
        return TeamsMessage(attachments: [.init(content: card)])
    }

    struct TeamsMessage: Encodable {
        var type = "message"
        let attachments: [Attachment]

        init(attachments: [Attachment]) { self.attachments = attachments }

        struct Attachment: Encodable {
            var contentType = "application/vnd.microsoft.card.adaptive"
            let content: Card
            init(content: Card) { self.content = content }
        }

        struct Card: Encodable {
            var schema = "http://adaptivecards.io/schemas/adaptive-card.json"
            var type = "AdaptiveCard"
            var version = "1.4"
            let body: [TextBlock]
            let actions: [Action]?
            enum CodingKeys: String, CodingKey { case schema = "$schema", type, version, body, actions }

            init(body: [TextBlock], actions: [Action]?) {
                self.body = body
                self.actions = actions
            }
        }

        struct TextBlock: Encodable {
            var type = "TextBlock"
            let text: String
            var wrap = true
            var weight: String?
            var size: String?
            var color: String?

            init(text: String, weight: String? = nil, size: String? = nil, color: String? = nil) {
                self.text = text
                self.weight = weight
                self.size = size
                self.color = color
            }
        }

        struct Action: Encodable {
            var type = "Action.OpenUrl"
            let title: String
            let url: String
            init(title: String, url: String) {
                self.title = title
                self.url = url
            }
        }
    }
}
