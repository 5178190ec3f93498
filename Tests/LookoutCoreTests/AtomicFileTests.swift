import Foundation
import LookoutCore
import Testing

@Suite struct AtomicFileTests {
    let folder: String = {
        let path = NSTemporaryDirectory() + "lookout-atomic-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    @Test func writesReplacesAndLeavesNoTempFiles() throws {
        let path = folder + "/metrics.json"
        try AtomicFile.write(Array("first".utf8), to: path)
        try AtomicFile.write(Array("second".utf8), to: path)
        #expect(try AtomicFile.read(path, limit: 100) == Array("second".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["metrics.json"])
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
    }

    @Test func failsWithThePathWhenTheFolderIsMissing() {
        let error = #expect(throws: FileError.self) {
            try AtomicFile.write(Array("x".utf8), to: folder + "/missing/metrics.json")
        }
        #expect(error?.description.contains("/missing/") == true)
    }

    @Test func readRefusesFilesOverTheLimit() throws {
        let path = folder + "/big"
        try AtomicFile.write([UInt8](repeating: 65, count: 5000), to: path)
        let error = #expect(throws: FileError.self) { try AtomicFile.read(path, limit: 4096) }
        #expect(error?.description.contains("larger than 4096") == true)
        #expect(try AtomicFile.read(path, limit: 5000).count == 5000)
    }

    @Test func makeDirectoriesCreatesParents() throws {
        try AtomicFile.makeDirectories(folder + "/a/b/c")
        try AtomicFile.makeDirectories(folder + "/a/b/c")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: folder + "/a/b/c", isDirectory: &isDirectory))
        #expect(isDirectory.boolValue)
    }
}
