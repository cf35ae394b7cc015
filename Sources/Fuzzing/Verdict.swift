/// What a parser made of one input, when it kept every property.
public enum Verdict: Sendable, Equatable {
    /// The input was accepted (and its round trips held).
    case accepted
    /// The input was refused with the parser's own error, which had a message.
    case rejected
}
