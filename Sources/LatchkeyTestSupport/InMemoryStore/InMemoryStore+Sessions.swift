import Foundation
import LatchkeyCore

extension InMemoryStore {
    /// Stores the session only while the user's password hash is `passwordHash`, then ends the
    /// user's least recently used sessions beyond `limit`.
    public func addSession(
        _ session: Session, ifPasswordHash passwordHash: String, keepingAtMost limit: Int,
        recording event: ActivityEvent?
    ) throws -> SessionInsert {
        try check()
        guard users[session.userID]?.passwordHash == passwordHash else { return .refused }
        // An account with an active second factor gets sessions of level 2 only.
        guard session.aal >= 2 || secondFactors[session.userID]?.isActive != true else { return .refused }
        let doomed = sessions.values.filter { $0.userID == session.userID }
            .sorted { ($0.lastSeenAt, $0.createdAt) > ($1.lastSeenAt, $1.createdAt) }
            .dropFirst(max(0, limit - 1)).map(\.tokenDigest)
        for key in doomed { sessions.removeValue(forKey: key) }
        sessions[session.tokenDigest] = session
        guard let event, !failingActivity else { return SessionInsert(stored: true, activityRecorded: false) }
        activity.append(event)
        return SessionInsert(stored: true, activityRecorded: true)
    }

    /// Finds a session and its user.
    public func findSession(digest: TokenDigest) throws -> (session: Session, user: SessionUser)? {
        try check()
        sessionReads += 1
        guard var session = sessions[digest], let user = users[session.userID] else { return nil }
        // As the databases: the session check does not read the address and agent.
        session.ip = nil
        session.userAgent = nil
        return (session, SessionUser(user))
    }

    /// Records a session's last use.
    public func touchSession(digest: TokenDigest, lastSeenAt: Date) throws {
        try check()
        sessions[digest]?.lastSeenAt = lastSeenAt
    }

    /// Removes one session; returns whether there was one.
    public func deleteSession(digest: TokenDigest) throws -> Bool {
        try check()
        return sessions.removeValue(forKey: digest) != nil
    }

    /// Removes every session of a user; returns how many.
    public func deleteSessions(userID: Int64) throws -> Int {
        try check()
        let doomed = sessions.filter { $0.value.userID == userID }.map(\.key)
        for key in doomed { sessions.removeValue(forKey: key) }
        return doomed.count
    }

    /// The user's live sessions, newest first.
    public func listSessions(userID: Int64, now: Date, idleCutoff: Date) throws -> [Session] {
        try check()
        return sessions.values.filter { $0.userID == userID && $0.expiresAt > now && $0.lastSeenAt > idleCutoff }
            .sorted { ($0.createdAt, $0.publicID) > ($1.createdAt, $1.publicID) }
    }

    /// Removes one live session of the user by its public identifier.
    public func deleteSession(userID: Int64, publicID: String, now: Date, idleCutoff: Date) throws -> Bool {
        try check()
        guard
            let digest = sessions.first(where: {
                $0.value.userID == userID && $0.value.publicID.utf8.elementsEqual(publicID.utf8)
                    && $0.value.expiresAt > now && $0.value.lastSeenAt > idleCutoff
            })?.key
        else { return false }
        sessions.removeValue(forKey: digest)
        return true
    }

    /// Removes the user's live sessions but one.
    public func deleteSessions(userID: Int64, except digest: TokenDigest, now: Date, idleCutoff: Date) throws -> Int {
        try check()
        let doomed = sessions.filter {
            $0.value.userID == userID && $0.key != digest && $0.value.expiresAt > now
                && $0.value.lastSeenAt > idleCutoff
        }.map(\.key)
        for key in doomed { sessions.removeValue(forKey: key) }
        return doomed.count
    }

    /// Changes the hash, ends the other sessions and re-keys the current one, all at once.
    public func changePassword(
        userID: Int64, from old: String, to new: String, keeping current: TokenDigest, as replacement: TokenDigest,
        revoking revocation: PasswordRevocation, messages: [OutboxMessage]
    ) throws -> Bool {
        try check()
        try StoreError.checkText(new)
        guard users[userID]?.passwordHash == old, var session = sessions[current], session.userID == userID else {
            return false
        }
        users[userID]?.passwordHash = new
        revoke(revocation, userID: userID, keeping: current)
        sessions.removeValue(forKey: current)
        session.tokenDigest = replacement
        sessions[replacement] = session
        write(messages)
        return true
    }
}
