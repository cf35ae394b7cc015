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
