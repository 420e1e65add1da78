import Carriers
import Foundation
import Testing

/// The vectors of `../shared/notes/carriers.md` §1.5 and §2.4: twilio-python's own tests, and an
/// Ed25519 signature made with the RFC 8032 test-1 key (checked there with PyNaCl, OpenSSL and the
/// telnyx SDK).
@Suite("Carrier webhook signatures")
struct WebhookSignatureTests {
    static let twilio = TwilioSignature(authToken: "12345")
    static let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    static let parameters: [(name: String, value: String)] = [
        ("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
        ("From", "+14158675309"), ("To", "+18005551212"),
    ]

    @Test func twilioSignsTheURLAndSortedParameters() {
        #expect(Self.twilio.signature(url: Self.url, parameters: Self.parameters) == "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        // The order the parameters came in does not matter.
        #expect(Self.twilio.signature(url: Self.url, parameters: Self.parameters.reversed()) == "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    }

    @Test func twilioAcceptsTheURLWithOrWithoutItsPort() {
        #expect(Self.twilio.signature(url: "https://mycompany.com:443/myapp.php?foo=1&bar=2", parameters: Self.parameters)
            == "kvajT1Ptam85bY51eRf/AJRuM3w=")
        #expect(Self.twilio.isValid("kvajT1Ptam85bY51eRf/AJRuM3w=", url: Self.url, parameters: Self.parameters))
        #expect(Self.twilio.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                                    parameters: Self.parameters))
    }

    @Test func twilioRepeatedParametersEachCount() {
        let multi: [(name: String, value: String)] = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
        #expect(Self.twilio.signature(url: Self.url, parameters: multi) == "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    }

    @Test func twilioRefusesAChangedParameterAnotherTokenOrGarbage() {
        var changed = Self.parameters
        changed[4].value = "+18005551213"
        #expect(!Self.twilio.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: Self.url, parameters: changed))
        #expect(!TwilioSignature(authToken: "12346").isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: Self.url, parameters: Self.parameters))
        #expect(!Self.twilio.isValid("not base64!", url: Self.url, parameters: Self.parameters))
        #expect(!Self.twilio.isValid("", url: Self.url, parameters: Self.parameters))
    }

    static let telnyxKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    static let telnyxBody = Array(#"{"data":{"event_type":"call.answered","id":"0ccc7b54-4df3-4bca-a65a-3da1ecc777f0","occurred_at":"2026-12-02T15:00:00.000000Z","payload":{"call_control_id":"v3:test","client_state":"Z3JwLTEvY2FsbC0x","state":"answered"},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://example.com/webhooks"}}"#.utf8)
    static let telnyxSignature = "I/yFpZ9dhUkCkMNG6TzV3jLMp+49G93HSG1ZwoBh24i5XeSQflelsRTnL4xTUi1OYOAHi1B/T47kggh9hjmTDQ=="

    @Test func telnyxAcceptsTheVectorWithinFiveMinutes() throws {
        let telnyx = try TelnyxSignature(publicKey: Self.telnyxKey)
        for now: Int64 in [1_796_223_600, 1_796_223_600 + 300, 1_796_223_600 - 300] {
            #expect(telnyx.check(signature: Self.telnyxSignature, timestamp: "1796223600", body: Self.telnyxBody, now: now) == .valid)
        }
    }

    @Test func telnyxRefusesStaleForgedMissingAndMalformed() throws {
        let telnyx = try TelnyxSignature(publicKey: Self.telnyxKey)
        let now: Int64 = 1_796_223_600
        #expect(telnyx.check(signature: Self.telnyxSignature, timestamp: "1796223600", body: Self.telnyxBody, now: now + 301) == .stale)
        // The timestamp is signed: moving it by one second breaks the signature.
        #expect(telnyx.check(signature: Self.telnyxSignature, timestamp: "1796223601", body: Self.telnyxBody, now: now) == .forged)
        var body = Self.telnyxBody
        body[body.count - 3] ^= 1
        #expect(telnyx.check(signature: Self.telnyxSignature, timestamp: "1796223600", body: body, now: now) == .forged)
        #expect(telnyx.check(signature: nil, timestamp: "1796223600", body: Self.telnyxBody, now: now) == .missing)
        #expect(telnyx.check(signature: "abc", timestamp: "1796223600", body: Self.telnyxBody, now: now) == .malformed)
        #expect(telnyx.check(signature: Self.telnyxSignature, timestamp: "soon", body: Self.telnyxBody, now: now) == .malformed)
        #expect(telnyx.check(signature: Self.telnyxSignature, timestamp: "-9223372036854775808", body: Self.telnyxBody, now: now) == .stale)
        #expect(throws: SignatureKeyError.self) { try TelnyxSignature(publicKey: "short") }
    }
}
