import Foundation

/// A sentence of a catalog, by key, with the values of its `{name}` placeholders: what a handler
/// or `PageProblem` says, before the request's language is known.
struct PageText: Sendable, Equatable {
    /// The catalog key, as `problem.wrong-code`.
    let key: String
    /// The values of the sentence's placeholders, by name (`seconds`, `email`).
    var arguments: [String: String] = [:]

    init(_ key: String, _ arguments: [String: String] = [:]) {
        self.key = key
        self.arguments = arguments
    }
}

/// Why a catalog or the pages' files cannot be used: the file and what is wrong with it. Start-up
/// stops with it.
public struct PageSetupError: Error, CustomStringConvertible, Sendable, Equatable {
    /// One line: the file (or setting) and the problem.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Every string a person reads on the pages in one language: a JSON object of keys to sentences
/// (`Resources/en.json`, `fr.json`). A sentence may hold placeholders as `{name}`, filled when the
/// page is rendered; everything else in it is text (escaped for HTML where it is shown).
struct Catalog: Sendable {
    /// The language, as a BCP 47 tag (RFC 5646): `en`, `fr`; `<html lang>` says it.
    let language: String
    /// The sentences, by key.
    let strings: [String: String]
    /// The twelve month names of `time.months`, January first.
    let months: [String]
    /// The sentences that hold placeholders, cut into text and placeholder names once, so that
    /// filling one is a concatenation (Foundation's `replacingOccurrences` per placeholder cost
    /// more than the rest of a page's values).
    private let pieces: [String: [Piece]]

    /// A part of a sentence: text, or the name of a placeholder.
    private enum Piece: Sendable {
        case text(String)
        case placeholder(String)
    }

    /// Reads a catalog.
    /// - Parameters:
    ///   - language: The language tag.
    ///   - json: The file's bytes: one JSON object whose values are all strings.
    ///   - file: The file's name, for the error.
    /// - Throws: `PageSetupError` naming `file` when it is not such an object.
    init(language: String, json: [UInt8], file: String) throws(PageSetupError) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw PageSetupError("\(file): not a JSON object of keys to sentences")
        }
        var strings: [String: String] = [:]
        for (key, value) in object {
            guard let sentence = value as? String else {
                throw PageSetupError("\(file): the value of \(key) is not a string")
            }
            strings[key] = sentence
        }
        self.init(language: language, strings: strings)
    }

    init(language: String, strings: [String: String]) {
        self.language = language
        self.strings = strings
        months = (strings["time.months"] ?? "").split(separator: " ").map(String.init)
        pieces = strings.filter { $0.value.contains("{") }.mapValues(Self.pieces(of:))
    }

    /// A sentence cut at its placeholders: `{name}` with a name of letters, digits, `-` or `_`.
    private static func pieces(of sentence: String) -> [Piece] {
        var pieces: [Piece] = []
        var text = ""
        var rest = sentence[...]
        while let open = rest.firstIndex(of: "{") {
            text += rest[..<open]
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "}"),
                rest[afterOpen..<close].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            else {
                text += "{"
                rest = rest[afterOpen...]
                continue
            }
            if !text.isEmpty { pieces.append(.text(text)) }
            text = ""
            pieces.append(.placeholder(String(rest[afterOpen..<close])))
            rest = rest[rest.index(after: close)...]
        }
        text += rest
        if !text.isEmpty { pieces.append(.text(text)) }
        return pieces
    }

    /// The catalog with `overrides` in place of its sentences (an operator's file replaces the
    /// sentences it names and keeps the others).
    func merging(_ overrides: Catalog) -> Catalog {
        Catalog(language: language, strings: strings.merging(overrides.strings) { _, new in new })
    }

    /// A sentence with its placeholders filled; the key itself when the catalog lacks it (a test
    /// and start-up make sure none does).
    func text(_ text: PageText) -> String {
        self.text(text.key, text.arguments)
    }

    /// A sentence with its placeholders filled.
    /// - Parameters:
    ///   - key: The key.
    ///   - arguments: The placeholders' values, by name; a placeholder without one stays as it is.
    /// - Returns: The sentence.
    func text(_ key: String, _ arguments: [String: String] = [:]) -> String {
        guard let parts = pieces[key] else { return strings[key] ?? key }
        var filled = ""
        for part in parts {
            switch part {
            case .text(let text): filled += text
            case .placeholder(let name): filled += arguments[name] ?? "{\(name)}"
            }
        }
        return filled
    }

    /// What is wrong with this catalog next to the English one: a key it lacks, a key English
    /// does not have, a sentence whose placeholders differ, a `time.months` without twelve names.
    /// - Parameters:
    ///   - english: The reference catalog.
    ///   - file: The file's name, for the problems.
    ///   - partial: Whether missing keys are allowed (an operator's override of a few sentences).
    /// - Returns: One line per problem, sorted; empty when there is none.
    func problems(against english: Catalog, file: String, partial: Bool = false) -> [String] {
        var problems: [String] = []
        for key in strings.keys.sorted() {
            guard let reference = english.strings[key] else {
                problems.append("\(file): \(key) is not a key of the pages' catalog")
                continue
            }
            if Self.placeholders(in: strings[key] ?? "") != Self.placeholders(in: reference) {
                problems.append("\(file): \(key) must have the placeholders of English: \(reference)")
            }
        }
        if !partial {
            for key in english.strings.keys.sorted() where strings[key] == nil {
                problems.append("\(file): \(key) is missing")
            }
        }
        if strings["time.months"] != nil && months.count != 12 {
            problems.append("\(file): time.months must be twelve names separated by spaces")
        }
        return problems
    }

    /// The names of the `{name}` placeholders in a sentence.
    static func placeholders(in sentence: String) -> Set<String> {
        Set(
            pieces(of: sentence).compactMap { piece in
                guard case .placeholder(let name) = piece else { return nil }
                return name
            })
    }

    /// The catalog as the first stage of rendering reads it: `login.title` as `login` → `title`
    /// (Mustache reads a dotted name as a path), each sentence's `{product}` (and any other brand
    /// value) filled, with the brand's values beside it.
    /// - Parameter brand: `lang`, `product` and `logo`, at the top level.
    func stageOneContext(brand: [String: String]) -> [String: Any] {
        var root: [String: Any] = brand
        for key in strings.keys {
            let path = key.split(separator: ".").map(String.init)
            Self.insert(text(key, brand), at: path[...], into: &root)
        }
        return root
    }

    private static func insert(_ value: String, at path: ArraySlice<String>, into dictionary: inout [String: Any]) {
        guard let first = path.first else { return }
        if path.count == 1 {
            dictionary[first] = value
            return
        }
        var inner = dictionary[first] as? [String: Any] ?? [:]
        insert(value, at: path.dropFirst(), into: &inner)
        dictionary[first] = inner
    }
}

