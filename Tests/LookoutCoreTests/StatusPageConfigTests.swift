import Foundation
import LookoutCore
import Testing

/// `status_page`: every key and name checked, each refusal naming the key.
@Suite struct StatusPageConfigTests {
    func parse(_ statusPage: String) throws(ConfigError) -> MonitoringConfig {
        try MonitoringConfig.parse(Array(#"{"status_page": \#(statusPage)}"#.utf8))
    }

    @Test func offUnlessConfigured() throws {
        #expect(try MonitoringConfig.parse(Array("{}".utf8)).statusPage == nil)
    }

    @Test func readsTitleVMsAndServices() throws {
        let config = try parse(
            #"""
            {"title": "Example status", "vms": {"web-1": "Website"},
             "services": {"web-1/site": "Site", "mail-1/imaps": "Mail"}}
            """#)
        let page = try #require(config.statusPage)
        #expect(page.title == "Example status")
        #expect(page.vms == [try VMID(validating: "web-1"): "Website"])
        let imaps = StatusPageConfig.ServiceKey(vmID: try VMID(validating: "mail-1"), serviceID: "imaps")
        #expect(page.services[imaps] == "Mail")
        #expect(page.services.count == 2)
    }

    @Test func aServiceIDMayHoldASlash() throws {
        let page = try #require(try parse(#"{"title": "S", "services": {"web-1/api/v2": "API"}}"#).statusPage)
        #expect(page.services.keys.first?.serviceID == "api/v2")
        #expect(page.services.keys.first?.vmID.rawValue == "web-1")
    }

    @Test(arguments: [
        (#"{"title": "S", "vms": {"web-1": "W"}, "colour": "red"}"#, "status_page.colour: unknown key"),
        (#"{"vms": {"web-1": "W"}}"#, "status_page.title: missing"),
        (#"{"title": "", "vms": {"web-1": "W"}}"#, "status_page.title: \"\" must be 1 to 100 characters"),
        (
            #"{"title": "\#(String(repeating: "x", count: 101))", "vms": {"web-1": "W"}}"#,
            "status_page.title: \"xxxx"
        ),
        (#"{"title": "A\u0007B", "vms": {"web-1": "W"}}"#, "status_page.title: holds the control character U+0007"),
        (#"{"title": "S"}"#, "status_page: lists nothing"),
        (#"{"title": "S", "vms": {}, "services": {}}"#, "status_page: lists nothing"),
        (#"{"title": "S", "vms": {"../x": "W"}}"#, "status_page.vms.../x: invalid vm_id"),
        (#"{"title": "S", "vms": {"web-1": ""}}"#, "status_page.vms.web-1: \"\" must be 1 to 100"),
        (#"{"title": "S", "vms": {"web-1": "W\nX"}}"#, "status_page.vms.web-1: holds the control character U+000A"),
        (#"{"title": "S", "vms": {"web-1": 3}}"#, "status_page.vms.web-1: "),
        (
            #"{"title": "S", "services": {"web-1": "W"}}"#,
            "status_page.services.web-1: expected \"<vm_id>/<service_id>\""
        ),
        (#"{"title": "S", "services": {"web-1/": "W"}}"#, "status_page.services.web-1/: the service id after"),
        (#"{"title": "S", "services": {"/site": "W"}}"#, "status_page.services./site: the vm_id before \"/\""),
        (#"{"title": "S", "services": {"history/site": "W"}}"#, "status_page.services.history/site: the vm_id"),
        (
            #"{"title": "S", "services": {"web-1/\#(String(repeating: "s", count: 129))": "W"}}"#,
            "must be 1 to 128 bytes long"
        ),
        (#"{"title": "S", "services": {"web-1/a\tb": "W"}}"#, "the service id holds the control character U+0009"),
        (
            #"{"title": "S", "services": {"web-1/site": "\u0085"}}"#,
            "status_page.services.web-1/site: holds the control"
        ),
        (#"["web-1"]"#, "status_page: "),
    ])
    func refusalsNameTheKey(_ text: String, expected: String) throws {
        let error = try #require(throws: ConfigError.self) { try parse(text) }
        #expect(error.message.contains(expected), "\(error.message)")
    }

    @Test func namesUpToOneHundredCharactersAreAccepted() throws {
        let name = String(repeating: "é", count: 100)
        let page = try #require(try parse(#"{"title": "\#(name)", "vms": {"web-1": "\#(name)"}}"#).statusPage)
        #expect(page.title == name)
    }
}
