/// The most common passwords, refused at registration and reset in every profile.
///
/// The list is `Resources/common-passwords.txt` (19,640 lower-cased passwords from Django; its
/// source and licence are in `Resources/common-passwords.LICENSE`), compiled into the binary so
/// that the service stays one file.
public enum CommonPasswords {
    private static let passwords: Set<String> = {
        let text = String(decoding: PackageResources.common_passwords_txt, as: UTF8.self)
        return Set(text.split(whereSeparator: \.isNewline).map { $0.lowercased() })
    }()

    /// The number of passwords on the list.
    public static var count: Int { passwords.count }

    /// Whether a password is on the list, ignoring case.
    /// - Parameter password: The password as sent.
    /// - Returns: `true` when it must be refused.
    public static func contains(_ password: String) -> Bool {
        passwords.contains(password.lowercased())
    }
}
