import Foundation

/// The subset of the POSIX `ustar` format a backup needs: regular files with relative names,
/// streamed in 1 MiB pieces in both directions, so that a database of gigabytes is never held in
/// memory. `tar -tf` and `tar -xf` read what it writes, so a backup can also be inspected or
/// unpacked without Aerosol.
enum TarArchive {
    private static let block = 512
    private static let piece = 1 << 20

    /// Appends `path`'s contents to `output` as the entry `name`.
    static func append(file path: String, as name: String, to output: FileHandle) throws {
        guard let input = FileHandle(forReadingAtPath: path) else { throw StoreError.invalid("cannot read \(path)") }
        defer { try? input.close() }
        let size = Int(try input.seekToEnd())
        try input.seek(toOffset: 0)
        try output.write(contentsOf: try header(name: name, size: size))
        var copied = 0
        while copied < size {
            let data = try input.read(upToCount: min(piece, size - copied)) ?? Data()
            guard !data.isEmpty else { throw StoreError.invalid("\(path) shrank while it was being archived") }
            try output.write(contentsOf: data)
            copied += data.count
        }
        try output.write(contentsOf: Data(count: (block - size % block) % block))
    }

    /// Ends an archive (two zero blocks).
    static func finish(_ output: FileHandle) throws {
        try output.write(contentsOf: Data(count: 2 * block))
    }

    /// Reads every entry of `input`, handing each name to `open`, which returns where its
    /// contents go (written in pieces); throws on anything but well-formed regular-file entries
    /// with safe names.
    static func read(_ input: FileHandle, open: (String) throws -> FileHandle) throws -> [String] {
        var names: [String] = []
        var offset = 0
        while true {
            let header = [UInt8](try input.read(upToCount: block) ?? Data())
            guard header.count == block else {
                throw StoreError.invalid("the backup is truncated (no end-of-archive blocks)")
            }
            if header.allSatisfy({ $0 == 0 }) { return names }
            guard header[257..<262].elementsEqual("ustar".utf8) else {
                throw StoreError.invalid("not an Aerosol backup (no ustar header at byte \(offset))")
            }
            var summed = header
            summed.replaceSubrange(148..<156, with: [UInt8](repeating: UInt8(ascii: " "), count: 8))
            guard let stored = octal(header[148..<156]), stored == summed.reduce(0, { $0 + Int($1) }) else {
                throw StoreError.invalid("the backup is damaged (bad header checksum at byte \(offset))")
            }
            let name = String(decoding: header[0..<100].prefix { $0 != 0 }, as: UTF8.self)
            guard isSafe(name) else { throw StoreError.invalid("the backup holds an unsafe path: \(name)") }
            guard header[156] == UInt8(ascii: "0") || header[156] == 0 else {
                throw StoreError.invalid("the backup holds \(name), which is not a regular file")
            }
            guard let size = octal(header[124..<136]), size >= 0 else {
                throw StoreError.invalid("the backup is damaged (bad size of \(name))")
            }
            let output = try open(name)
            defer { try? output.close() }
            var copied = 0
            while copied < size {
                let data = try input.read(upToCount: min(piece, size - copied)) ?? Data()
                guard !data.isEmpty else { throw StoreError.invalid("the backup is truncated (in \(name))") }
                try output.write(contentsOf: data)
                copied += data.count
            }
            let padding = (block - size % block) % block
            guard (try input.read(upToCount: padding) ?? Data()).count == padding else {
                throw StoreError.invalid("the backup is truncated (after \(name))")
            }
            names.append(name)
            offset += block + size + padding
        }
    }

    /// Relative, no empty, `.` or `..` component, at most 100 bytes.
    static func isSafe(_ name: String) -> Bool {
        (1...100).contains(name.utf8.count) && !name.hasPrefix("/")
            && name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
                !$0.isEmpty && $0 != "." && $0 != ".."
            }
    }

    private static func header(name: String, size: Int) throws -> Data {
        guard isSafe(name) else {
            throw StoreError.invalid("cannot archive \(name): names must be relative, without `..`, at most 100 bytes")
        }
        var header = [UInt8](repeating: 0, count: block)
        header.replaceSubrange(0..<name.utf8.count, with: Array(name.utf8))
        put(octal: 0o600, width: 8, at: 100, in: &header)
        put(octal: 0, width: 8, at: 108, in: &header)
        put(octal: 0, width: 8, at: 116, in: &header)
        put(octal: size, width: 12, at: 124, in: &header)
        put(octal: Int(Date().timeIntervalSince1970), width: 12, at: 136, in: &header)
        header[156] = UInt8(ascii: "0")
        header.replaceSubrange(257..<263, with: Array("ustar\u{0}".utf8))
        header.replaceSubrange(263..<265, with: Array("00".utf8))
        // The checksum is computed with its own field as spaces.
        header.replaceSubrange(148..<156, with: [UInt8](repeating: UInt8(ascii: " "), count: 8))
        let sum = header.reduce(0) { $0 + Int($1) }
        put(octal: sum, width: 7, at: 148, in: &header)
        header[155] = UInt8(ascii: " ")
        return Data(header)
    }

    private static func put(octal value: Int, width: Int, at offset: Int, in header: inout [UInt8]) {
        let digits = Array(String(value, radix: 8).utf8)
        let padded = [UInt8](repeating: UInt8(ascii: "0"), count: max(0, width - 1 - digits.count)) + digits
        header.replaceSubrange(offset..<offset + width - 1, with: padded.suffix(width - 1))
        header[offset + width - 1] = 0
    }

    private static func octal(_ field: ArraySlice<UInt8>) -> Int? {
        let text = String(decoding: field.prefix { $0 != 0 && $0 != UInt8(ascii: " ") }, as: UTF8.self)
        return Int(text, radix: 8)
    }
}
