import DTLS
import Testing

/// AES-CCM against the published vectors: RFC 3610 §8 (all 24 packet vectors, M = 8 and 10,
/// L = 2) and NIST SP 800-38C Appendix C (C.1–C.4: M = 4…14, L = 8…2, including the 64 KiB AAD
/// that takes the 0xFFFE length encoding).
@Suite struct AESCCMTests {
    struct Vector: CustomTestStringConvertible, Sendable {
        var name: String
        var key: String
        var nonce: String
        var aad: String
        var plaintext: String
        var output: String
        var tagLength: Int
        var testDescription: String { self.name }
    }

    static let rfc3610: [Vector] = [
        Vector(
            name: "RFC 3610 #1",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "00000003020100A0A1A2A3A4A5",
            aad: "0001020304050607",
            plaintext: "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E",
            output: "588C979A61C663D2F066D0C2C0F989806D5F6B61DAC38417E8D12CFDF926E0",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #2",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "00000004030201A0A1A2A3A4A5",
            aad: "0001020304050607",
            plaintext: "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
            output: "72C91A36E135F8CF291CA894085C87E3CC15C439C9E43A3BA091D56E10400916",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #3",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "00000005040302A0A1A2A3A4A5",
            aad: "0001020304050607",
            plaintext: "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20",
            output: "51B1E5F44A197D1DA46B0F8E2D282AE871E838BB64DA8596574ADAA76FBD9FB0C5",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #4",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "00000006050403A0A1A2A3A4A5",
            aad: "000102030405060708090A0B",
            plaintext: "0C0D0E0F101112131415161718191A1B1C1D1E",
            output: "A28C6865939A9A79FAAA5C4C2A9D4A91CDAC8C96C861B9C9E61EF1",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #5",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "00000007060504A0A1A2A3A4A5",
            aad: "000102030405060708090A0B",
            plaintext: "0C0D0E0F101112131415161718191A1B1C1D1E1F",
            output: "DCF1FB7B5D9E23FB9D4E131253658AD86EBDCA3E51E83F077D9C2D93",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #6",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "00000008070605A0A1A2A3A4A5",
            aad: "000102030405060708090A0B",
            plaintext: "0C0D0E0F101112131415161718191A1B1C1D1E1F20",
            output: "6FC1B011F006568B5171A42D953D469B2570A4BD87405A0443AC91CB94",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #7",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "00000009080706A0A1A2A3A4A5",
            aad: "0001020304050607",
            plaintext: "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E",
            output: "0135D1B2C95F41D5D1D4FEC185D166B8094E999DFED96C048C56602C97ACBB7490",
            tagLength: 10
        ),
        Vector(
            name: "RFC 3610 #8",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "0000000A090807A0A1A2A3A4A5",
            aad: "0001020304050607",
            plaintext: "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
            output: "7B75399AC0831DD2F0BBD75879A2FD8F6CAE6B6CD9B7DB24C17B4433F434963F34B4",
            tagLength: 10
        ),
        Vector(
            name: "RFC 3610 #9",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "0000000B0A0908A0A1A2A3A4A5",
            aad: "0001020304050607",
            plaintext: "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20",
            output: "82531A60CC24945A4B8279181AB5C84DF21CE7F9B73F42E197EA9C07E56B5EB17E5F4E",
            tagLength: 10
        ),
        Vector(
            name: "RFC 3610 #10",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "0000000C0B0A09A0A1A2A3A4A5",
            aad: "000102030405060708090A0B",
            plaintext: "0C0D0E0F101112131415161718191A1B1C1D1E",
            output: "07342594157785152B074098330ABB141B947B566AA9406B4D999988DD",
            tagLength: 10
        ),
        Vector(
            name: "RFC 3610 #11",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "0000000D0C0B0AA0A1A2A3A4A5",
            aad: "000102030405060708090A0B",
            plaintext: "0C0D0E0F101112131415161718191A1B1C1D1E1F",
            output: "676BB20380B0E301E8AB79590A396DA78B834934F53AA2E9107A8B6C022C",
            tagLength: 10
        ),
        Vector(
            name: "RFC 3610 #12",
            key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            nonce: "0000000E0D0C0BA0A1A2A3A4A5",
            aad: "000102030405060708090A0B",
            plaintext: "0C0D0E0F101112131415161718191A1B1C1D1E1F20",
            output: "C0FFA0D6F05BDB67F24D43A4338D2AA4BED7B20E43CD1AA31662E7AD65D6DB",
            tagLength: 10
        ),
        Vector(
            name: "RFC 3610 #13",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "00412B4EA9CDBE3C9696766CFA",
            aad: "0BE1A88BACE018B1",
            plaintext: "08E8CF97D820EA258460E96AD9CF5289054D895CEAC47C",
            output: "4CB97F86A2A4689A877947AB8091EF5386A6FFBDD080F8E78CF7CB0CDDD7B3",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #14",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "0033568EF7B2633C9696766CFA",
            aad: "63018F76DC8A1BCB",
            plaintext: "9020EA6F91BDD85AFA0039BA4BAFF9BFB79C7028949CD0EC",
            output: "4CCB1E7CA981BEFAA0726C55D378061298C85C92814ABC33C52EE81D7D77C08A",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #15",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "00103FE41336713C9696766CFA",
            aad: "AA6CFA36CAE86B40",
            plaintext: "B916E0EACC1C00D7DCEC68EC0B3BBB1A02DE8A2D1AA346132E",
            output: "B1D23A2220DDC0AC900D9AA03C61FCF4A559A4417767089708A776796EDB723506",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #16",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "00764C63B8058E3C9696766CFA",
            aad: "D0D0735C531E1BECF049C244",
            plaintext: "12DAAC5630EFA5396F770CE1A66B21F7B2101C",
            output: "14D253C3967B70609B7CBB7C499160283245269A6F49975BCADEAF",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #17",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "00F8B678094E3B3C9696766CFA",
            aad: "77B60F011C03E1525899BCAE",
            plaintext: "E88B6A46C78D63E52EB8C546EFB5DE6F75E9CC0D",
            output: "5545FF1A085EE2EFBF52B2E04BEE1E2336C73E3F762C0C7744FE7E3C",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #18",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "00D560912D3F703C9696766CFA",
            aad: "CD9044D2B71FDB8120EA60C0",
            plaintext: "6435ACBAFB11A82E2F071D7CA4A5EBD93A803BA87F",
            output: "009769ECABDF48625594C59251E6035722675E04C847099E5AE0704551",
            tagLength: 8
        ),
        Vector(
            name: "RFC 3610 #19",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "0042FFF8F1951C3C9696766CFA",
            aad: "D85BC7E69F944FB8",
            plaintext: "8A19B950BCF71A018E5E6701C91787659809D67DBEDD18",
            output: "BC218DAA947427B6DB386A99AC1AEF23ADE0B52939CB6A637CF9BEC2408897C6BA",
            tagLength: 10
        ),
        Vector(
            name: "RFC 3610 #20",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "00920F40E56CDC3C9696766CFA",
            aad: "74A0EBC9069F5B37",
            plaintext: "1761433C37C5A35FC1F39F406302EB907C6163BE38C98437",
            output: "5810E6FD25874022E80361A478E3E9CF484AB04F447EFFF6F0A477CC2FC9BF548944",
            tagLength: 10
        ),
        Vector(
            name: "RFC 3610 #21",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "0027CA0C7120BC3C9696766CFA",
            aad: "44A3AA3AAE6475CA",
            plaintext: "A434A8E58500C6E41530538862D686EA9E81301B5AE4226BFA",
            output: "F2BEED7BC5098E83FEB5B31608F8E29C38819A89C8E776F1544D4151A4ED3A8B87B9CE",
            tagLength: 10
        ),
        Vector(
            name: "RFC 3610 #22",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "005B8CCBCD9AF83C9696766CFA",
            aad: "EC46BB63B02520C33C49FD70",
            plaintext: "B96B49E21D621741632875DB7F6C9243D2D7C2",
            output: "31D750A09DA3ED7FDDD49A2032AABF17EC8EBF7D22C8088C666BE5C197",
            tagLength: 10
        ),
        Vector(
            name: "RFC 3610 #23",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "003EBE94044B9A3C9696766CFA",
            aad: "47A65AC78B3D594227E85E71",
            plaintext: "E2FCFBB880442C731BF95167C8FFD7895E337076",
            output: "E882F1DBD38CE3EDA7C23F04DD65071EB41342ACDF7E00DCCEC7AE52987D",
            tagLength: 10
        ),
        Vector(
            name: "RFC 3610 #24",
            key: "D7828D13B2B0BDC325A76236DF93CC6B",
            nonce: "008D493B30AE8B3C9696766CFA",
            aad: "6E37A6EF546D955D34AB6059",
            plaintext: "ABF21C0B02FEB88F856DF4A37381BCE3CC128517D4",
            output: "F32905B88A641B04B9C9FFB58CC390900F3DA12AB16DCE9E82EFA16DA62059",
            tagLength: 10
        ),
    ]

