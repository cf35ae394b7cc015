import DeviceProtocol

/// What a simulated device's firmware declares: variables with their current values and
/// functions with their behaviour.
public struct SimulatedApplication: Sendable {
    /// Variables by name; the value's case is the declared type.
    public var variables: [String: VariableValue]
    /// Functions by name: each gets the argument and returns the int32 result.
    public var functions: [String: @Sendable (String) -> Int32]
    /// The longest argument the firmware accepts (1024 for Device OS 3 and later); longer
    /// arguments are refused with ACK 4.00.
    public var maximumArgumentBytes: Int
    /// Whether the firmware answers at all: `false` simulates a device stuck in its loop, which
    /// ACKs nothing the cloud asks and answers no ping.
    public var isResponsive = true

    /// An application with these variables and functions.
    public init(
        variables: [String: VariableValue] = [:],
        functions: [String: @Sendable (String) -> Int32] = [:],
        maximumArgumentBytes: Int = 1024
    ) {
        self.variables = variables
        self.functions = functions
        self.maximumArgumentBytes = maximumArgumentBytes
    }

    /// The Describe for `flags`: `0x02` the application part (`f`, `v`), `0x01` the
    /// system part (`p`, `m`) of `hello`'s platform and system version, `0x03` both in one
    /// document as firmware before 2.0 sends it. Names are sorted.
    func describeDocument(flags: UInt8, hello: Hello, userModule: String? = nil) -> [UInt8] {
        var members: [String] = []
        if flags & 0x02 != 0 {
            let functions = self.functions.keys.sorted().map { "\"\(Self.escaped($0))\"" }.joined(separator: ",")
            let variables = self.variables.sorted { $0.key < $1.key }
                .map { "\"\(Self.escaped($0.key))\":\($0.value.type.rawValue)" }
                .joined(separator: ",")
            members += ["\"f\":[\(functions)]", "\"v\":{\(variables)}"]
        }
        if flags & 0x01 != 0 {
            let modules =
                "[{\"s\":49152,\"l\":\"m\",\"vc\":30,\"vv\":30,\"f\":\"b\",\"n\":\"0\",\"v\":1200,\"d\":[]},"
                + "{\"s\":671744,\"l\":\"m\",\"vc\":30,\"vv\":30,\"f\":\"s\",\"n\":\"1\","
                + "\"v\":\(hello.systemVersion ?? 5002),\"d\":[]}"
                + (userModule.map { "," + $0 } ?? "") + "]"
            members += ["\"p\":\(hello.platformID ?? 6)", "\"m\":\(modules)"]
        }
        return Array("{\(members.joined(separator: ","))}".utf8)
    }

    private static func escaped(_ name: String) -> String {
        name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
