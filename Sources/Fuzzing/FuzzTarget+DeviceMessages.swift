import DeviceProtocol

extension FuzzTarget {
    /// A Hello re-encodes to a prefix of what was parsed (it stops after its last field), and
    /// that prefix parses to the same Hello.
    func checkHello(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        let hello: Hello
        do {
            hello = try Hello(payload: input)
        } catch {
            try self.require(error == .invalidHello, "a Hello failed with \(error)")
            return .rejected
        }
        let payload = hello.payload
        try self.require(input.starts(with: payload), "the re-encoded Hello is not a prefix of the input")
        try self.require((try? Hello(payload: payload)) == hello, "the re-encoded Hello parses differently")
        return .accepted
    }

    /// Only a JSON object without raw control characters can be a Describe; whatever is
    /// accepted gives its derived facts
    /// (system version, safe mode, variable types) without trapping.
    func checkDescribe(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        let describe: Describe
        do {
            describe = try Describe(json: input)
        } catch {
            try self.require(error == .invalidDescribe, "a Describe failed with \(error)")
            return .rejected
        }
        // Foundation's decoder repairs invalid UTF-8 and lone surrogates inside strings (names
        // then hold U+FFFD, harmless), but takes nothing but an object and no raw control
        // character.
        let text = input.filter { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        try self.require(text.first == UInt8(ascii: "{") && text.last == UInt8(ascii: "}"), "accepted a non-object")
        try self.require(
            !input.contains { $0 < 0x20 && ![0x09, 0x0A, 0x0D].contains($0) },
            "accepted a control character"
        )
        _ = describe.systemVersion
        _ = describe.hasInvalidModules
        _ = describe.hasApplicationPart
        _ = describe.hasSystemPart
        for name in describe.variables?.keys.sorted() ?? [] {
            _ = describe.variableType(name)
        }
        return .accepted
    }

    /// The first byte picks the declared type (by its wire code, or any other byte); the rest is
    /// the device's answer. A decoded value encodes to a payload that decodes to the same value
    /// (bit for bit for doubles, NaN included); a refused one has the wrong length for its type.
    func checkVariable(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        guard let first = input.first else { return .rejected }
        let types = VariableType.allCases
        let type = VariableType(rawValue: Int(first)) ?? types[Int(first) % types.count]
        let payload = input.dropFirst()
        let value: VariableValue
        do {
            value = try VariableValue(payload: payload, type: type)
        } catch {
            try self.require(error == .invalidVariableValue, "a variable failed with \(error)")
            let sizes: [VariableType: Int] = [.bool: 1, .int32: 4, .double: 8]
            try self.require(sizes[type] != nil && sizes[type] != payload.count, "refused a well-sized \(type)")
            return .rejected
        }
        try self.require(value.type == type, "decoded as \(value.type), declared \(type)")
        let again = try? VariableValue(payload: value.payload, type: type)
        switch (value, again) {
        case (.double(let a), .double(let b)?):
            try self.require(a.bitPattern == b.bitPattern, "a double changed in the round trip")
        default:
            try self.require(again == value, "\(value) changed in the round trip")
        }
        return .accepted
    }
}
