import AsyncHTTPClient
import LookoutCore
import NIOHTTP1

/// Telegram's Bot API: `POST <api_url>/bot<token>/sendMessage` with
/// `{"chat_id", "text", "parse_mode": "HTML", "link_preview_options": {"is_disabled": true}}`.
/// The subject is bold, everything else (VM-supplied text included) escaped as Telegram's
/// HTML mode asks (`&`, `<`, `>`), and the whole cut to its 4096-character limit.
extension ChatChannel {
    func telegramRequest(_ notice: Notice) -> HTTPClientRequest {
        Self.jsonRequest(
            HTTPDelivery.join(apiURL, "/bot\(secret)/sendMessage"),
            body: TelegramMessage(
                chatID: settings.recipient ?? "", text: Self.telegramText(notice, publicURL: publicURL)))
    }

    static func telegramText(_ notice: Notice, publicURL: String?) -> String {
        let subject = MarkupEscaping.html(notice.subject.cut(characters: 500))
        // Cut before escaping (an entity is never split); 4096 counts the text after parsing.
        return "<b>\(subject)</b>\n\(MarkupEscaping.html(notice.body(publicURL: publicURL).cut(characters: 3500)))"
    }

    struct TelegramMessage: Encodable {
        struct LinkPreview: Encodable { var isDisabled = true }
        let chatID: String
        let text: String
        var parseMode = "HTML"
        var linkPreviewOptions = LinkPreview()
        enum CodingKeys: String, CodingKey {
            case chatID = "chat_id", text, parseMode = "parse_mode", linkPreviewOptions = "link_preview_options"
        }
    }
}

extension ChatChannel.TelegramMessage.LinkPreview {
    enum CodingKeys: String, CodingKey { case isDisabled = "is_disabled" }
}
