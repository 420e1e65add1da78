import DequeModule
import CoreMetrics
import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import Logging
import WebTransport

/// At most `limit` catch-up pages are read and encoded at once: a thousand new subscribers share the
/// store and the cores with everything else (HTTP, the pump) instead of taking them.
actor PageSlots {
    static let limit = 4
    private var free = PageSlots.limit
    private var waiting: Deque<CheckedContinuation<Void, Never>> = []

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}
