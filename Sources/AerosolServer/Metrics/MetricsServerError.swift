/// The metrics listener could not run (its port is taken, say): said in one line.
public struct MetricsServerError: Error, CustomStringConvertible {
    let host: String
    let port: Int
    let underlying: any Error

    public var description: String {
        "cannot serve metrics on \(host):\(port) (--metrics-port): \(underlying)"
    }
}
