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

    /// `GET /sub?id=<channel>` for an nchan EventSource subscriber.
    static func nchanStream(channel: String, port: Int) -> ByteBuffer {
        ByteBuffer(
            string: "GET /sub?id=\(channel) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n\r\n"
        )
    }

    /// `POST /pub?id=<channel>` publishing `{"data":"<data>"}` to nchan (the same `data` key the
    /// subscribers read the send time from, as in Aerosol's frames).
    static func nchanPublish(channel: String, data: String, port: Int) -> ByteBuffer {
        let body = #"{"data":"\#(data)"}"#
        return ByteBuffer(
            string: "POST /pub?id=\(channel) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        )
    }
}

/// How a benchmark publishes on its target: the request bytes for an event with `data`.
struct PublishRequest: Sendable {
    let bytes: @Sendable (_ data: String) -> ByteBuffer

    /// Aerosol: a form publish of event `name` to `path`.
    static func aerosol(path: String, name: String, token: String, port: Int) -> PublishRequest {
        PublishRequest { RequestBytes.publish(path: path, name: name, data: $0, token: token, port: port) }
    }

    /// nginx + nchan: a publish to `channel`.
    static func nchan(channel: String, port: Int) -> PublishRequest {
        PublishRequest { RequestBytes.nchanPublish(channel: channel, data: $0, port: port) }
    }
}
