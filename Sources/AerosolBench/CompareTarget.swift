import NIOCore
import NIOPosix

/// What `aerosol bench compare` aims a load at, as its clients see it: Aerosol (a product
/// stream and publishes with `--sync full`), or nginx + nchan (one channel). The loads are the
/// same for both; only these bytes differ.
struct CompareTarget: Sendable {
    /// `aerosol` or `nchan`.
    let name: String
    let port: Int
    /// The `GET` of one subscriber.
    let streamRequest: ByteBuffer
    /// A publish.
    let publish: PublishRequest
    /// The server's resident memory, in KiB.
    let residentKiB: @Sendable () throws -> Int

    static func aerosol(_ server: BenchServer) -> CompareTarget {
        let path = "/v1/products/\(server.product)/events"
        let pid = server.pid
        return CompareTarget(
            name: "aerosol",
            port: server.port,
            streamRequest: RequestBytes.stream(path: path, token: server.token, port: server.port),
            publish: .aerosol(path: path, name: "temp", token: server.token, port: server.port),
            residentKiB: { try ProcessMemory.residentKiB(pid: pid) }
        )
    }

    static func nchan(_ server: NchanServer) -> CompareTarget {
        let master = server.pid
        return CompareTarget(
            name: "nchan",
            port: server.port,
            streamRequest: RequestBytes.nchanStream(channel: server.channel, port: server.port),
            publish: .nchan(channel: server.channel, port: server.port),
            residentKiB: { try NchanServer.residentKiB(master: master) }
        )
    }

    /// Clients that count into a fresh board.
    func clients() async throws -> Clients {
        Clients(port: port, token: "", board: try await StatsBoard(group: MultiThreadedEventLoopGroup.singleton))
    }
}
