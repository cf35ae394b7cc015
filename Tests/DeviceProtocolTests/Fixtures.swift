// Generated once with Python `cryptography` 48 (keys, the PKCS#1 block, HMAC, raw signature and
// AES-CBC frames); the tests never run Python. Test keys only: never use them anywhere else.

enum Fixtures {
    static let serverPKCS1PEM = """
        -----BEGIN RSA PRIVATE KEY-----
        MIIEowIBAAKCAQEAihJzFPWt9S7tFriUlqvWYiFJU3gWxPI2ZX5sJCnPUDVqTpur
        yDwr7WeIiKFVmy5Kl3pC+ei84dfvNQ84g120HCNO+/6lkXZyhYWC0HvahfyDX7/B
        Ru2EvCI0LbXpDQzvhIdOkfPL9GYWFUP0GK2znSfGVRXxgF8MjZZqL3ac1GKKsg9u
        VSEgDEwDAGwKKr2u96zGwpN3D1dKBb6/QNxm935Hh6kS2T0Krz/zeyJ1pyUhoF1g
        e4HHeiBLPwgGqw42Bzty5jKS6LV7pul9F7iBR4lwgA3HdArIHSXDgCIv0Wt4n99A
        v3SY0Ffws1xg/4oO6wcpYUFxaIMxtZK6yrrxvQIDAQABAoIBAA/84mwNJcNUF3qP
        zY7j33t18MR0TaipBmD6wmFuoPWf9csb7giN5SVEnZP6oIvLULJZIyvGhiadpzKM
        7GWTwmEWupTl7/yXy1uIMfVbvhpROtIpxWLl6n6RdFrNq2qKMqr1MwUmBpoqfwif
        2YJJDNkYC7h7Bb+wYeb8QZf042SZR/1IyGD9njXxoW/6AglShdf0bxTXJSp+deQ+
        7M8YLFnTHAsjdMpnDrfu0tWEFZqP2QIuXeS7HNem5ZW+9SMerbyhxVGRcWvHhTp6
        seYCLGLViDgZoHDDT5Q44iwewmOlco+FksoD9ebqkX8CuJEdZlH49pVe4WYbibU9
        6f2eOpECgYEAvBNR06BRu20d9DITNwiglVijmfW0ylS/78PeGtljL0jKa6hIwIzB
        bm6DXDHjjTOohbZPVp7JfNFlLZXT+M/3Xrm7Ay4X3oJNj8M2bl0oPTzua2RSoctK
        9syiLr6khXXp4SKZLKTkUdYX4u9CdfNYpdEdz0LMUkXep/vAiqWgSpECgYEAu/AF
        tsfeuhOk20x/ZjhIj5lGWcRenqPiRYMmnQhaLO4DtCAYYJtXb1G+5rOjNmOQ3TBa
        QiCgY3YuQD34MDpx62xRTZPDiTijnR7HaWqJCIrmNiloMYdlBOJsgq7A/XTNzHP3
        j2yjhn6h5xH+l0QXdE4l0Y9xXA9Bk6A2dHjtEm0CgYAjcQiUdruwNCnW4LDaSBfq
        zN9XngPJtRrOVfy+1oRoXrE2hGnhTyUMaGr8rrIQ49E4EVj2G8ogaV1Fr9xYIOie
        wyVIviDlX2y6ULErLwbsM1VCi48+yg6AX6OYZ3idZdEDCgAPd6tG+K9bpnbBv2/P
        H48chZv3TQ9eXIS2G+wO4QKBgQCg+0tZssDU8QiwlEk4fROidW9uayeFienDE0Fb
        F5FulP51J1zaO5Xck9AK+2rdptGqtcVKiXn5WHzrqGlUnmuAdkr6QY0nmG2Fo5y6
        bngs6hWh5TwL2OcuFOlP03MaaBf0fo1avHsiNIxoSuCiH8Bbbqk0ZUN70NGiK4UZ
        pY+kzQKBgHvz1c95tE1c5ogCXowLO39U9gchz7K7eKJgAXjwWLuwGTf6vEnG/Qff
        ep0ohcGWD/CzzUK4il6R4Yco41GrVrEgeZia0m/MfmGLGndDLczhK1SVqzopAVRL
        Gg+45t7umoIxIna7aIrNSSVxWrHSZ0ACYiEgTMFYr8SpAu8kCjpH
        -----END RSA PRIVATE KEY-----
        """
    static let serverPKCS8PEM = """
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCKEnMU9a31Lu0W
        uJSWq9ZiIUlTeBbE8jZlfmwkKc9QNWpOm6vIPCvtZ4iIoVWbLkqXekL56Lzh1+81
        DziDXbQcI077/qWRdnKFhYLQe9qF/INfv8FG7YS8IjQttekNDO+Eh06R88v0ZhYV
        Q/QYrbOdJ8ZVFfGAXwyNlmovdpzUYoqyD25VISAMTAMAbAoqva73rMbCk3cPV0oF
        vr9A3Gb3fkeHqRLZPQqvP/N7InWnJSGgXWB7gcd6IEs/CAarDjYHO3LmMpLotXum
        6X0XuIFHiXCADcd0CsgdJcOAIi/Ra3if30C/dJjQV/CzXGD/ig7rBylhQXFogzG1
        krrKuvG9AgMBAAECggEAD/zibA0lw1QXeo/NjuPfe3XwxHRNqKkGYPrCYW6g9Z/1
        yxvuCI3lJUSdk/qgi8tQslkjK8aGJp2nMozsZZPCYRa6lOXv/JfLW4gx9Vu+GlE6
        0inFYuXqfpF0Ws2raooyqvUzBSYGmip/CJ/ZgkkM2RgLuHsFv7Bh5vxBl/TjZJlH
        /UjIYP2eNfGhb/oCCVKF1/RvFNclKn515D7szxgsWdMcCyN0ymcOt+7S1YQVmo/Z
        Ai5d5Lsc16bllb71Ix6tvKHFUZFxa8eFOnqx5gIsYtWIOBmgcMNPlDjiLB7CY6Vy
        j4WSygP15uqRfwK4kR1mUfj2lV7hZhuJtT3p/Z46kQKBgQC8E1HToFG7bR30MhM3
        CKCVWKOZ9bTKVL/vw94a2WMvSMprqEjAjMFuboNcMeONM6iFtk9Wnsl80WUtldP4
        z/deubsDLhfegk2PwzZuXSg9PO5rZFKhy0r2zKIuvqSFdenhIpkspORR1hfi70J1
        81il0R3PQsxSRd6n+8CKpaBKkQKBgQC78AW2x966E6TbTH9mOEiPmUZZxF6eo+JF
        gyadCFos7gO0IBhgm1dvUb7ms6M2Y5DdMFpCIKBjdi5APfgwOnHrbFFNk8OJOKOd
        HsdpaokIiuY2KWgxh2UE4myCrsD9dM3Mc/ePbKOGfqHnEf6XRBd0TiXRj3FcD0GT
        oDZ0eO0SbQKBgCNxCJR2u7A0KdbgsNpIF+rM31eeA8m1Gs5V/L7WhGhesTaEaeFP
        JQxoavyushDj0TgRWPYbyiBpXUWv3Fgg6J7DJUi+IOVfbLpQsSsvBuwzVUKLjz7K
        DoBfo5hneJ1l0QMKAA93q0b4r1umdsG/b88fjxyFm/dND15chLYb7A7hAoGBAKD7
        S1mywNTxCLCUSTh9E6J1b25rJ4WJ6cMTQVsXkW6U/nUnXNo7ldyT0Ar7at2m0aq1
        xUqJeflYfOuoaVSea4B2SvpBjSeYbYWjnLpueCzqFaHlPAvY5y4U6U/TcxpoF/R+
        jVq8eyI0jGhK4KIfwFtuqTRlQ3vQ0aIrhRmlj6TNAoGAe/PVz3m0TVzmiAJejAs7
        f1T2ByHPsrt4omABePBYu7AZN/q8Scb9B996nSiFwZYP8LPNQriKXpHhhyjjUatW
        sSB5mJrSb8x+YYsad0MtzOErVJWrOikBVEsaD7jm3u6agjEidrtois1JJXFasdJn
        QAJiISBMwVivxKkC7yQKOkc=
        -----END PRIVATE KEY-----
        """
    static let devicePKCS1PEM = """
        -----BEGIN RSA PRIVATE KEY-----
        MIICXAIBAAKBgQDs6sKTrRR3dHru+rvmKhjZufYnuXbwY0sj02q75x4BeZW/Zsi8
        ndECIp7dZ64pW2MOcfpcXAFRLV8lJH6Txy6foqPKiUbWLhovMzSlEURsJlgeIaCC
        mhTyfQPV1Ovx4ugr2RuLxwm75Px4TE2F2caTu4wfmXlQOd3Zxw+Zezgg8wIDAQAB
        AoGABZiV9/8CmL+7l6F8hrc/1wS5d769vHfb8oCv6LhQ0SAaFWdMHohrw20l63zj
        dD6gXFr82umhblVwBeSSyNLPmxINIayDfQV0Ugb8sCKY8Z3EFfjVJH3UbZS1Vv7C
        qNarnTK7IITWufcWz9LSWvnhps2sR/RhNkvVD7Rqmvk3lIECQQD8W/nGFpvQHIrG
        DaX2EO7ymPWLvqKwmSJKfEWRUmOF2jxIG+o37tZFG1xiLAjmEjv59wUrmtzsrWmQ
        KPgr1XdjAkEA8FXAnUpvIZKQsikgTKKV5BXbsyJ7iMC041QEAn/S8H5pjkx9Lqar
        xh4lkSEw1yf953Bzn0nVB9aNE3WdXtbNMQJBAOpE2/d3L4gfpvg63VEz4Q6WzoO/
        Ijp8vieVe+NvL3Kn6IQsXd80ufcHcli0dkJWtRTUqxkSt3qDdVbdoZzXmu8CQEbn
        lb8SAb1u5z+YwI27fetfw4STDM0oxXU4CULPgWUwdmXkDR6hT5ZQuJabqzQe+Vq5
        o3MALlh0pQRzs60SRFECQHBntRof4E8sdSH0ovhmWAXrDNH9vlzETAxxJ0XL3FAV
        nNoOzpa3X6eyVONWkj0vVaooDU4Y5VrD3QA9NglENQ4=
        -----END RSA PRIVATE KEY-----
        """
    static let deviceSPKIHex =
        "30819f300d06092a864886f70d010101050003818d0030818902818100eceac293ad1477747aeefabbe62a18d9b9f627"
        + "b976f0634b23d36abbe71e017995bf66c8bc9dd102229edd67ae295b630e71fa5c5c01512d5f25247e93c72e9fa2a3ca"
        + "8946d62e1a2f3334a511446c26581e21a0829a14f27d03d5d4ebf1e2e82bd91b8bc709bbe4fc784c4d85d9c693bb8c1f"
        + "99795039ddd9c70f997b3820f30203010001"
    static let serverSPKIHex =
        "30820122300d06092a864886f70d01010105000382010f003082010a02820101008a127314f5adf52eed16b89496abd6"
        + "622149537816c4f236657e6c2429cf50356a4e9babc83c2bed678888a1559b2e4a977a42f9e8bce1d7ef350f38835db4"
        + "1c234efbfea5917672858582d07bda85fc835fbfc146ed84bc22342db5e90d0cef84874e91f3cbf466161543f418adb3"
        + "9d27c65515f1805f0c8d966a2f769cd4628ab20f6e5521200c4c03006c0a2abdaef7acc6c293770f574a05bebf40dc66"
        + "f77e4787a912d93d0aaf3ff37b2275a72521a05d607b81c77a204b3f0806ab0e36073b72e63292e8b57ba6e97d17b881"
        + "478970800dc7740ac81d25c380222fd16b789fdf40bf7498d057f0b35c60ff8a0eeb0729614171688331b592bacabaf1"
        + "bd0203010001"
    static let blockHex =
        "462d44b5b4cbc53471239536c5b25434fc6c729e15965bf79f41224f0a118b55ad117e1ddc3b982cc4da1567967ace5f"
        + "62eb87047071a1575e348dd0d42660455da461b3f9f40cc50c7cdd20803c9b8fccb1a50f718468335d74bfe53238f6dd"
        + "15d0d7c8ce7fa26619a7959195459dd422c239ad91ac7576ab19dabb51cbeab0091b158e090928cf79f7dd1fe76c25b6"
        + "39ff09e38b670ff14e06336b9a6048ed1d1d54886b908a6576b7b31d7e98c65fd2c9bfa9cef5b602c28742b38fab1246"
        + "5ecc63bad9522f347168d621ab3168f19e67a7b55d8759921386a0681eef31399fca436ab67cdcc55638cc436eaf99c8"
        + "7a1d21a6b261580f3813075e98934c57"
    static let RHex =
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf5093aabbccddeeff"
    static let ctHex =
        "d04a5aea1cd5f648e579ab61c2b8e515f273ec1ea258ca5aab53e1c366e50ee37923afea9cd2a49ed894e5459f0771d3"
        + "b0d03c2a4bc06054145e97bb6693c854db84a1e2da9d0d3e94f7de4d53485d8bda1ed355dab36292caf4ae2f78d91193"
        + "94e41eeb8660d443624bf666805d45e7df020c313e01a8c6f47bd03521c6754b"
    static let macHex =
        "b2a48b341591362d8eb389407adb560009a19305"
    static let sigHex =
        "01aa478799b60846be7f4efeb3a5e5ff0c78561feec82a23970b7c30331cc97e3f6612a2a685ba6174a4d1c1dcee60e6"
        + "dce896f7f9d49ed195c7cf7b2cbf284cecef1e6abd7f26969eace12bfe9ced60f0719494ae11747c71ff84e9487ddf3b"
        + "01edc1a35e7e226283753e962003fdc8ca72359df2c4e4bac24bd17ea0e1a99072a229c8bd4ba909e023f4d5461cf988"
        + "e18822ac0f94b63bdd3b44b81a46dc6be3341da6d589af2083aa473b555a16fb8678e4704a230845ee523d19af628590"
        + "4330915347ed6793633033eb766b8eea668b6916233f0efcde4be9c49dd1923104dc0d655c336c22ca74484b43ab255a"
        + "1eda8883d1343c95739c5fe9d1cfe6e6"
    static let f1Hex =
        "00207865c5bcc4c176d5a149a756754434a65e04c65b0a06909502bb85653efc2af8"
    static let f2Hex =
        "00109fc555e180cd5b286f76e1a18f34474e"
    static let f3Hex =
        "0020e59dd68ed16c85760171482346b3768419c101a6ccd327d3b009e53f99c273f1"
}
