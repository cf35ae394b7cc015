import CoAP

extension FuzzTarget {
    /// A CoAP message has exactly one encoding (extended lengths start where the short ones
    /// end), so whatever the decoder accepts must re-encode to the very same bytes.
    func checkCoAP(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        let message: CoAPMessage
        do {
            message = try CoAPMessage(decoding: input)
        } catch {
            try self.require(!error.description.isEmpty, "a CoAPError without a description")
            return .rejected
        }
        let encoded: [UInt8]
        do {
            encoded = try message.encoded()
        } catch {
            throw self.violation("an accepted message does not encode: \(error)")
        }
        try self.require(encoded == input, "re-encoding differs: \(encoded.prefix(32)) vs \(input.prefix(32))")
        try self.require(
            (try? CoAPMessage(decoding: encoded)) == message,
            "the re-encoded message decodes differently"
        )
        return .accepted
    }
}
