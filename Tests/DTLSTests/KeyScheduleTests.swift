import DTLS
import Testing

/// The TLS 1.2 PRF and key schedule.
@Suite struct KeyScheduleTests {
    /// The P_SHA256 vector published on the IETF TLS working group list (msg03416).
    @Test func prfMatchesThePublishedVector() {
        let output = PRF.sha256(
            secret: hex("9bbe436ba940f017b17652849a71db35"),
            label: "test label",
            seed: hex("a0ba9f936cda311827a6f796ffd5198c"),
            count: 100
        )
        #expect(
            hexString(output)
                == "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
                + "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
                + "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
                + "87347b66"
        )
    }

    /// Worked vector: pre-master 20…3f, client random 00…1f, server random 80…9f.
    @Test func masterSecretAndKeyBlock() throws {
        let keys = try Vectors.keyMaterial()
        #expect(
            hexString(keys.masterSecret)
                == "5c13cca59219a2428b708ae2d8addd4d9822cf4ee5d69e2ea62c1d87472e59685514f0ea2ed9bfe8442285f0606990d2"
        )
        #expect(hexString(keys.clientWriteKey) == "cee11b11179108c5bb5058b366a8b073")
        #expect(hexString(keys.serverWriteKey) == "64edf29959eb9cf7e70daf57dff1e9a3")
        #expect(hexString(keys.clientWriteIV) == "78d041c5")
        #expect(hexString(keys.serverWriteIV) == "752a4680")
        let restored = try KeyMaterial(
            masterSecret: keys.masterSecret,
            clientRandom: keys.clientRandom,
            serverRandom: keys.serverRandom
        )
        #expect(restored.serverWriteKey == keys.serverWriteKey)
        #expect(restored.clientWriteIV == keys.clientWriteIV)
        #expect(!"\(keys)".contains("5c13"))
    }

    @Test func verifyDataIsTwelveBytesAndDependsOnTheSender() throws {
        let keys = try Vectors.keyMaterial()
        let hash = [UInt8](repeating: 0xAB, count: 32)
        let client = keys.verifyData(for: .client, handshakeHash: hash)
        let server = keys.verifyData(for: .server, handshakeHash: hash)
        #expect(client.count == 12)
        #expect(client != server)
        #expect(
            client
                == PRF.sha256(secret: keys.masterSecret, label: "client finished", seed: hash, count: 12)
        )
    }

    @Test func refusesWrongLengths() {
        #expect(throws: DTLSError.invalidSessionState) {
            try KeyMaterial(masterSecret: [1], clientRandom: [UInt8](repeating: 0, count: 32), serverRandom: [])
        }
    }
}

/// The worked record-layer vectors: secrets and the two records.
enum Vectors {
    static let preMasterSecret = (0x20...0x3F).map { UInt8($0) }
    static let clientRandom = (0x00...0x1F).map { UInt8($0) }
    static let serverRandom = (0x80...0x9F).map { UInt8($0) }
    static let connectionID = ConnectionID(bytes: hex("0102030405060708"))!

    /// Device → server CoAP ping `40 00 12 34`, epoch 1, sequence 5, as a CID record.
    static let deviceRecord = hex(
        "19fefd 0001000000000005 0102030405060708 0020 0001000000000005"
            + "b5bd21db596b332a039c22618b8a1782 f79d8d0f8b9cfd55"
    )
    /// Server → device ACK `60 00 12 34`, epoch 1, sequence 7.
    static let serverRecord = hex("17fefd 0001000000000007 0014 0001000000000007 dc1ecb18 36171148eef3934a")

    static func keyMaterial() throws -> KeyMaterial {
        try KeyMaterial(preMasterSecret: preMasterSecret, clientRandom: clientRandom, serverRandom: serverRandom)
    }
}
