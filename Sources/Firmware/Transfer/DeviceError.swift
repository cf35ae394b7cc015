import Foundation

/// A Device OS system error as a device reports it in an OTA error response: the payload
/// `{"code":-1380,"message":"…"}` (Device OS `formatDiagnosticPayload`; codes from
/// `services/inc/system_error.h`), or the bare CoAP code when there is no payload.
public struct DeviceError: Hashable, Sendable, CustomStringConvertible {
    /// The negative system error code, if the payload had one.
    public var code: Int?
    /// The device's own message, if any.
    public var message: String?
    /// The CoAP response code that carried it.
    public var coapCode: UInt8

    /// Creates an error record.
    public init(code: Int?, message: String? = nil, coapCode: UInt8) {
        self.code = code
        self.message = message
        self.coapCode = coapCode
    }

    /// Reads an error response's payload; a payload that is not the JSON object leaves `code` and
    /// `message` `nil`.
    public init(payload: [UInt8], coapCode: UInt8) {
        struct Body: Decodable {
            var code: Int?
            var message: String?
        }
        let body = payload.isEmpty ? nil : try? JSONDecoder().decode(Body.self, from: Data(payload))
        self.init(code: body?.code, message: body?.message, coapCode: coapCode)
    }

    /// −210 invalid state (for example no update in progress).
    public static let invalidState = -210
    /// −240 protocol error (for example "Incomplete file transfer", "Invalid chunk size").
    public static let protocolError = -240
    /// −1330 the module's integrity check failed.
    public static let integrityCheckFailed = -1330
    /// −1331 the integrity check of a resumed update failed.
    public static let resumedUpdateFailed = -1331
    /// −1351 invalid size.
    public static let invalidSize = -1351
    /// −1380 updates are disabled on the device (`System.disableUpdates()`).
    public static let updatesDisabled = -1380

    /// Names of the codes an OTA can report (Device OS `services/inc/system_error.h`).
    static let names: [Int: String] = [
        -130: "not allowed",
        -210: "invalid state",
        -219: "flash I/O error",
        -240: "protocol error",
        -1300: "module not found",
        -1310: "unsupported module",
        -1320: "validation failed",
        -1330: "integrity check failed",
        -1331: "resumed update failed",
        -1340: "dependency check failed",
        -1350: "invalid address",
        -1351: "invalid size",
        -1360: "invalid platform",
        -1370: "invalid format",
        -1380: "updates disabled",
        -1390: "OTA error",
    ]

    /// `updates disabled (-1380): <message>`, or `CoAP 5.03` without a code.
    public var description: String {
        var text: String
        if let code {
            text = "\(Self.names[code] ?? "error") (\(code))"
        } else {
            text = "CoAP \(self.coapCode >> 5).\(String(format: "%02d", self.coapCode & 0x1F))"
        }
        if let message, !message.isEmpty { text += ": \(message)" }
        return text
    }
}
