import Hummingbird
import LatchkeyCore

/// Who the client is: the TCP peer, or, when the peer is a trusted proxy, the rightmost address
/// in `X-Forwarded-For` that is not a trusted proxy (`TRUSTED_PROXIES`).
public struct ClientAddressResolver: Sendable {
    /// The proxies whose `X-Forwarded-For` is believed.
    public let trustedProxies: [IPNetwork]

    /// Creates a resolver.
    /// - Parameter trustedProxies: The proxies whose `X-Forwarded-For` is believed.
    public init(trustedProxies: [IPNetwork]) {
        self.trustedProxies = trustedProxies
    }

    /// The client's address.
    /// - Parameters:
    ///   - peer: The TCP peer's address, `nil` when unknown.
    ///   - forwardedFor: The `X-Forwarded-For` header lines, in order.
    /// - Returns: The peer when it is not a trusted proxy; otherwise the rightmost forwarded
    ///   address that is not one (a malformed entry, as it stands), or the peer when all are.
    ///   `nil` when the peer is unknown.
    public func clientAddress(peer: String?, forwardedFor: [String]) -> String? {
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

extension ClientAddressResolver {
    /// The client's origin as Core records it with a session and in the activity: its address
    /// (resolved through the trusted proxies; `nil` unless it is an IP address, since a trusted
    /// proxy's `X-Forwarded-For` may end in anything) and its `User-Agent`.
    /// - Parameters:
    ///   - request: The request.
    ///   - context: Its context, for the TCP peer's address.
    /// - Returns: The origin.
    public func origin(of request: Request, context: LatchkeyRequestContext) -> SessionOrigin {
        let address = clientAddress(
            peer: context.remoteAddress?.ipAddress, forwardedFor: request.headers[values: .xForwardedFor])
        return SessionOrigin(
            ip: address.flatMap { IPNetwork.addressBytes($0) == nil ? nil : $0 },
            userAgent: request.headers[.userAgent], languages: request.headers[.acceptLanguage])
    }
}
