/// How many array items the sections of one rendering may still iterate over.
///
/// Sections over JSON arrays multiply: `{{#list}}` inside `{{#list}}` inside `{{#list}}`…
/// iterates `count^depth` times, so a small template and a small array in the event data could
/// keep a delivery worker busy for ever. Every ``TemplateVariables`` carries one budget for the
/// request it renders; once spent, arrays iterate as empty.
final class IterationBudget {
    private(set) var remaining: Int

    init(_ limit: Int) {
        self.remaining = limit
    }

    /// Takes up to `count` iterations and returns how many were granted.
    func take(_ count: Int) -> Int {
        let granted = min(count, remaining)
        remaining -= granted
        return granted
    }
}
