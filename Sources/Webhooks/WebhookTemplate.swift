import Mustache

/// A compiled Mustache template of a webhook field, with the escaping its place calls for.
///
/// Mustache's `{{x}}` HTML-escapes `& < > " '` (as the original does in URLs, forms, headers
/// and raw bodies); `{{{x}}}` never escapes. JSON bodies are rendered with the `TEXT` content
/// type instead, so `{{x}}` inside a `json` template is never HTML-escaped (the object form is
/// then serialized, which escapes what JSON needs).
public struct WebhookTemplate: Sendable {
    /// How `{{x}}` escapes.
    public enum Escaping: Sendable, Equatable {
        /// HTML escaping, Mustache's default.
        case html
        /// No escaping.
        case none
    }

    /// The template text as given.
    public let source: String
    /// How `{{x}}` escapes.
    public let escaping: Escaping
    private let compiled: MustacheTemplate
    /// Spaces and tabs that end the text after its last line break (or the whole text): the
    /// Mustache parser drops such a last line, so ``render(_:)`` puts it back.
    private let trailingBlanks: String

    /// Compiles `source`; throws ``WebhookError/invalid(_:)`` naming `field` on a syntax error.
    public init(_ source: String, escaping: Escaping = .html, field: String) throws {
        self.source = source
        self.escaping = escaping
        // swift-mustache parses and renders sections recursively: nesting deep enough overflows
        // the stack and takes the whole server down (found by fuzzing: 550 levels on an 8 MiB
        // stack, a few thousand characters of body). No real template nests this deep.
        guard Self.sectionDepth(of: source) <= Self.maximumSectionDepth else {
            throw WebhookError.invalid(
                "Invalid Mustache template in \(field): sections nested more than \(Self.maximumSectionDepth) deep"
            )
        }
        self.trailingBlanks = Self.blanksMustacheDrops(at: source)
        do {
            switch escaping {
            case .html: compiled = try MustacheTemplate(string: source)
            // The pragma stands alone on its own line, so the parser drops that line whole and
            // the template proper starts on a fresh line, exactly as it would without it.
            case .none: compiled = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}\n" + source)
            }
        } catch {
            throw WebhookError.invalid(
                "Invalid Mustache template in \(field): \(Self.explain(error, escaping: escaping))"
            )
        }
    }

    /// The spaces and tabs at the end of `source` that swift-mustache leaves out: those of a
    /// last line that holds nothing else, after a line break it counts as one (`\n`, `\r\n`,
    /// not a lone `\r`). Asked of the parser itself, with the line break and the blanks alone.
    private static func blanksMustacheDrops(at source: String) -> String {
        let blanks = String(source.reversed().prefix { $0 == " " || $0 == "\t" }.reversed())
        guard !blanks.isEmpty else { return "" }
        let probe = source.dropLast(blanks.count).last.map(String.init) ?? ""
        guard let rendered = try? MustacheTemplate(string: probe + blanks).render(()) else { return "" }
        return rendered == probe ? blanks : ""
    }

    /// The deepest nesting of sections a template may have.
    public static let maximumSectionDepth = 32

    /// The deepest nesting of sections (`{{#…}}`, `{{^…}}` and the inheritance tags `{{$…}}`,
    /// `{{<…}}`) in `source`, following set-delimiter tags. Where the text is not valid Mustache
    /// it may over-estimate, never under-estimate: the parser then refuses the text anyway.
    static func sectionDepth(of source: String) -> Int {
        let bytes = Array(source.utf8)
        var open = Array("{{".utf8)
        var close = Array("}}".utf8)
        var index = 0
        var depth = 0
        var deepest = 0
        func find(_ needle: [UInt8], from start: Int) -> Int? {
            guard !needle.isEmpty, bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
            var position = start
            while position <= bytes.count - needle.count {
                if bytes[position] == needle[0], bytes[position..<position + needle.count].elementsEqual(needle) {
                    return position
                }
                position += 1
            }
            return nil
        }
        while let start = find(open, from: index) {
            var tag = start + open.count
            while tag < bytes.count, bytes[tag] == 0x20 || bytes[tag] == 0x09 { tag += 1 }
            guard tag < bytes.count, let end = find(close, from: tag) else { break }
            index = end + close.count
            switch bytes[tag] {
            case UInt8(ascii: "#"), UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: "<"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "/"):
                depth = max(0, depth - 1)
            case UInt8(ascii: "="):
                // {{=<% %>=}}: the new delimiters, separated by blanks, between the two '='.
                var inner = bytes[(tag + 1)..<end]
                if inner.last == UInt8(ascii: "=") { inner = inner.dropLast() }
                let parts = inner.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D })
                if parts.count == 2 {
                    open = Array(parts[0])
                    close = Array(parts[1])
                }
            default:
                break
            }
        }
        return deepest
    }

    /// Whether the text has no Mustache tag at all.
    public var isConstant: Bool { !source.contains("{{") }

    /// Renders the template against `variables`.
    public func render(_ variables: TemplateVariables) -> String {
        // swift-mustache drops a last line of only spaces and tabs (it reads them as the indent
        // of a tag that never comes): found by fuzzing, "a\n  " rendered as "a\n".
        compiled.render(variables.context) + trailingBlanks
    }

    private static func explain(_ error: any Error, escaping: Escaping) -> String {
        guard let error = error as? MustacheTemplate.ParserError else { return "\(error)" }
        let reason: String
        switch error.error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect?: reason = "a section is closed with the wrong name"
        case .unfinishedName?: reason = "a tag is not closed"
        case .expectedSectionEnd?: reason = "a section is not closed"
        case .invalidSetDelimiter?: reason = "invalid set-delimiter tag"
        case .unrecognisedConfigVariable?, .invalidConfigVariableSyntax?: reason = "unsupported pragma"
        default: reason = "\(error.error)"
        }
        // The TEXT pragma takes the first line.
        let line = error.context.lineNumber - (escaping == .none ? 1 : 0)
        return "\(reason) (line \(max(1, line)), column \(error.context.columnNumber))"
    }
}
