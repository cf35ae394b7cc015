/// A parser that takes bytes from outside the process, with the properties every input must
/// keep: it never traps, it refuses bad input with its own typed error and a message, and what
/// it accepts survives the round trips its module offers (parse → encode → parse).
///
/// Each case's raw value names its corpus folder (`Tests/Corpus/<raw value>/`) and the
/// `aerosol-fuzz` argument. ``check(_:)`` throws ``PropertyViolation`` for an input that breaks
/// a property; the seeded tests and libFuzzer both call it.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `CoAPMessage(decoding:)`: exact re-encoding of whatever is accepted.
    case coap
    /// `FrameDecoder` on raw bytes from a device: the same messages and failure in any split,
    /// at most one frame buffered.
    case frames
    /// `SecureChannel`: length-prefixed messages sealed, corrupted at one frame, received in
    /// random splits: everything before the corruption comes through.
    case channel
    /// `ServerHandshake`: the input is the RSA plaintext a device sends; the outcome must follow
    /// from its size, nonce and key, in any split.
    case handshake
    /// `Hello(payload:)`: re-encoding is a prefix of the input and parses to the same Hello.
    case hello
    /// `Describe(json:)`: only JSON objects are accepted; the derived facts never trap.
    case describe
    /// `VariableValue(payload:type:)` (first byte picks the type): a value round-trips.
    case variable
    /// `ServerSentEventParser`: the same events in any split; every event survives the encoder.
    case sse
    /// `JSONValue.parse`: serialise → parse gives the same value; errors carry an offset.
    case json
    /// `RequestFields.parseForm`: re-encoded fields parse to the same fields; errors are 400s.
    case form
    /// `RequestFields.parseJSON`: objects only; the last of a repeated key wins; errors are 400s.
    case jsonBody = "json-body"
    /// `WebhookDefinition.parse` with `RequestRenderer`: accepted definitions load back from
    /// their stored text and render to a well-formed request.
    case webhook
    /// `WebhookTemplate` (swift-mustache): compiles or fails with a message; a template without
    /// tags renders as itself; rendering terminates.
    case template

    /// Runs the input through the parser and checks its properties.
    public func check(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        switch self {
        case .coap: try self.checkCoAP(input)
        case .frames: try self.checkFrames(input)
        case .channel: try self.checkChannel(input)
        case .handshake: try self.checkHandshake(input)
        case .hello: try self.checkHello(input)
        case .describe: try self.checkDescribe(input)
        case .variable: try self.checkVariable(input)
        case .sse: try self.checkServerSentEvents(input)
        case .json: try self.checkJSON(input)
        case .form: try self.checkForm(input)
        case .jsonBody: try self.checkJSONBody(input)
        case .webhook: try self.checkWebhook(input)
        case .template: try self.checkTemplate(input)
        }
    }

    /// How many random mutations a seeded run gives this target by default: about two seconds
    /// of a debug build on one core each (measured with `aerosol-fuzz mutate`), so that the
    /// whole seeded run in `swift test` stays under half a minute on two cores.
    public var defaultMutations: Int {
        switch self {
        case .handshake: 150  // RSA in a debug build
        case .sse, .template: 1500
        case .channel, .frames, .form: 3000
        case .webhook, .coap, .json, .describe: 5000
        case .hello, .variable, .jsonBody: 6000
        }
    }

    func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(PropertyViolation) {
        if !condition { throw PropertyViolation(self, message()) }
    }

    func violation(_ message: String) -> PropertyViolation {
        PropertyViolation(self, message)
    }
}
