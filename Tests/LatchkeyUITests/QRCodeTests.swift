import Foundation
import Testing

@testable import LatchkeyUI

@Suite("The QR encoder")
struct QRCodeTests {
    /// The most bytes a version holds at level M in byte mode.
    static func capacity(_ version: Int) -> Int {
        (QRCode.dataCodewords(version) * 8 - 4 - (version < 10 ? 8 : 16)) / 8
    }

    /// An `otpauth://` URI of exactly `length` bytes, its secret padded.
    static func uri(issuer: String, account: String, length: Int) -> String {
        let head = "otpauth://totp/\(issuer):\(account)?issuer=\(issuer)&algorithm=SHA1&digits=6&period=30&secret="
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        guard length > head.utf8.count else { return String(head.prefix(length)) }
        return head + String((0..<length - head.utf8.count).map { alphabet[($0 * 7 + length) % alphabet.count] })
    }

    /// Fifty inputs: for every version, a URI that fills it exactly; and short URIs with UTF-8
    /// issuers and addresses (percent-encoded as in a URI, and as raw UTF-8).
    static let inputs: [String] = {
        var inputs = (1...40).map { version in
            uri(issuer: "Latchkey", account: "ada%40example.com", length: max(capacity(version), 1))
        }
        inputs += [
            "otpauth://totp/Latchkey:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Latchkey",
            "otpauth://totp/Z%C3%BCrich%20Bank:%C3%A9l%C3%A8ve%40ex%C3%A4mple.com?secret=JBSWY3DPEHPK3PXP&issuer=Z%C3%BCrich%20Bank",
            "otpauth://totp/Zürich Bank:élève@exämple.com?secret=JBSWY3DPEHPK3PXP&issuer=Zürich Bank",
            "otpauth://totp/日本銀行:山田@例え.jp?secret=GEZDGNBVGY3TQOJQ&issuer=日本銀行",
            "otpauth://totp/👩🏽‍💻:ada@example.com?secret=GEZDGNBVGY3TQOJQ&issuer=👩🏽‍💻",
            "a", "", String(repeating: "0", count: 14), String(repeating: "A", count: 15),
            uri(issuer: String(repeating: "Ü", count: 50), account: "bob%40example.org", length: 600),
        ]
        return inputs
    }()

    @Test("each version holds what the standard says it holds, and 2,331 bytes is the most")
    func capacities() throws {
        #expect(Self.capacity(1) == 14 && Self.capacity(10) == 213 && Self.capacity(40) == 2_331)
        #expect(QRCode.capacity == Self.capacity(40))
        for version in 1...40 {
            let full = try #require(QRCode(bytes: Array(repeating: 0x41, count: Self.capacity(version))))
            #expect(full.version == version && full.size == 17 + 4 * version)
            if version < 40 {
                #expect(
                    QRCode(bytes: Array(repeating: 0x41, count: Self.capacity(version) + 1))?.version == version + 1)
            }
        }
        #expect(QRCode(bytes: Array(repeating: 0x41, count: QRCode.capacity + 1)) == nil)
    }

    @Test("the module matrix equals segno's at the version and mask chosen, for fifty inputs")
    func matchesSegno() throws {
        let codes = try Self.inputs.map { try #require(QRCode(text: $0)) }
        #expect(Set(codes.map(\.version)) == Set(1...40))
        let request = try JSONSerialization.data(
            withJSONObject: zip(Self.inputs, codes).map { text, code in
                ["bytes": Array(text.utf8).map(Int.init), "version": code.version, "mask": code.mask] as [String: Any]
            })
        // segno 1.6.6 adds eight zero bits after the terminator when the bit stream already ends
        // on a codeword boundary, which in byte mode it always does; ISO/IEC 18004 section 7.4.10
        // adds padding bits only when it does not. The script compares each symbol with segno as
        // it is where no padding is needed (the inputs that fill their version), and with that
        // one step following the standard everywhere.
        let script = """
            import json, sys, segno
            from segno import encoder
            standard = lambda buff, version, length: buff.extend([0] * (-length % 8))
            original = encoder.write_padding_bits
            out = []
            for item in json.load(sys.stdin):
                pair = []
                for padding in (original, standard):
                    encoder.write_padding_bits = padding
                    code = segno.make_qr(bytes(item["bytes"]), error="m", mode="byte", version=item["version"],
                                         mask=item["mask"], boost_error=False)
                    pair.append(["".join("1" if m else "0" for m in row) for row in code.matrix])
                out.append(pair)
            json.dump(out, sys.stdout)
            """
        let matrices = try JSONSerialization.jsonObject(with: Self.python(script, input: request)) as? [[[String]]]
        let expected = try #require(matrices, "segno (PyPI, Tests/e2e/requirements.txt) must be installed")
        #expect(expected.count == codes.count)
        var filled = 0
        for ((text, code), pair) in zip(zip(Self.inputs, codes), expected) {
            let ours = (0..<code.size).map { y in String((0..<code.size).map { code[$0, y] ? "1" : "0" }) }
            #expect(ours == pair[1], "version \(code.version), mask \(code.mask)")
            if text.utf8.count == Self.capacity(code.version) {
                filled += 1
                #expect(ours == pair[0], "version \(code.version), mask \(code.mask), unpatched")
            }
        }
        #expect(filled >= 40)
    }

    @Test("the SVG path draws exactly the dark modules, inside a quiet zone of four")
    func path() throws {
        let code = try #require(QRCode(text: "otpauth://totp/Latchkey:ada?secret=JBSWY3DPEHPK3PXP"))
        #expect(code.side == code.size + 8)
        var drawn = Set<Int>()
        let pattern = /M(\d+) (\d+)h(\d+)v1h-(\d+)z/
        for match in code.pathData.matches(of: pattern) {
            let (x, y, width) = (Int(match.1)!, Int(match.2)!, Int(match.3)!)
            #expect(match.3 == match.4 && width > 0)
            #expect((4..<code.size + 4).contains(y) && x >= 4 && x + width <= code.size + 4)
            for column in x..<x + width { drawn.insert((y - 4) * code.size + column - 4) }
        }
        let dark = Set((0..<code.size * code.size).filter { code[$0 % code.size, $0 / code.size] })
        #expect(drawn == dark)
    }

    /// Runs a Python script with `input` on its standard input; returns its standard output.
    static func python(_ script: String, input: Data) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return output
    }
}