/// The language a request's `Accept-Language` asks for, among those the pages have (RFC 9110
/// section 12.5.4, with the lookup of RFC 4647 section 3.4: `fr-CA` falls back to `fr`).
enum LanguageChoice {
    /// The most ranges of the header read; a longer header is read up to here.
    static let maximumRanges = 32

    /// Picks a language.
    /// - Parameters:
    ///   - header: The `Accept-Language` value, or `nil`.
    ///   - available: The languages there are, the fallback first (`en`).
    /// - Returns: The available language of the highest quality the header gives (the earlier
    ///   range on a tie); a range matches its language or, cut at a hyphen, a shorter one; `*`
    ///   matches the fallback; `q=0` refuses. The fallback when nothing matches.
    static func choose(_ header: String?, available: [String]) -> String {
        let fallback = available.first ?? "en"
        guard let header, !header.isEmpty else { return fallback }
        var best: (language: String, quality: Double)?
        // The ranges past the limit stay one piece, never split: a long header costs no more.
        let ranges = header.split(separator: ",", maxSplits: maximumRanges, omittingEmptySubsequences: true)
        for range in ranges.prefix(maximumRanges) {
            let parts = range.split(separator: ";")
            let tag = trimmed(parts.first ?? "").lowercased()
            var quality = 1.0
            for parameter in parts.dropFirst() {
                let pair = trimmed(parameter)
                if pair.hasPrefix("q=") || pair.hasPrefix("Q=") {
                    quality = Double(pair.dropFirst(2)).map { min(max($0, 0), 1) } ?? 0
                }
            }
            guard quality > 0, quality > (best?.quality ?? 0), let language = match(tag, available, fallback) else {
                continue
            }
            best = (language, quality)
        }
        return best?.language ?? fallback
    }

    /// A part of the header without the spaces and tabs around it (RFC 9110's OWS).
    private static func trimmed(_ text: Substring) -> Substring {
        let isSpace = { (character: Character) in character == " " || character == "\t" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return text[first...last]
    }

    private static func match(_ tag: String, _ available: [String], _ fallback: String) -> String? {
        if tag == "*" { return fallback }
        var candidate = Substring(tag)
        while !candidate.isEmpty {
            if let found = available.first(where: { $0 == candidate }) { return found }
            guard let hyphen = candidate.lastIndex(of: "-") else { break }
            candidate = candidate[..<hyphen]
        }
        return nil
    }
}
