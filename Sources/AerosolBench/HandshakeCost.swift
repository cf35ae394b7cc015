import Crypto
import DeviceProtocol
import _CryptoExtras

/// The CPU cost of the handshake's RSA work, measured in this process, one thread, no
/// sockets: the ceiling it puts on handshakes per second whatever the rest of the server does.
/// Rates are per second of the thread's own CPU time, so other load on the machine does not
/// lower them.
struct HandshakeCost: Codable, Sendable {
    /// RSA-2048 private-key operations per second on one core, through the primitive
    /// ``ServerKey`` uses (`_RSA.BlindSigning.PrivateKey.blindSignature(for:)`, BoringSSL's
    /// blinded raw RSA). The server runs two per handshake: decrypting the device's block and
    /// signing the HMAC.
    var rsaPrivateOpsPerSecond: Double
    /// Server sides of the handshake per second on one core, through the public state machine
    /// the gateway drives (`ServerHandshake`: `start`, `receive` of the 256-byte block,
    /// `deviceKeyResolved`): the two private operations, their checks with the public exponent
    /// (BigInt), the RSA-1024 encryption of `R` to the device (BigInt) and the HMAC.
    var serverHandshakesPerSecond: Double
    /// Device sides per second on one core (`DeviceHandshake.answer` + `accept`: the RSA-2048
    /// encryption to the server and signature check in BigInt, the RSA-1024 private operation):
    /// what each simulated device costs the benchmark's own process.
    var deviceHandshakesPerSecond: Double

    /// Measures each figure for about `seconds`.
    static func measure(serverKey: ServerKey, device: DeviceIdentity, seconds: Double) throws -> HandshakeCost {
        let primitive = try _RSA.BlindSigning.PrivateKey<SHA384>(derRepresentation: serverKey.derRepresentation)
        var generator = SystemRandomNumberGenerator()
        // A leading zero keeps the block below the modulus, as every real block is.
        let block = [0] + (1..<256).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let privateOps = try rate(seconds: seconds) {
            _ = try primitive.blindSignature(for: block)
        }

        let handshake = try DeviceHandshake(
            deviceID: device.id,
            privateKey: device.privateKeyDER,
            serverPublicKeyDER: serverKey.publicKeyDER
        )
        let nonce = [UInt8](repeating: 0x5A, count: ServerHandshake.nonceSize)
        let answer = try handshake.answer(nonce: nonce)
        var reply: [UInt8] = []
        let server = try rate(seconds: seconds) {
            var machine = ServerHandshake(serverKey: serverKey, nonce: nonce)
            _ = machine.start()
            guard case .lookUpDeviceKey(_, let presented) = machine.receive(answer),
                case .establish(let bytes, _) = machine.deviceKeyResolved(presented)
            else {
                throw BenchError("the server handshake did not complete in process")
            }
            reply = bytes
        }
        // The reply must be one the device accepts, or the figure measured the wrong path.
        _ = try handshake.accept(reply)
        let deviceSide = try rate(seconds: seconds) {
            _ = try handshake.answer(nonce: nonce)
            _ = try handshake.accept(reply)
        }
        return HandshakeCost(
            rsaPrivateOpsPerSecond: privateOps,
            serverHandshakesPerSecond: server,
            deviceHandshakesPerSecond: deviceSide
        )
    }

    /// Runs `body` repeatedly for about `seconds` of this thread's CPU time (at least 5 times);
    /// returns runs per CPU second. The body is synchronous, so it stays on one thread.
    private static func rate(seconds: Double, _ body: () throws -> Void) throws -> Double {
        try body()  // warm-up
        let start = ProcessCPU.threadSeconds()
        var runs = 0
        while runs < 5 || ProcessCPU.threadSeconds() - start < seconds {
            try body()
            runs += 1
        }
        return Double(runs) / (ProcessCPU.threadSeconds() - start)
    }
}
