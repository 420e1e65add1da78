import ArgumentParser
import DialerEngine
import DialerCore
import EventStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardBasics
import Logging
import WebTransport
import SwitchboardRuntime
import SwitchboardServer

/// `switchboard`: the product's command line.
@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "An event-sourced parallel dialer.",
        subcommands: [Serve.self, Tokens.self, DoNotCall.self, Events.self, Verify.self, AcceptHead.self, Export.self, Replay.self, RecordDemo.self, Simulate.self, EventTypes.self]
    )
}