    /// SP 800-38C Appendix C; C.4's AAD is 0x00…0xFF repeated 256 times (65536 bytes).
    static let sp800_38c: [Vector] = [
        Vector(
            name: "SP 800-38C C.1",
            key: "404142434445464748494a4b4c4d4e4f",
            nonce: "10111213141516",
            aad: "0001020304050607",
            plaintext: "20212223",
            output: "7162015b4dac255d",
            tagLength: 4
        ),
        Vector(
            name: "SP 800-38C C.2",
            key: "404142434445464748494a4b4c4d4e4f",
            nonce: "1011121314151617",
            aad: "000102030405060708090a0b0c0d0e0f",
            plaintext: "202122232425262728292a2b2c2d2e2f",
            output: "d2a1f0e051ea5f62081a7792073d593d1fc64fbfaccd",
            tagLength: 6
        ),
        Vector(
            name: "SP 800-38C C.3",
            key: "404142434445464748494a4b4c4d4e4f",
            nonce: "101112131415161718191a1b",
            aad: "000102030405060708090a0b0c0d0e0f10111213",
            plaintext: "202122232425262728292a2b2c2d2e2f3031323334353637",
            output: "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951",
            tagLength: 8
        ),
        Vector(
            name: "SP 800-38C C.4",
            key: "404142434445464748494a4b4c4d4e4f",
            nonce: "101112131415161718191a1b1c",
            aad: c4AAD,
            plaintext: "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
            output:
                "69915dad1e84c6376a68c2967e4dab615ae0fd1faec44cc484828529463ccf72b4ac6bec93e8598e7f0dadbcea5b",
            tagLength: 14
        ),
    ]

