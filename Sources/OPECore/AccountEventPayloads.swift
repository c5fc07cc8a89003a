// Payloads of the events about accounts, sign-ins and API tokens (written by OPEStore).

/// `user.created` and `user.updated`: the account as it is now.
public struct UserPayload: EventPayload {
    public static let eventTypes: [EventType] = [.userCreated, .userUpdated]
    public var username: String
    public var displayName: String
    public var role: PlatformRole

    public init(username: String, displayName: String, role: PlatformRole) {
        self.username = username
        self.displayName = displayName
        self.role = role
    }
}

/// `user.disabled`, `user.enabled`, `user.password_reset`: which account.
public struct AccountPayload: EventPayload {
    public static let eventTypes: [EventType] = [.userDisabled, .userEnabled, .userPasswordReset]
    public var username: String

    public init(username: String) { self.username = username }
}

/// `user.signed_in` (the actor is the user).
public struct SignedInPayload: EventPayload {
    public static let eventTypes: [EventType] = [.userSignedIn]
    /// How they proved who they are, e.g. `password`.
    public var method: String
    /// The client's address, when known.
    public var address: String?

    public init(method: String, address: String?) {
        self.method = method
        self.address = address
    }
}

/// `user.sign_in_failed`: the name tried (no actor: nobody is signed in).
public struct SignInFailedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.userSignInFailed]
    public var username: String
    public var address: String?

    public init(username: String, address: String?) {
        self.username = username
        self.address = address
    }
}

/// `user.signed_out` (the actor is the user).
public struct SignedOutPayload: EventPayload {
    public static let eventTypes: [EventType] = [.userSignedOut]
    /// Whether every sign-in of the account ended, not just this one.
    public var everywhere: Bool

    public init(everywhere: Bool) { self.everywhere = everywhere }
}

/// `token.created`: the token's record, never its secret.
public struct TokenCreatedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.tokenCreated]
    /// The owner.
    public var username: String
    public var name: String
    public var id: String
    /// ISO 8601 text, as exports write times.
    public var expiresAt: String

    public init(username: String, name: String, id: String, expiresAt: String) {
        self.username = username
        self.name = name
        self.id = id
        self.expiresAt = expiresAt
    }
}

/// `token.revoked`.
public struct TokenRevokedPayload: EventPayload {
    public static let eventTypes: [EventType] = [.tokenRevoked]
    /// The owner.
    public var username: String
    public var id: String

    public init(username: String, id: String) {
        self.username = username
        self.id = id
    }
}
