import NIOCore

/// Finds where HTTP/1.1 responses end in the bytes of a keep-alive connection, cheaply: it
/// reads the status code and `Content-Length` of each head and skips the body. Enough for the
/// small, length-delimited answers to publishes; a chunked or unsized response is an error.
///
/// A value-type state machine: feed it bytes with ``scan(_:onResponse:)`` in any split.
struct ResponseScanner {
    /// Why the bytes could not be read as responses.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private static let maxHeadBytes = 16 * 1024

    private var head: [UInt8] = []
    private var bodyRemaining = 0
    private var status = 0
    private var inBody = false

    init() {
        head.reserveCapacity(512)
    }

    /// Consumes all of `buffer`, calling `onResponse` with the status code of every response
    /// that ends in it.
    mutating func scan(_ buffer: ByteBuffer, onResponse: (Int) -> Void) throws {
        try buffer.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                if inBody {
                    let take = min(bodyRemaining, bytes.count - index)
                    index += take
                    bodyRemaining -= take
                    if bodyRemaining == 0 {
                        inBody = false
                        onResponse(status)
                    }
                    continue
                }
                head.append(bytes[index])
                index += 1
                guard head.count >= 4, head[head.count - 1] == 0x0A, head[head.count - 2] == 0x0D,
                    head[head.count - 3] == 0x0A, head[head.count - 4] == 0x0D
                else {
                    if head.count > Self.maxHeadBytes { throw Failure(description: "response head too large") }
                    continue
                }
                let (status, length) = try Self.parse(head)
                head.removeAll(keepingCapacity: true)
                if length == 0 {
                    onResponse(status)
                } else {
                    self.status = status
                    bodyRemaining = length
                    inBody = true
                }
            }
        }
    }

    /// The status code and content length of a complete head.
    private static func parse(_ head: [UInt8]) throws -> (status: Int, length: Int) {
        let text = String(decoding: head, as: UTF8.self)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."),
            let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else {
            throw Failure(description: "not an HTTP/1.x status line: \(text.prefix(40))")
        }
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingWhitespace
            if name == "content-length", let length = Int(value), length >= 0 { return (code, length) }
            if name == "transfer-encoding" {
                throw Failure(description: "chunked responses to publishes are not supported")
            }
        }
        if code == 204 || code == 304 || (100..<200).contains(code) { return (code, 0) }
        throw Failure(description: "response \(code) without Content-Length")
    }
}

extension Substring {
    fileprivate var trimmingWhitespace: Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return text
    }
}