    static let c4AAD: String = String(repeating: hexString((0...255).map { UInt8($0) }), count: 256)

    @Test(arguments: rfc3610 + sp800_38c)
    func sealsAndOpensThePublishedVector(_ vector: Vector) throws {
        let nonce = hex(vector.nonce)
        let ccm = try AESCCM(key: hex(vector.key), tagLength: vector.tagLength, lengthFieldSize: 15 - nonce.count)
        let sealed = try ccm.seal(hex(vector.plaintext), nonce: nonce, authenticating: hex(vector.aad))
        #expect(hexString(sealed) == vector.output.lowercased())
        let opened = try ccm.open(sealed, nonce: nonce, authenticating: hex(vector.aad))
        #expect(opened == hex(vector.plaintext))
    }

    @Test func anyChangedBitFailsAuthentication() throws {
        let vector = Self.rfc3610[0]
        let ccm = try AESCCM(key: hex(vector.key), tagLength: 8, lengthFieldSize: 2)
        let sealed = hex(vector.output)
        let aad = hex(vector.aad)
        let nonce = hex(vector.nonce)
        for index in sealed.indices {
            for bit in 0..<8 {
                var altered = sealed
                altered[index] ^= 1 << bit
                #expect(throws: DTLSError.authenticationFailed) {
                    try ccm.open(altered, nonce: nonce, authenticating: aad)
                }
            }
        }
        for index in aad.indices {
            var altered = aad
            altered[index] ^= 0x80
            #expect(throws: DTLSError.authenticationFailed) {
                try ccm.open(sealed, nonce: nonce, authenticating: altered)
            }
        }
        #expect(throws: DTLSError.authenticationFailed) {
            try ccm.open(sealed.prefix(7), nonce: nonce, authenticating: aad)
        }
        #expect(throws: DTLSError.authenticationFailed) {
            try ccm.open(sealed.dropLast(), nonce: nonce, authenticating: aad)
        }
    }

    @Test func refusesInvalidParameters() throws {
        let key = [UInt8](repeating: 1, count: 16)
        #expect(throws: DTLSError.invalidCipherParameters) { try AESCCM(key: key.prefix(15)) }
        #expect(throws: DTLSError.invalidCipherParameters) { try AESCCM(key: key, tagLength: 7) }
        #expect(throws: DTLSError.invalidCipherParameters) { try AESCCM(key: key, tagLength: 18) }
        #expect(throws: DTLSError.invalidCipherParameters) { try AESCCM(key: key, lengthFieldSize: 1) }
        let ccm = try AESCCM(key: key)
        #expect(throws: DTLSError.invalidCipherParameters) {
            try ccm.seal([1, 2, 3], nonce: [UInt8](repeating: 0, count: 11))
        }
        let short = try AESCCM(key: key, tagLength: 8, lengthFieldSize: 2)
        #expect(throws: DTLSError.invalidCipherParameters) {
            try short.seal([UInt8](repeating: 0, count: 65536), nonce: [UInt8](repeating: 0, count: 13))
        }
    }

    @Test func emptyPlaintextAndEmptyAAD() throws {
        let ccm = try AESCCM(key: hex("404142434445464748494a4b4c4d4e4f"))
        let nonce = hex("101112131415161718191a1b")
        let sealed = try ccm.seal([UInt8](), nonce: nonce)
        #expect(sealed.count == 8)
        #expect(try ccm.open(sealed, nonce: nonce).isEmpty)
    }
}
