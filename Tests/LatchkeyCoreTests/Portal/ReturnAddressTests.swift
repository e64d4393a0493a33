import LatchkeyCore
import Testing

@Suite("Return addresses: one rule, no open redirect")
struct ReturnAddressTests {
    static let hosts = ["app.example.com", ".example.org", "wiki.example.net:8443", "app.example.localhost"]
        .compactMap(AllowedRedirectHost.init)
    static let production = RedirectRule(hosts: hosts, allowsPlainHTTP: false)
    static let development = RedirectRule(hosts: hosts, allowsPlainHTTP: true)

    @Test("allowed hosts are followed, exactly as given, in any case")
    func followed() throws {
        let cases: [(String, String)] = [
            ("https://app.example.com/", "https://app.example.com"),
            ("https://app.example.com", "https://app.example.com"),
            ("https://APP.Example.COM/Path?Q=1#Frag", "https://app.example.com"),
            ("HTTPS://app.example.com/x", "https://app.example.com"),
            ("https://app.example.com:443/x", "https://app.example.com"),
            ("https://example.org/", "https://example.org"),
            ("https://a.b.example.org/deep/path?x=%2F&y=%41", "https://a.b.example.org"),
            ("https://wiki.example.net:8443/page", "https://wiki.example.net:8443"),
            ("http://app.example.localhost/x?y=1", "http://app.example.localhost"),
            ("https://app.example.com/%09/evil.example", "https://app.example.com"),
            ("https://app.example.com/a@b", "https://app.example.com"),
        ]
        for (url, origin) in cases {
            let address = try #require(Self.production.returnAddress(url), "\(url)")
            #expect(address.url == url && address.origin == origin, "\(url)")
        }
        #expect(Self.development.returnAddress("http://app.example.com/")?.origin == "http://app.example.com")
    }

    @Test("every kind of trick is refused")
    func refused() {
        let tricks: [String] = [
            // Relative and scheme-relative.
            "", "/", "/account", "//evil.example", "//evil.example/x", "///evil.example", "?rd=x", "#x",
            // Backslashes anywhere.
            "/\\evil.example", "\\\\evil.example", "https://app.example.com\\@evil.example",
            "https:\\\\app.example.com", "https://app.example.com/\\evil.example",
            "https://evil.example\\.app.example.com",
            // White space and control characters.
            "/%09/evil.example", " https://app.example.com/", "https://app.example.com/ x",
            "https://app.example.com/\t",
            "https://app.example.com/\n", "\thttps://app.example.com/", "https://app.exa\u{0}mple.com/",
            "https://app.example.com/\u{7F}",
            // A scheme without slashes, other schemes.
            "https:evil.example", "https:/evil.example", "https:app.example.com", "http:/app.example.com",
            "javascript:alert(1)", "JavaScript:alert(1)", "JAVASCRIPT://app.example.com/%0aalert(1)",
            "data:text/html,<script>alert(1)</script>", "DATA:text/html;base64,PHNjcmlwdD4=", "ftp://app.example.com/",
            "vbscript:msgbox", "file:///etc/passwd",
            // Userinfo.
            "https://app.example.com@evil.example", "https://user@app.example.com/", "https://a@b@app.example.com/",
            "https://app.example.com:443@evil.example/", "https://evil.example@app.example.com@evil.example",
            // Percent-encoding in the authority.
            "https://app%2eexample.com/", "https://app.example.com%2f@evil.example", "https://%61pp.example.com/",
            "https://app.example.com%00.evil.example/",
            // Trailing dot, prefix and suffix tricks.
            "https://app.example.com./", "https://app.example.com.evil.example/", "https://evilexample.org/",
            "https://example.org.evil.example/", "https://evil-example.org/", "https://appexample.com/",
            "https://app.example.com.:443/",
            // Look-alikes.
            "https://аpp.example.com/", "https://app.example.com。evil.example/", "https://ａｐｐ.example.com/",
            "https://app.examp1e.com/", "https://xn--pp-7ka.example.com/",
            // Numeric and octal IPv4, IPv6, mapped addresses.
            "https://127.0.0.1/", "https://0177.0.0.1/", "https://0x7f.0.0.1/", "https://2130706433/",
            "https://0x7f000001/", "https://127.1/", "https://[::1]/", "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:7f00:1]/",
            // Ports.
            "https://app.example.com:8443/", "https://app.example.com:/", "https://app.example.com:0/",
            "https://app.example.com:65536/", "https://wiki.example.net/", "https://app.example.com:+443/",
            // Plain http outside localhost in production.
            "http://app.example.com/", "http://example.org/",
            // Not one URL.
            "https://app.example.com/#a#b", "https://app.example.com/%", "https://app.example.com/%zz",
            "https://app.example.com/[x]", "https://app.example.com/<x>", "https://app.example.com/\"",
            String(repeating: "https://app.example.com/" + String(repeating: "a", count: 2_100), count: 1),
        ]
        for trick in tricks {
            #expect(Self.production.returnAddress(trick) == nil, "\(trick)")
        }
        #expect(RedirectRule(hosts: [], allowsPlainHTTP: true).returnAddress("https://app.example.com/") == nil)
    }

    @Test("ALLOWED_REDIRECT_HOSTS entries: names and domains with an optional port, nothing else")
    func entries() {
        #expect(AllowedRedirectHost("App.Example.com")?.description == "app.example.com")
        #expect(AllowedRedirectHost(".example.org")?.includesSubdomains == true)
        #expect(AllowedRedirectHost("wiki.example.net:8443")?.port == 8443)
        #expect(AllowedRedirectHost("localhost")?.host == "localhost")
        for bad in [
            "", ".", "*.example.com", "example.com.", "127.0.0.1", "[::1]", "exa mple.com", "ünïcode.example",
            "app.example.com:0", "app.example.com:", "app.example.com:99999", "https://app.example.com", "-a.example",
            "a..example.com", "app.example.com/x", ".com", "com", "intranet", ".localhost:8080x",
        ] {
            #expect(AllowedRedirectHost(bad) == nil, "\(bad)")
        }
    }

    @Test("the pages' form-action lists the allowed origins with their ports, a domain and its subdomains")
    func formAction() {
        #expect(
            Self.production.formActionSources == [
                "https://app.example.com", "https://example.org", "https://*.example.org",
                "https://wiki.example.net:8443", "https://app.example.localhost", "http://app.example.localhost",
            ])
    }
}
