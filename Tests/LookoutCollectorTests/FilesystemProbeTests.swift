import Foundation
import Logging
import LookoutCollector
import LookoutCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct FilesystemProbeTests {
    static func mounts(_ tree: String) throws -> [MountInfo.Mount] {
        try MountInfo.read(from: ProcFS(root: storageFixture(tree) + "/proc"))
    }

    /// statvfs for fixture trees, whose mount points do not exist here: a fixed figure per path.
    static let fakeStatvfs: FilesystemProbe.Statvfs = { path in
        DiskProbe.metrics(blocks: 1000, bfree: 250, bavail: 250, frsize: 1 << 20, path: path)
    }

    @Test func autoListsEveryRealBlockFilesystemOnceRootFirst() throws {
        let (chosen, skipped) = FilesystemProbe.select(.auto, mounts: try Self.mounts("bare-metal"))
        // Left out: tmpfs, devtmpfs, proc, sysfs, cgroup2, devpts, overlay, squashfs (a snap), fuse.sshfs,
        // nfs4 (not a /dev source), /mnt/data (its ext4 hidden under a tmpfs), and the bind mounts.
        #expect(chosen.map(\.mountPoint) == ["/", "/boot/efi", "/media/usb", "/mnt/my disk", "/srv/backup"])
        #expect(chosen.map(\.fstype) == ["ext4", "vfat", "fuseblk", "ext4", "xfs"])
        // Bind mounts of a listed device: counted once, under the shortest mount point.
        #expect(
            skipped == [
                .init(path: "/var/www", reason: "the same filesystem as /srv/backup, counted once"),
                .init(path: "/srv/shared\\dir", reason: "the same filesystem as /, counted once"),
            ])
    }

    @Test func aConfiguredListIsMeasuredInItsOrderAndExplainsWhatItSkips() throws {
        let existing = FileManager.default.currentDirectoryPath
        let selection = FilesystemSelection.paths([
            "/srv/backup", "/", "/var/www", "/no/such/dir", existing, "/mnt/data",
        ])
        let (chosen, skipped) = FilesystemProbe.select(
            selection, mounts: try Self.mounts("bare-metal"), exists: { $0 != "/no/such/dir" })
        // The operator asked for /mnt/data: its visible mount (a tmpfs) is measured, whatever its type.
        #expect(chosen.map(\.mountPoint) == ["/", "/srv/backup", "/mnt/data"])
        #expect(chosen.last?.fstype == "tmpfs")
        let reasons = Dictionary(uniqueKeysWithValues: skipped.map { ($0.path, $0.reason) })
        #expect(reasons["/var/www"] == "the same filesystem as /srv/backup, counted once")
        #expect(reasons["/no/such/dir"] == "it does not exist")
        #expect(reasons[existing] == "it is not a mount point (it lives on the filesystem of /)")
        #expect(skipped.count == 3)
    }

    @Test func noMoreThanSixtyFourEntries() throws {
        var text = "1 0 8:0 / / rw - ext4 /dev/sda rw\n"
        for i in 1...80 { text += "\(i + 1) 1 9:\(i) / /mnt/d\(i) rw - ext4 /dev/md\(i) rw\n" }
        let (chosen, skipped) = FilesystemProbe.select(.auto, mounts: try MountInfo.parse(text, path: "/fake"))
        #expect(chosen.count == 64)
        #expect(skipped.count == 17)
        #expect(skipped.allSatisfy { $0.reason == "more than 64 filesystems" })
    }

    @Test func aMountPointWithAControlCharacterIsSkippedNotSent() throws {
        let text = "1 0 8:0 / / rw - ext4 /dev/sda rw\n2 1 8:1 / /mnt/a\\012b rw - ext4 /dev/sda1 rw\n"
        let (chosen, skipped) = FilesystemProbe.select(.auto, mounts: try MountInfo.parse(text, path: "/fake"))
        #expect(chosen.map(\.mountPoint) == ["/"])
        #expect(skipped.map(\.path) == ["/mnt/a b"])
    }

    @Test func readMeasuresWithTheInjectedStatvfsAndWarnsOncePerPath() throws {
        let logs = CapturedLogs()
        let probe = FilesystemProbe(
            selection: .paths(["/srv/backup", "/no/such/dir"]), logger: logs.logger,
            statvfs: { path throws(CollectorError) in
                if path == "/srv/backup" { throw CollectorError("statvfs: Permission denied") }
                return try Self.fakeStatvfs(path)
            })
        let mounts = try Self.mounts("bare-metal")
        for _ in 0..<3 {
            let filesystems = probe.read(mounts: mounts)
            #expect(
                filesystems == [
                    FilesystemMetrics(
                        path: "/", device: "/dev/sda2", fstype: "ext4", totalGB: 1, usedGB: 0.7, percent: 75)
                ])
        }
        #expect(
            logs.notices.map(\.message) == [
                "filesystems: /no/such/dir skipped: it does not exist",
                "filesystems: /srv/backup skipped: statvfs: Permission denied",
            ])
    }

    @Test func noRootMountMeansNoFilesystemsAndOneWarning() throws {
        let logs = CapturedLogs()
        let probe = storageProbe("no-root-mount", logs: logs)
        #expect(probe.readFilesystems(mounts: probe.mounts()) == nil)
        #expect(probe.readFilesystems(mounts: probe.mounts()) == nil)
        #expect(logs.notices.map(\.message) == ["filesystems left out: mountinfo lists no mount on /"])
    }

    /// The real thing: a tmpfs this test mounts, found in this process's mountinfo and
    /// measured by statvfs. Needs root (the test machines run as root); without it the
    /// test fails and says why instead of passing without having measured anything.
    @Test func aTmpfsMountedByTheTestIsMeasuredByStatvfs() throws {
        try #require(geteuid() == 0, "this test mounts a tmpfs: run the tests as root (id -u is \(geteuid()))")
        let point = NSTemporaryDirectory() + "lookout-tmpfs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let mounted = Process()
        mounted.executableURL = URL(fileURLWithPath: "/bin/mount")
        mounted.arguments = ["-t", "tmpfs", "-o", "size=1g", "lookout-test", point]
        try mounted.run()
        mounted.waitUntilExit()
        try #require(mounted.terminationStatus == 0, "mount -t tmpfs failed (status \(mounted.terminationStatus))")
        defer {
            let unmount = Process()
            unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
            unmount.arguments = [point]
            try? unmount.run()
            unmount.waitUntilExit()
            try? FileManager.default.removeItem(atPath: point)
        }
        // 128 MiB of a 1 GiB tmpfs: 12.5 %.
        let file = point + "/fill"
        #expect(FileManager.default.createFile(atPath: file, contents: Data(count: 128 << 20)))
        let logs = CapturedLogs()
        let probe = StorageProbe(
            procfs: ProcFS(), sysfs: ProcFS(root: "/sys"), filesystems: .paths([point + "/"]), logger: logs.logger)
        let filesystems = try #require(probe.readFilesystems(mounts: probe.mounts()))
        #expect(filesystems.first?.path == "/")
        let tmpfs = try #require(filesystems.last)
        #expect(
            tmpfs
                == FilesystemMetrics(
                    path: point, device: "lookout-test", fstype: "tmpfs", totalGB: 1, usedGB: 0.1, percent: 12.5))
        #expect(logs.notices.isEmpty, "\(logs.notices.map(\.message))")
        // "auto" leaves a tmpfs out.
        let auto = StorageProbe(procfs: ProcFS(), sysfs: ProcFS(root: "/sys"), filesystems: .auto, logger: logs.logger)
        #expect(auto.readFilesystems(mounts: auto.mounts())?.contains { $0.path == point } == false)
    }

    // MARK: config

    func decode(_ json: String) throws -> AgentConfiguration {
        try JSONDecoder().decode(AgentConfiguration.self, from: Data(json.utf8))
    }

    @Test func configTakesAutoOrAListAndADevice() throws {
        #expect(try decode(#"{"filesystems": "auto"}"#).filesystems == .auto)
        #expect(
            try decode(#"{"filesystems": ["/srv/backup/", "/var/lib/docker"]}"#).filesystems
                == .paths(["/srv/backup", "/var/lib/docker"]))
        #expect(try decode("{}").filesystems == nil)
        #expect(try decode(#"{"disk_io": {"device": "vdb"}}"#).diskIO?.device == "vdb")
        #expect(try decode(#"{"disk_io": {"device": "/dev/nvme1n1"}}"#).diskIO?.device == "nvme1n1")
        #expect(try decode(#"{"disk_io": {}}"#).diskIO?.device == nil)
    }

    @Test(arguments: [
        (#"{"filesystems": "all"}"#, #"filesystems: "all" is neither "auto" nor a list of mount points"#),
        (#"{"filesystems": ["srv/backup"]}"#, #"filesystems[0]: "srv/backup" is not an absolute path"#),
        (#"{"filesystems": ["/a", "/b/", "/b"]}"#, #"filesystems[2]: "/b" is listed twice"#),
        (#"{"filesystems": ["/a\nb"]}"#, "filesystems[0]: \"/a b\" holds a control character"),
        (#"{"filesystems": 7}"#, "filesystems: expected"),
        (#"{"disk_io": {"device": "vd/b"}}"#, #"disk_io.device: "vd/b" is not a device name"#),
        (#"{"disk_io": {"device": ""}}"#, "disk_io.device: is empty"),
        (#"{"disk_io": {"devices": "vdb"}}"#, "disk_io.devices: unknown key"),
    ])
    func badStorageConfigNamesTheKey(_ text: String, expected: String) throws {
        let folder = NSTemporaryDirectory() + "lookout-storage-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var options = AgentOptions()
        options.configPath = folder + "/agent.json"
        try text.write(toFile: folder + "/agent.json", atomically: true, encoding: .utf8)
        let error = try #require(throws: CollectorError.self) {
            try AgentSettings.resolve(options, environment: [:], hostName: "h")
        }
        #expect(error.message.contains(expected), "\(error)")
    }

    @Test func tooManyConfiguredMountPointsAreAConfigError() throws {
        let list = (1...64).map { "\"/mnt/d\($0)\"" }.joined(separator: ",")
        #expect(throws: DecodingError.self) { try decode(#"{"filesystems": [\#(list)]}"#) }
    }

    @Test func settingsCarryTheStorageKeysToTheCollector() throws {
        let folder = NSTemporaryDirectory() + "lookout-storage-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try #"{"filesystems": ["/srv/backup"], "disk_io": {"device": "vdb"}}"#.write(
            toFile: folder + "/agent.json", atomically: true, encoding: .utf8)
        var options = AgentOptions()
        options.configPath = folder + "/agent.json"
        let settings = try AgentSettings.resolve(options, environment: [:], hostName: "h")
        #expect(settings.filesystems == .paths(["/srv/backup"]))
        #expect(settings.diskIODevice == "vdb")
        let collector = Collector(settings: settings, logger: CapturedLogs().logger)
        #expect(collector.storage.diskIODevice == "vdb")
        #expect(collector.storage.filesystems.selection == .paths(["/srv/backup"]))
        let defaults = try AgentSettings.resolve(AgentOptions(), environment: [:], hostName: "h")
        #expect(defaults.filesystems == .paths([]) && defaults.diskIODevice == nil)
    }
}
