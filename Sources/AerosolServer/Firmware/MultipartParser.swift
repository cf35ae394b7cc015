import Foundation

/// An incremental `multipart/form-data` parser (RFC 7578) for firmware uploads: it takes the
/// body a piece at a time, hands the bytes of the file part to a sink as they arrive (never
/// holding more than one delimiter's length of them), and keeps the small text fields.
///
/// The file part is the one named `file` (the name Particle's clients use) or, failing that,
/// the first part with a file name. Text fields are limited to ``fieldLimit`` bytes in all and
/// header blocks to 16 KiB; anything malformed throws an ``APIError`` 400.
struct MultipartParser {
    private enum State {
        case preamble
        case afterDelimiter
        case headers
        case body
        case done
    }

    /// The most bytes of text fields kept, in all.
    static let fieldLimit = 64 * 1024
    private static let headerLimit = 16 * 1024

    private let delimiter: [UInt8]
    // The body starts with a virtual line break, so that the first delimiter, which has none in
    // front of it, is found like the others.
    private var buffer: [UInt8] = [13, 10]
    private var state = State.preamble
    private var partName: String?
    private var partIsFile = false
    private var fieldBytes: [UInt8] = []
    private var fieldTotal = 0
    /// The text fields, by name.
    private(set) var fields: [String: String] = [:]
    /// The file part's file name, once its headers were read.
    private(set) var fileName: String?
    /// Whether a file part was seen.
    private(set) var sawFile = false

    /// A parser for the boundary of `contentType`, or `nil` if it is not multipart/form-data
    /// with a boundary.
    init?(contentType: String) {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        guard
            let parameter = parts.dropFirst().first(where: { $0.lowercased().hasPrefix("boundary=") })
        else { return nil }
        var boundary = String(parameter.dropFirst("boundary=".count))
        if boundary.hasPrefix("\""), boundary.hasSuffix("\""), boundary.count >= 2 {
            boundary = String(boundary.dropFirst().dropLast())
        }
        guard !boundary.isEmpty, boundary.utf8.count <= 70 else { return nil }
        self.delimiter = Array("\r\n--\(boundary)".utf8)
    }

    /// Whether the closing delimiter has been read.
    var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Takes the next piece of the body; bytes of the file part go to `file`.
    mutating func feed(
        _ bytes: some Collection<UInt8>,
        file: (ArraySlice<UInt8>) throws -> Void
    ) throws {
        if case .done = state { return }
        buffer.append(contentsOf: bytes)
        while true {
            switch state {
            case .preamble:
                guard let found = Self.find(delimiter, in: buffer) else {
                    buffer.removeFirst(max(0, buffer.count - (delimiter.count - 1)))
                    return
                }
                buffer.removeFirst(found + delimiter.count)
                state = .afterDelimiter
            case .afterDelimiter:
                guard buffer.count >= 2 else { return }
                if buffer[0] == UInt8(ascii: "-"), buffer[1] == UInt8(ascii: "-") {
                    state = .done
                    buffer = []
                    return
                }
                // Transport padding (spaces, tabs) may precede the line break.
                if buffer[0] == UInt8(ascii: " ") || buffer[0] == UInt8(ascii: "\t") {
                    buffer.removeFirst()
                    continue
                }
                guard buffer[0] == 13, buffer[1] == 10 else {
                    throw APIError.badRequest("Malformed multipart body: a boundary is not followed by a line break")
                }
                buffer.removeFirst(2)
                state = .headers
            case .headers:
                let end: Int
                let skip: Int
                if buffer.count >= 2, buffer[0] == 13, buffer[1] == 10 {
                    (end, skip) = (0, 2)
                } else if let found = Self.find(Array("\r\n\r\n".utf8), in: buffer) {
                    (end, skip) = (found, found + 4)
                } else {
                    guard buffer.count <= Self.headerLimit else {
                        throw APIError.badRequest("Malformed multipart body: a part's headers are too long")
                    }
                    return
                }
                try startPart(headers: String(decoding: buffer[..<end], as: UTF8.self))
                buffer.removeFirst(skip)
                state = .body
            case .body:
                if let found = Self.find(delimiter, in: buffer) {
                    try emit(buffer[..<found], file: file)
                    buffer.removeFirst(found + delimiter.count)
                    try endPart()
                    state = .afterDelimiter
                } else {
                    let keep = delimiter.count - 1
                    if buffer.count > keep {
                        try emit(buffer[..<(buffer.count - keep)], file: file)
                        buffer.removeFirst(buffer.count - keep)
                    }
                    return
                }
            case .done:
                return
            }
        }
    }

    private mutating func startPart(headers: String) throws {
        partName = nil
        partIsFile = false
        var filename: String?
        for line in headers.split(separator: "\r\n") {
            let pieces = line.split(separator: ":", maxSplits: 1)
            guard pieces.count == 2,
                pieces[0].trimmingCharacters(in: .whitespaces).lowercased() == "content-disposition"
            else { continue }
            for parameter in pieces[1].split(separator: ";").dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let key = pair[0].trimmingCharacters(in: .whitespaces).lowercased()
                var value = pair[1].trimmingCharacters(in: .whitespaces)
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                    value = String(value.dropFirst().dropLast())
                }
                if key == "name" { partName = value }
                if key == "filename" { filename = value }
            }
        }
        guard let partName else {
            throw APIError.badRequest("Malformed multipart body: a part has no Content-Disposition name")
        }
        partIsFile = !sawFile && (partName == "file" || filename != nil)
        if partIsFile {
            sawFile = true
            fileName = filename
        }
    }

    private mutating func emit(_ bytes: ArraySlice<UInt8>, file: (ArraySlice<UInt8>) throws -> Void) throws {
        guard !bytes.isEmpty else { return }
        if partIsFile {
            try file(bytes)
            return
        }
        fieldTotal += bytes.count
        guard fieldTotal <= Self.fieldLimit else {
            throw APIError.badRequest("The form fields besides the file are larger than \(Self.fieldLimit) bytes")
        }
        fieldBytes.append(contentsOf: bytes)
    }

    private mutating func endPart() throws {
        if !partIsFile, let partName {
            guard let text = String(validating: fieldBytes, as: UTF8.self) else {
                throw APIError.badRequest("The form field \(partName) is not UTF-8")
            }
            fields[partName] = text
        }
        fieldBytes = []
        partIsFile = false
        partName = nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count, let first = needle.first else { return nil }
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}
