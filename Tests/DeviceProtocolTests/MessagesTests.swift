import CoAP
import DeviceProtocol
import Foundation
import Testing

@Suite struct MessagesTests {
    static let observedHello = hex("50 02 f6 05 b1 68 ff 00 03 ff ff 00 36 00 03 00 00 13 8a 03 c0 00 a0 00 00 02 00")

    @Test func observedHelloParses() throws {
        let message = try CoAPMessage(decoding: Self.observedHello)
        #expect(message.type == .nonConfirmable)
        #expect(message.code == .post)
        #expect(message.messageID == 0xF605)
        #expect(message.path == "h")
        let hello = try Hello(payload: message.payload)
        #expect(hello.productID == 3)
        #expect(hello.productFirmwareVersion == 0xFFFF)
        #expect(hello.flags == [.diagnosticsSupport, .immediateUpdates, .goodbyeSupport, .deviceInitiatedDescribe])
        #expect(hello.flags.rawValue == 0x36)
        #expect(hello.platformID == 3)
        #expect(hello.deviceID.isEmpty)
        #expect(hello.systemVersion == 5002)
        #expect(hello.maximumMessageSize == 960)
        #expect(hello.maximumBinarySize == 10_485_760)
        #expect(hello.otaChunkSize == 512)
        #expect(try hello.message(messageID: 0xF605).encoded() == Self.observedHello)
        #expect(Self.observedHello.count == 27)
    }

