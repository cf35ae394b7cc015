import ArgumentParser
import DeviceGateway
import DeviceProtocol

extension DeviceSimulateCommand {
    /// The declared variables and functions.
    func makeApplication() throws -> SimulatedApplication {
        var application = SimulatedApplication()
        for item in variable {
            let parts = item.split(separator: "=", maxSplits: 1)
            let typed = parts.count == 2 ? parts[1].split(separator: ":", maxSplits: 1) : []
            guard parts.count == 2, typed.count == 2, !parts[0].isEmpty else {
                throw ValidationError("--variable takes NAME=TYPE:VALUE (e.g. temp=double:21.5), not \(item)")
            }
            let text = String(typed[1])
            let value: VariableValue? =
                switch typed[0] {
                case "int32": Int32(text).map { .int32($0) }
                case "double": Double(text).map { .double($0) }
                case "bool": Bool(text).map { .bool($0) }
                case "string": .string(text)
                default: nil
                }
            guard let value else {
                throw ValidationError(
                    "--variable \(item): \(typed[0]) is not int32, double, bool or string, or \(text) is not one"
                )
            }
            application.variables[String(parts[0])] = value
        }
        for item in function {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard let name = parts.first, !name.isEmpty else { throw ValidationError("--function takes NAME[=RESULT]") }
            if parts.count == 2 {
                guard let result = Int32(parts[1]) else {
                    throw ValidationError("--function \(item): the result must be an int32")
                }
                application.functions[String(name)] = { _ in result }
            } else {
                application.functions[String(name)] = { argument in Int32(clamping: argument.utf8.count) }
            }
        }
        return application
    }
}
