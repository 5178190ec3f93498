import LookoutCollector
import Testing

@Suite struct MountInfoTests {
    typealias Mount = MountInfo.Mount

    @Test(
        arguments: [
            (
                "the proc(5) example, one optional field",
                "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
                Mount(major: 98, minor: 0, root: "/mnt1", mountPoint: "/mnt2", fstype: "ext3", source: "/dev/root")
            ),
            (
                "no optional fields",
                "22 28 0:21 / /proc rw,relatime - proc proc rw",
                Mount(major: 0, minor: 21, root: "/", mountPoint: "/proc", fstype: "proc", source: "proc")
            ),
            (
                "several optional fields",
                "27 1 8:2 / / rw,relatime shared:1 master:3 propagate_from:2 unbindable - ext4 /dev/sda2 rw",
                Mount(major: 8, minor: 2, root: "/", mountPoint: "/", fstype: "ext4", source: "/dev/sda2")
            ),
            (
                "space, tab, line feed and backslash escaped",
                #"32 27 8:33 /a\011b /mnt/my\040disk\134x\012y rw - ext4 /dev/disk\040one rw"#,
                Mount(
                    major: 8, minor: 33, root: "/a\tb", mountPoint: "/mnt/my disk\\x\ny", fstype: "ext4",
                    source: "/dev/disk one")
            ),
            (
                "a backslash without three octal digits stays",
                #"32 27 8:33 / /mnt/a\9b\04 rw - ext4 /dev/sdc1 rw"#,
                Mount(major: 8, minor: 33, root: "/", mountPoint: #"/mnt/a\9b\04"#, fstype: "ext4", source: "/dev/sdc1")
            ),
            (
                "an empty source keeps the later fields in place",
                "40 27 0:43 / /mnt/x rw - tmpfs  rw,size=4k",
                Mount(major: 0, minor: 43, root: "/", mountPoint: "/mnt/x", fstype: "tmpfs", source: "")
            ),
            (
                "a namespace file: its root is no path",
                "55 26 0:4 net:[4026532301] /run/docker/netns/a1 rw shared:35 - nsfs nsfs rw",
                Mount(
                    major: 0, minor: 4, root: "net:[4026532301]", mountPoint: "/run/docker/netns/a1", fstype: "nsfs",
                    source: "nsfs")
            ),
            (
                "a bind mount of a subdirectory",
                "31 27 8:17 /www /var/www rw,relatime shared:8 - xfs /dev/sdb1 rw,attr2",
                Mount(major: 8, minor: 17, root: "/www", mountPoint: "/var/www", fstype: "xfs", source: "/dev/sdb1")
            ),
        ] as [(String, String, Mount)])
    func parsesALine(_ label: String, line: String, expected: Mount) throws {
        #expect(try MountInfo.parse(line + "\n", path: "/fake/self/mountinfo") == [expected])
    }

    @Test(arguments: [
        "28 1 259:x / / rw - ext4 /dev/vda1 rw",
        "28 1 259 / / rw - ext4 /dev/vda1 rw",
        "28 1 8:1 / / rw shared:1 ext4 /dev/vda1 rw",
        "28 1 8:1 / / rw -",
        "28 1 8:1 / relative rw - ext4 /dev/vda1 rw",
        "garbage",
    ])
    func rejectsADamagedLineNamingIt(line: String) {
        let text = "22 28 0:21 / /proc rw,relatime - proc proc rw\n\(line)\n"
        #expect(throws: CollectorError.malformed("/fake/self/mountinfo", "mountinfo line \"\(line)\"")) {
            try MountInfo.parse(text, path: "/fake/self/mountinfo")
        }
    }

    @Test func theLastMountOnAPointIsTheVisibleOne() throws {
        let mounts = try MountInfo.parse(
            """
            27 1 8:2 / / rw - ext4 /dev/sda2 rw
            36 27 8:65 / /mnt/data rw - ext4 /dev/sde1 rw
            37 36 0:41 / /mnt/data rw - tmpfs tmpfs rw
            50 27 0:52 / / rw - overlay overlay rw
            """, path: "/fake")
        #expect(MountInfo.visible(at: "/mnt/data", in: mounts)?.fstype == "tmpfs")
        #expect(MountInfo.visible(at: "/", in: mounts)?.fstype == "overlay")
        #expect(MountInfo.visible(at: "/srv", in: mounts) == nil)
        #expect(mounts.first?.deviceNumber == "8:2")
    }

    @Test func readsTheFileUnderTheProcfsRoot() throws {
        let procfs = ProcFS(root: storageFixture("bare-metal") + "/proc")
        let mounts = try MountInfo.read(from: procfs)
        #expect(mounts.count == 19)
        #expect(mounts.contains { $0.mountPoint == "/mnt/my disk" && $0.source == "/dev/sdc1" })
        #expect(mounts.contains { $0.mountPoint == "/srv/shared\\dir" })
        let missing = ProcFS(root: storageFixture("no-such-tree") + "/proc")
        #expect(throws: CollectorError.self) { try MountInfo.read(from: missing) }
    }
}