    @Test func shortAndDTLSHellos() throws {
        let core = try Hello(payload: hex("00 00 ff ff 00 01"))
        #expect(core.platformID == nil && core.flags == [.otaUpgradeSuccessful])
        #expect(core.payload == hex("00 00 ff ff 00 01"))
        let photon = try Hello(payload: hex("00 06 00 05 00 02 00 06"))
        #expect(photon.productID == 6 && photon.platformID == 6 && photon.systemVersion == nil)
        #expect(photon.payload == hex("00 06 00 05 00 02 00 06"))
        let id = (1...12).map { UInt8($0) }
        let dtls = Hello(
            productID: 12,
            flags: [.otaProtocolV3],
            platformID: 12,
            deviceID: id,
            systemVersion: 5002,
            maximumMessageSize: 1024,
            maximumBinarySize: 1,
            otaChunkSize: 512
        )
        #expect(try Hello(payload: dtls.payload) == dtls)
        #expect(throws: DeviceProtocolError.invalidHello) { try Hello(payload: [0, 1, 2]) }
        #expect(throws: DeviceProtocolError.invalidHello) {
            try Hello(payload: hex("00 06 00 05 00 02 00 06 00 0c 01"))
        }
    }

    @Test func serverHello() throws {
        #expect(try Hello.serverMessage(messageID: 0x1001).encoded() == hex("50 02 10 01 b1 68"))
        var confirmable = try CoAPMessage(decoding: Self.observedHello)
        confirmable.type = .confirmable
        #expect(try confirmable.encoded().prefix(2) == [0x40, 0x02])
        #expect(try confirmable.emptyAcknowledgement.encoded() == hex("60 00 f6 05"))
    }

    @Test func applicationDescribe() throws {
        let describe = try Describe(json: Array(#"{"f":["led"],"v":{"counter":2,"temp":9,"status":4}}"#.utf8))
        #expect(describe.functions == ["led"])
        #expect(describe.variableType("counter") == .int32)
        #expect(describe.variableType("temp") == .double)
        #expect(describe.variableType("status") == .string)
        #expect(describe.variableType("missing") == nil)
        #expect(describe.hasApplicationPart && !describe.hasSystemPart)
    }

    @Test func systemDescribe() throws {
        let json = """
            {"p":6,"m":[{"s":10485760,"l":"m","vc":30,"vv":30,"f":"b","n":"0","v":1000,"d":[]},
                        {"s":10485760,"l":"m","vc":30,"vv":30,"f":"m","n":"0","v":5002,"d":[{"f":"b","n":"0","v":1000}]}]}
            """
        let describe = try Describe(json: Array(json.utf8))
        #expect(describe.platformID == 6)
        #expect(describe.modules?.count == 2)
        let dependency = try #require(describe.modules?[1].dependencies?.first)
        #expect(dependency.function == "b" && dependency.index == "0" && dependency.version == 1000)
        #expect(describe.modules?[0].maximumSize == 10_485_760)
        #expect(describe.systemVersion == 5002)
        #expect(!describe.hasInvalidModules)
        #expect(describe.hasSystemPart && !describe.hasApplicationPart)
    }

    @Test func combinedSafeModeDescribe() throws {
        let json = """
            {"f":[],"v":{},"p":6,"m":[{"s":16384,"l":"m","vc":30,"vv":30,"f":"b","n":"0","v":4,"d":[]},\
            {"s":131072,"l":"m","vc":30,"vv":26,"u":"F3384BEB","f":"u","n":"1","v":3,"d":[{"f":"s","n":"2","v":11,"_":""}]}]}
            """
        let describe = try Describe(json: Array(json.utf8))
        #expect(describe.hasApplicationPart && describe.hasSystemPart)
        #expect(describe.functions == [])
        #expect(describe.hasInvalidModules)
        #expect(describe.modules?[1].hash == "F3384BEB")
        #expect(throws: DeviceProtocolError.invalidDescribe) { try Describe(json: Array("[1]".utf8)) }
        #expect(throws: DeviceProtocolError.invalidDescribe) { try Describe(json: Array("{\"f\":3}".utf8)) }
    }

    /// Found by fuzzing: Foundation's decoder took raw control characters inside strings, so a
    /// device could put a line break or an escape sequence into its function and variable
    /// names (and so into logs). JSON forbids them; whitespace between tokens stays allowed.
    @Test func describeRefusesRawControlCharacters() throws {
        for text in [
            "{\"f\":[\"le\nd\"]}", "{\"v\":{\"\u{15}temp\":9}}", "{\"f\":[\"a\u{1B}[2J\"]}", "{\"f\":[\"\u{0}\"]}",
        ] {
            #expect(throws: DeviceProtocolError.invalidDescribe, "\(text.debugDescription)") {
                try Describe(json: Array(text.utf8))
            }
        }
        let spaced = try Describe(json: Array("{\r\n\t\"f\": [\"led\"],\n \"v\": {}}\n".utf8))
        #expect(spaced.functions == ["led"])
        // Escaped, the same characters are data like any other.
        #expect(try Describe(json: Array(#"{"f":["le\nd"]}"#.utf8)).functions == ["le\nd"])
    }

    @Test func variableValueVectors() throws {
        #expect(VariableValue.int32(42).payload == hex("00 00 00 2a"))
        #expect(VariableValue.double(21.5).payload == hex("00 00 00 00 00 80 35 40"))
        #expect(VariableValue.bool(true).payload == hex("01"))
        #expect(VariableValue.string("ok").payload == hex("6f 6b"))
        #expect(try VariableValue(payload: hex("00 00 00 2a"), type: .int32) == .int32(42))
        #expect(try VariableValue(payload: hex("ff ff ff fe"), type: .int32) == .int32(-2))
        #expect(try VariableValue(payload: hex("00 00 00 00 00 80 35 40"), type: .double) == .double(21.5))
        #expect(try VariableValue(payload: hex("01"), type: .bool) == .bool(true))
        #expect(try VariableValue(payload: hex("00"), type: .bool) == .bool(false))
        #expect(try VariableValue(payload: hex("6f 6b"), type: .string) == .string("ok"))
        #expect(try VariableValue(payload: [], type: .string) == .string(""))
        #expect(throws: DeviceProtocolError.invalidVariableValue) { try VariableValue(payload: [1, 2], type: .int32) }
        #expect(throws: DeviceProtocolError.invalidVariableValue) { try VariableValue(payload: [1], type: .double) }
        #expect(VariableType(rawValue: 9)?.apiName == "double")
        let reply = try CoAPMessage(decoding: hex("51 44 93 60 09 ff 00 00 00 72"))
        #expect(try VariableValue(payload: reply.payload, type: .int32) == .int32(114))
    }

    @Test func deviceOSDecoderVectors() throws {
        #expect(DeviceMessageKind(classifying: [1, 1, 0, 0, 0, 0x91, UInt8(ascii: "d")]) == .describe)
        #expect(DeviceMessageKind(classifying: [1, 3, 0, 0, 0, 0x91, UInt8(ascii: "s"), 0xFF, 1]) == .signalStart)
        #expect(DeviceMessageKind(classifying: [1, 3, 0, 0, 0, 0x91, UInt8(ascii: "s"), 0xFF, 0]) == .signalStop)
        // Server requests as the spec builds them dispatch as intended on the device.
        #expect(DeviceMessageKind(classifying: hex("41 01 10 02 07 b1 64 41 02")) == .describe)
        #expect(DeviceMessageKind(classifying: hex("41 01 10 03 08 b1 76 04 74 65 6d 70")) == .variableRequest)
        #expect(DeviceMessageKind(classifying: hex("41 02 10 04 09 b1 66 03 6c 65 64 42 6f 6e")) == .functionCall)
        #expect(DeviceMessageKind(classifying: hex("41 03 10 05 0b b1 73 41 01")) == .signalStart)
        #expect(DeviceMessageKind(classifying: hex("41 03 10 05 0b b1 73 41 00")) == .signalStop)
        #expect(DeviceMessageKind(classifying: hex("50 02 10 01 b1 68")) == .hello)
        #expect(DeviceMessageKind(classifying: hex("50 02 10 06 b1 65 03 73 72 76 ff 31")) == .event)
        #expect(DeviceMessageKind(classifying: hex("61 45 93 54 0a ff 65 53 f1 00")) == .time)
        #expect(DeviceMessageKind(classifying: hex("40 00 12 34")) == .ping)
        #expect(DeviceMessageKind(classifying: hex("60 00 12 34")) == .emptyAcknowledgement)
    }
}
