import Foundation
import LookoutCollector

/// `Fixtures/storage/<name>`: a procfs (`proc/`) and, where the case needs one, a sysfs
/// (`sys/`) tree of a machine's storage.
func storageFixture(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/storage/\(name)").path
}

/// The probe of a storage fixture tree; its sysfs is `sys/`, absent in most trees.
func storageProbe(
    _ name: String, diskIODevice: String? = nil, filesystems: FilesystemSelection = .paths([]),
    logs: CapturedLogs = CapturedLogs()
) -> StorageProbe {
    let root = storageFixture(name)
    return StorageProbe(
        procfs: ProcFS(root: root + "/proc"), sysfs: ProcFS(root: root + "/sys"), diskIODevice: diskIODevice,
        filesystems: filesystems, logger: logs.logger)
}
