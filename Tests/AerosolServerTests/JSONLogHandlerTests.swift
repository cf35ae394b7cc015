import AerosolModels
import AerosolTesting
import Foundation
import Logging
import Synchronization
import Testing

@testable import AerosolServer

/// `--log-format json`: one JSON object per line, with time, level, label, message and the
/// metadata at the top level.
@Suite("JSON log lines")
struct JSONLogHandlerTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test func eachMessageIsOneJSONObjectOnOneLine() throws {
        let captured = Lines()
        var handler = JSONLogHandler(label: "aerosol") { captured.append($0) }
        handler.logLevel = .debug
        handler[metadataKey: "hb.request.id"] = "r-1"
        let logger = Logger(label: "aerosol", factory: { _ in handler })
        logger.notice(
            "sign-in failed:\nwrong \"password\"",
            metadata: ["user.email": "ada@example.com", "level": "clash", "count": .stringConvertible(3)]
        )
        logger.trace("not at this level")
        let lines = captured.all
        try #require(lines.count == 1)
        let line = lines[0]
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().firstIndex(of: "\n") == nil, "a message's line break is escaped")
        let object = try JSONValue.parse(Array(line.dropLast().utf8))
        #expect(object["level"] == .string("notice"))
        #expect(object["label"] == .string("aerosol"))
        #expect(object["message"] == .string("sign-in failed:\nwrong \"password\""))
        #expect(object["hb.request.id"] == .string("r-1"))
        #expect(object["user.email"] == .string("ada@example.com"))
        #expect(object["count"] == .string("3"))
        #expect(object["metadata.level"] == .string("clash"))
        guard case .string(let time)? = object["time"] else { throw TestFailure("no time in \(line)") }
        #expect(Timestamp.parse(time) != nil && time.hasSuffix("Z"))
    }
}
