import Hummingbird

/// Who the client is: the TCP peer, or, when the peer is a trusted proxy, the rightmost address
/// in `X-Forwarded-For` that is not a trusted proxy.
struct ClientAddressResolver: Sendable {
    let trustedProxies: [IPNetwork]

    func clientAddress(peer: String?, forwardedFor: [String]) -> String? {
        guard let peer else { return nil }
        guard isTrusted(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        for hop in hops.reversed() where !hop.isEmpty {
            // A malformed entry ends the chain: nothing left of it can be trusted.
            guard IPNetwork.addressBytes(hop) != nil else { return hop }
            if !isTrusted(hop) { return hop }
        }
        return peer
    }

    private func isTrusted(_ address: String) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }
}
