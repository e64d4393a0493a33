import Foundation

extension CharacterSet {
    /// RFC 3986's unreserved characters (section 2.3): a value percent-encoded with every other
    /// character escaped fits in any part of a URL, a query value included.
    public static let urlUnreserved: CharacterSet = {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~")
        return allowed
    }()
}
