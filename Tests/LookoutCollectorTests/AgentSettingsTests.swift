import Foundation
import LookoutCollector
import LookoutCore
import Testing

@Suite struct AgentSettingsTests {
    let folder: String = {
        let path = NSTemporaryDirectory() + "lookout-settings-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    func writeConfig(_ text: String) -> String {
        let path = folder + "/agent.json"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test func vmIDComesFromFlagThenEnvironmentThenConfigThenHostName() throws {
        var options = AgentOptions()
        options.configPath = writeConfig(#"{"vm_id": "from-config"}"#)
        #expect(try AgentSettings.resolve(options, environment: [:], hostName: "host").vmID.rawValue == "from-config")
        #expect(
            try AgentSettings.resolve(options, environment: ["VM_ID": "from-env"], hostName: "host").vmID.rawValue
                == "from-env")
        options.vmID = "from-flag"
        #expect(
            try AgentSettings.resolve(options, environment: ["VM_ID": "from-env"], hostName: "host").vmID.rawValue
                == "from-flag")
        options = AgentOptions()
        #expect(try AgentSettings.resolve(options, environment: [:], hostName: "my-host").vmID.rawValue == "my-host")
    }

    @Test(arguments: [("../x", "--vm-id"), ("..", "--vm-id"), ("a/b", "--vm-id")])
    func refusesPathLikeVMIDs(_ id: String, source: String) throws {
        var options = AgentOptions()
        options.vmID = id
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(options, environment: [:], hostName: "host")
        }
        #expect(error.message.contains(source) && error.message.contains("invalid vm_id"), "\(error)")
    }

    @Test func environmentVMIDIsValidatedToo() throws {
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(AgentOptions(), environment: ["VM_ID": "../../etc"], hostName: "host")
        }
        #expect(error.message.hasPrefix("$VM_ID: invalid vm_id"))
    }

    @Test func defaultsToStdoutAndKnownPaths() throws {
        let settings = try AgentSettings.resolve(AgentOptions(), environment: [:], hostName: "h")
        #expect(settings.stdout)
        #expect(settings.procfs.root == "/proc")
        #expect(settings.diskPath == "/")
        #expect(settings.dockerSocket == "/var/run/docker.sock")
        #expect(settings.intervalSeconds == 300)
        #expect(settings.push == nil)
    }

    @Test func pushTakesTheTokenFromFlagEnvironmentOrFile() throws {
        let tokenFile = folder + "/token"
        _ = FileManager.default.createFile(atPath: tokenFile, contents: Data("file-token\n".utf8))
        var options = AgentOptions()
        options.configPath = writeConfig(
            #"{"push": {"url": "http://127.0.0.1:1/ingest", "token_file": "\#(tokenFile)"}}"#)
        options.statePath = folder + "/state.json"
        let fromFile = try AgentSettings.resolve(options, environment: [:], hostName: "h")
        #expect(fromFile.push?.token == "file-token")
        #expect(fromFile.push?.spoolFolder == folder + "/spool")
        #expect(fromFile.stdout == false)
        let fromEnv = try AgentSettings.resolve(options, environment: ["LOOKOUT_TOKEN": "env-token"], hostName: "h")
        #expect(fromEnv.push?.token == "env-token")
        options.token = "flag-token"
        #expect(
            try AgentSettings.resolve(options, environment: ["LOOKOUT_TOKEN": "env"], hostName: "h").push?.token
                == "flag-token")
    }

    @Test(arguments: [
        (#"{"vm_id": "../x"}"#, "vm_id: invalid vm_id \"../x\""),
        (#"{"intervall_seconds": 60}"#, "intervall_seconds: unknown key"),
        (#"{"interval_seconds": 0}"#, "interval_seconds: 0 is not between 1 and 86400"),
        (#"{"push": {"url": "ftp://hub/x"}}"#, "push.url: \"ftp://hub/x\" must start with http:// or https://"),
        (#"{"push": {"url": "http://hub/x", "token": "secret"}}"#, "push.token: unknown key"),
        (#"{"push": {"url": "http://hub/x", "spool_limit": -5}}"#, "push.spool_limit: -5 is not between"),
        (#"{"push": {"url": "http://hub/x", "replay_limit": 0}}"#, "push.replay_limit: 0 is not between 1 and 100000"),
        (#"{"services": {"id": "x"}}"#, "services: expected a list"),
        (#"{"disk_path": 7}"#, "disk_path: expected a string"),
        (#"{"vm_id": "a""#, "not valid JSON"),
        (#"{"ca_file": ""}"#, "ca_file: \"\" is empty"),
        (#"{"journal_samples": -1}"#, "journal_samples: -1 is not between 0 (no journal) and 100000"),
        (#"{"journal_samples": 100001}"#, "journal_samples: 100001 is not between 0 (no journal) and 100000"),
        (#"{"journal_samples": "288"}"#, "journal_samples: expected a whole number"),
    ])
    func badConfigNamesTheKeyAndValue(_ text: String, expected: String) throws {
        var options = AgentOptions()
        options.configPath = writeConfig(text)
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(options, environment: [:], hostName: "h")
        }
        #expect(error.message.contains(folder + "/agent.json"), "\(error)")
        #expect(error.message.contains(expected), "\(error)")
    }

    @Test func dataComesFromTheFlagElseTheConfigAndIsADestination() throws {
        var options = AgentOptions()
        options.configPath = writeConfig(#"{"data": "/srv/lookout"}"#)
        let fromConfig = try AgentSettings.resolve(options, environment: [:], hostName: "h")
        #expect(fromConfig.dataFolder == "/srv/lookout")
        #expect(!fromConfig.stdout, "a data folder in the config is a destination, so no stdout by default")
        options.dataFolder = "/tmp/flag"
        #expect(try AgentSettings.resolve(options, environment: [:], hostName: "h").dataFolder == "/tmp/flag")
    }

    @Test(arguments: [
        (#"{"data": "relative/data"}"#, #"data: "relative/data" is not an absolute path"#),
        (#"{"data": ""}"#, #"data: "" is not an absolute path"#),
        (#"{"data": 5}"#, "data: expected a string"),
        ("{\n  \"data\": \"/x\" // here\n}", "line 2: a comment after column 16"),
    ])
    func badDataOrCommentNamesTheFileAndTheProblem(_ text: String, expected: String) throws {
        var options = AgentOptions()
        options.configPath = writeConfig(text)
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(options, environment: [:], hostName: "h")
        }
        #expect(error.message.hasPrefix("config \(folder)/agent.json: "), "\(error)")
        #expect(error.message.contains(expected), "\(error)")
    }

    @Test func wholeLineCommentsAreAccepted() throws {
        var options = AgentOptions()
        options.configPath = writeConfig("// about\n{\n  // \"vm_id\": \"x\",\n  \"vm_id\": \"y\"\n}\n")
        #expect(try AgentSettings.resolve(options, environment: [:], hostName: "h").vmID.rawValue == "y")
    }

    @Test func replayLimitComesFromTheConfigElseTheDefault() throws {
        var options = AgentOptions()
        options.pushURL = "http://127.0.0.1:1/api/monitoring/ingest"
        #expect(try AgentSettings.resolve(options, environment: [:], hostName: "h").push?.replayLimit == 288)
        options.pushURL = nil
        options.configPath = writeConfig(#"{"push": {"url": "http://127.0.0.1:1/x", "replay_limit": 50}}"#)
        #expect(try AgentSettings.resolve(options, environment: [:], hostName: "h").push?.replayLimit == 50)
    }

    @Test func journalSamplesComeFromTheConfigElseADayOfFiveMinuteSamples() throws {
        var options = AgentOptions()
        #expect(try AgentSettings.resolve(options, environment: [:], hostName: "h").journalSamples == 288)
        options.configPath = writeConfig(#"{"journal_samples": 0}"#)
        #expect(try AgentSettings.resolve(options, environment: [:], hostName: "h").journalSamples == 0)
        options.configPath = writeConfig(#"{"journal_samples": 100000}"#)
        #expect(try AgentSettings.resolve(options, environment: [:], hostName: "h").journalSamples == 100_000)
    }

    @Test func lockWaitDefaultsToTenSecondsAndIsBounded() throws {
        var options = AgentOptions()
        #expect(try AgentSettings.resolve(options, environment: [:], hostName: "h").lockWait == .seconds(10))
        options.lockWaitSeconds = 0
        #expect(try AgentSettings.resolve(options, environment: [:], hostName: "h").lockWait == .zero)
        options.lockWaitSeconds = -1
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(options, environment: [:], hostName: "h")
        }
        #expect(error.message == "--lock-wait: -1 is not between 0 and 3600 seconds")
    }

    @Test func aMissingCAFileStopsTheAgentAtStart() throws {
        var options = AgentOptions()
        options.configPath = writeConfig(#"{"ca_file": "\#(folder)/nope.pem"}"#)
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(options, environment: [:], hostName: "h")
        }
        #expect(error.message.hasPrefix("ca_file: "), "\(error)")
        #expect(error.message.contains("\(folder)/nope.pem"), "\(error)")
    }

    @Test func aTokenWithALineBreakIsRefused() throws {
        var options = AgentOptions()
        options.pushURL = "http://127.0.0.1:1/api/monitoring/ingest"
        options.token = "abc\r\nX-Injected: 1"
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(options, environment: [:], hostName: "h")
        }
        #expect(error.message.contains("control character"), "\(error)")
    }

    @Test func missingConfigFileNamesThePath() throws {
        var options = AgentOptions()
        options.configPath = folder + "/nope.json"
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(options, environment: [:], hostName: "h")
        }
        #expect(error.message.contains("nope.json") && error.message.contains("No such file"), "\(error)")
    }

    @Test(arguments: ["not a url", "ftp://x/y", "http://", "file:///etc/passwd"])
    func badPushFlagIsRefused(_ url: String) throws {
        var options = AgentOptions()
        options.pushURL = url
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(options, environment: [:], hostName: "h")
        }
        #expect(error.message.hasPrefix("--push:"), "\(error)")
    }
}
