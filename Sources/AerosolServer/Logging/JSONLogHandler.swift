import AerosolModels
import Foundation
import Logging

/// `--log-format json`: one JSON object per line on standard error, with `time` (UTC, ms),
/// `level`, `label`, `message`, and every metadata key at the top level (a key that would
/// clash with those four is written as `metadata.<key>`), for log shippers that read JSON lines.
///
/// Control characters in messages and values are escaped, so a line is always one line.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String
    private let output: @Sendable (String) -> Void

    /// A handler writing to standard error.
    public static func standardError(label: String, metadataProvider: Logger.MetadataProvider? = nil) -> Self {
        Self(label: label, metadataProvider: metadataProvider) { line in
            // One write per line: lines from different threads never interleave.
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// A handler that hands each line (with its newline) to `output`.
    public init(
        label: String,
        metadataProvider: Logger.MetadataProvider? = nil,
        output: @escaping @Sendable (String) -> Void
    ) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level,
        message: Logger.Message,
        metadata explicit: Logger.Metadata?,
        source: String,
        file: String,
        function: String,
        line: UInt
    ) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit { merged.merge(explicit) { _, new in new } }
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("time")
        writer.string(Timestamp.format(Date()))
        writer.key("level")
        writer.string(level.rawValue)
        writer.key("label")
        writer.string(label)
        writer.key("message")
        writer.string(message.description)
        for key in merged.keys.sorted() {
            let name = ["time", "level", "label", "message"].contains(key) ? "metadata.\(key)" : key
            writer.key(name)
            Self.write(merged[key]!, to: &writer)
        }
        writer.endObject()
        output(writer.output + "\n")
    }

    private static func write(_ value: Logger.Metadata.Value, to writer: inout JSONWriter) {
        switch value {
        case .string(let text): writer.string(text)
        case .stringConvertible(let convertible): writer.string(convertible.description)
        case .array(let values):
            writer.beginArray()
            for value in values { write(value, to: &writer) }
            writer.endArray()
        case .dictionary(let values):
            writer.beginObject()
            for key in values.keys.sorted() {
                writer.key(key)
                write(values[key]!, to: &writer)
            }
            writer.endObject()
        }
    }
}
