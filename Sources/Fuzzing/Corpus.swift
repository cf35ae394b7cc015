import Foundation

/// The committed seed inputs of the fuzz targets: `Tests/Corpus/<target>/`, one input a file.
public enum Corpus {
    /// The `Tests/Corpus` folder of the checkout this file was compiled from.
    public static var defaultRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // Fuzzing
            .deletingLastPathComponent()  // Sources
            .deletingLastPathComponent()
            .appendingPathComponent("Tests/Corpus")
    }

    /// The inputs of `target` under `root`, sorted by file name.
    public static func entries(of target: FuzzTarget, root: URL = defaultRoot) throws -> [(
        name: String, bytes: [UInt8]
    )] {
        try Self.files(in: root.appendingPathComponent(target.rawValue))
    }

    /// Every regular file in `directory` (not recursive, hidden files skipped), sorted by name.
    public static func files(in directory: URL) throws -> [(name: String, bytes: [UInt8])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        return try names.filter { !$0.hasPrefix(".") }.sorted().compactMap { name in
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { return nil }
            return (name, [UInt8](try Data(contentsOf: url)))
        }
    }
}
