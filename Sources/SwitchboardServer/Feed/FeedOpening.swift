import WebTransport

/// The feed's sockets before they subscribe, as one value whose transitions return what to do — the
/// swift-nio pattern the engine's core follows — so the races of a socket's first moments (its first
/// message arriving before its token is checked, the token's check finishing after the socket closed)
/// are decided here and tested without a socket. `FeedHub` only carries out the actions.
struct FeedOpening {
    enum State: Equatable {
        /// The token is being checked; a first message that came meanwhile waits here.
        case authenticating(early: [UInt8]?)
        /// Authenticated; waiting for the first `{"subscribe": …}` message.
        case awaitingSubscribe(Principal)
    }

    enum Action: Equatable {
        /// Nothing to do (the socket closed meanwhile, or it waits for its subscription).
        case none
        /// Keep the message until the token is checked.
        case hold
        /// Subscribe from this message.
        case subscribe(Principal, message: [UInt8])
        /// Subscribe from the upgrade's URL (`after`, `topics`).
        case subscribeFromURL(Principal)
        /// Close the socket: a message it may not send now.
        case refuse(code: UInt16, reason: String)
    }

    private(set) var sockets: [ConnectionID: State] = [:]

    mutating func opened(_ connection: ConnectionID) { sockets[connection] = .authenticating(early: nil) }

    /// The token is valid. A message that came early subscribes now; else the URL does, if it names a
    /// subscription; else the socket waits for its first message.
    mutating func authenticated(_ connection: ConnectionID, as principal: Principal, urlSubscribes: Bool) -> Action {
        guard case .authenticating(let early)? = sockets[connection] else { return .none }  // closed meanwhile
        if let early {
            sockets[connection] = nil
            return .subscribe(principal, message: early)
        }
        if urlSubscribes {
            sockets[connection] = nil
            return .subscribeFromURL(principal)
        }
        sockets[connection] = .awaitingSubscribe(principal)
        return .none
    }

    /// The token opened nothing: the socket is refused and forgotten.
    mutating func refused(_ connection: ConnectionID) { sockets[connection] = nil }

    /// A message from the client. Only one subscription per socket: any other message is refused.
    mutating func received(_ connection: ConnectionID, text: [UInt8]) -> Action {
        switch sockets[connection] {
        case .authenticating(early: nil)?:
            sockets[connection] = .authenticating(early: text)
            return .hold
        case .awaitingSubscribe(let principal)?:
            sockets[connection] = nil
            return .subscribe(principal, message: text)
        case .authenticating(early: .some)?, nil:
            return .refuse(code: CloseCode.policyViolation, reason: "already subscribed")
        }
    }

    mutating func closed(_ connection: ConnectionID) { sockets[connection] = nil }
}
