import DialerCore
@testable import SwitchboardServer
import Testing
import WebTransport

/// A feed socket's first moments, decided by `FeedOpening` alone, in every order they can happen.
@Suite("A feed socket before it subscribes")
struct FeedOpeningTests {
    let auditor = Principal(tokenId: "t-1", role: .auditor, agentId: nil)
    let subscribe = Array(#"{"subscribe":{"after":0,"topics":"all"}}"#.utf8)

    @Test func aFirstMessageThatArrivesBeforeTheTokenIsCheckedWaitsAndThenSubscribes() {
        var opening = FeedOpening()
        opening.opened(1)
        #expect(opening.received(1, text: subscribe) == .hold)
        #expect(opening.authenticated(1, as: auditor, urlSubscribes: false) == .subscribe(auditor, message: subscribe))
        #expect(opening.sockets.isEmpty)
    }

    @Test func aSecondMessageBeforeTheCheckOrAfterTheSubscriptionIsRefused() {
        var opening = FeedOpening()
        opening.opened(1)
        _ = opening.received(1, text: subscribe)
        #expect(opening.received(1, text: subscribe) == .refuse(code: CloseCode.policyViolation, reason: "already subscribed"))
        opening.opened(2)
        #expect(opening.authenticated(2, as: auditor, urlSubscribes: false) == FeedOpening.Action.none)
        #expect(opening.received(2, text: subscribe) == .subscribe(auditor, message: subscribe))
        #expect(opening.received(2, text: subscribe) == .refuse(code: CloseCode.policyViolation, reason: "already subscribed"))
    }

    @Test func theURLSubscribesWhenItNamesASubscriptionAndNoMessageCameFirst() {
        var opening = FeedOpening()
        opening.opened(1)
        #expect(opening.authenticated(1, as: auditor, urlSubscribes: true) == .subscribeFromURL(auditor))
        #expect(opening.received(1, text: subscribe) == .refuse(code: CloseCode.policyViolation, reason: "already subscribed"))
        // A message that came first wins over the URL: it is what the client sent last.
        opening.opened(2)
        _ = opening.received(2, text: subscribe)
        #expect(opening.authenticated(2, as: auditor, urlSubscribes: true) == .subscribe(auditor, message: subscribe))
    }

    @Test func aSocketThatClosedOrWasRefusedIsForgottenAndItsLateCheckDoesNothing() {
        var opening = FeedOpening()
        opening.opened(1)
        _ = opening.received(1, text: subscribe)
        opening.closed(1)
        #expect(opening.authenticated(1, as: auditor, urlSubscribes: true) == FeedOpening.Action.none)
        opening.opened(2)
        opening.refused(2)
        #expect(opening.sockets.isEmpty)
    }
}
