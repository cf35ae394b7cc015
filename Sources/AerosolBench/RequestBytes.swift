import NIOCore

/// The raw bytes of the few requests the benchmark clients send, built once per connection.
enum RequestBytes {
    /// `GET path` for an event stream, authorised with `token`.
    static func stream(path: String, token: String, port: Int) -> ByteBuffer {
        ByteBuffer(
            string: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(token)\r\n"
                + "Accept: text/event-stream\r\n\r\n"
        )
    }

    /// `POST path` publishing event `name` with `data` as a form body, authorised with `token`.
    static func publish(path: String, name: String, data: String, token: String, port: Int) -> ByteBuffer {
        let body = "name=\(name)&data=\(data)"
        return ByteBuffer(
            string: "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(token)\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
                + body
        )
    }
}
