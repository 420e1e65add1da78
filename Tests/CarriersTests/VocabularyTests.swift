@testable import Carriers
import DialerCore
import DialerEngine
import Testing

/// The vendors' strings, mapped exactly (the real dialers' bugs in carriers.md §3 were upper-case causes
/// and AMD values lumped together).
@Suite("Carrier vocabulary")
struct VocabularyTests {
    @Test func twilioStatusesAndVerdicts() {
        #expect(TwilioVocabulary.report(status: "ringing", answeredBy: nil, sipCode: nil, errorCode: nil) == .ringing)
        #expect(TwilioVocabulary.report(status: "in-progress", answeredBy: "machine_end_beep", sipCode: nil, errorCode: nil) == .answered(.machine))
        #expect(TwilioVocabulary.report(status: "in-progress", answeredBy: nil, sipCode: nil, errorCode: nil) == .answered(nil))
        #expect(TwilioVocabulary.report(status: "no-answer", answeredBy: nil, sipCode: "487", errorCode: nil) == .noAnswer)
        #expect(TwilioVocabulary.report(status: "failed", answeredBy: nil, sipCode: "404", errorCode: "13224")
            == .failed("twilio failed 13224 (SIP 404)"))
        #expect(TwilioVocabulary.report(status: "initiated", answeredBy: nil, sipCode: nil, errorCode: nil) == nil)
        #expect(TwilioVocabulary.report(status: "cancelled", answeredBy: nil, sipCode: nil, errorCode: nil) == nil)  // not Twilio's word
        for machine in ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"] {
            #expect(TwilioVocabulary.verdict(machine) == .machine)
        }
        #expect(TwilioVocabulary.verdict("human") == .human && TwilioVocabulary.verdict("unknown") == .unknown)
        #expect(TwilioVocabulary.failure(status: 400, body: Array(#"{"code":21211,"message":"Invalid 'To' Phone Number","status":400}"#.utf8))
            == "twilio 21211: Invalid 'To' Phone Number")
    }

    @Test func twimlEscapesWhatItCarries() {
        #expect(TwiML.safeHarbor("A & B <co>").contains("<Say>A &amp; B &lt;co&gt;</Say><Hangup/>"))
        #expect(TwiML.agentRoom("room").contains(#"maxParticipants="2""#))
    }

    @Test func telnyxCausesAndVerdicts() {
        #expect(TelnyxVocabulary.unanswered(cause: "user_busy", sipCause: "486") == .busy)
        #expect(TelnyxVocabulary.unanswered(cause: "timeout", sipCause: nil) == .noAnswer)
        #expect(TelnyxVocabulary.unanswered(cause: "no_answer", sipCause: nil) == .noAnswer)
        #expect(TelnyxVocabulary.unanswered(cause: "originator_cancel", sipCause: nil) == .canceled)
        #expect(TelnyxVocabulary.unanswered(cause: "USER_BUSY", sipCause: nil) == .failed("telnyx USER_BUSY"))
        #expect(TelnyxVocabulary.unanswered(cause: "not_found", sipCause: "404") == .failed("telnyx not_found (SIP 404)"))
        for human in ["human", "human_residence", "human_business"] { #expect(TelnyxVocabulary.verdict(human) == .human) }
        for machine in ["machine", "fax_detected"] { #expect(TelnyxVocabulary.verdict(machine) == .machine) }
        for unsure in ["not_sure", "silence"] { #expect(TelnyxVocabulary.verdict(unsure) == .unknown) }
        #expect(TelnyxVocabulary.failure(status: 429, body: Array(#"{"errors":[{"code":"90103","title":"Too many requests"}]}"#.utf8))
            == "telnyx 90103: Too many requests")
    }

    @Test func telnyxClientStateCarriesOurNameBothWays() {
        let contact = TelnyxClientState.contact(CallReference(batchId: "01a2-b/c", callId: "01a2-b/c-1"))
        #expect(TelnyxClientState(encoded: contact.encoded) == contact)
        let agent = TelnyxClientState.agent("s-1")
        #expect(TelnyxClientState(encoded: agent.encoded) == agent)
        #expect(TelnyxClientState(encoded: "not base64!") == nil)
        #expect(TelnyxClientState(encoded: "Z3JwLTEvY2FsbC0x") == nil)   // the note's example is not ours
    }
}
