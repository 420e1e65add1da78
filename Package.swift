// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Switchboard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchboard", targets: ["SwitchboardCLI"]),
        .executable(name: "switchboard-bench", targets: ["SwitchboardBench"]),
        .library(name: "DialerCore", targets: ["DialerCore"]),
        .library(name: "EventStore", targets: ["EventStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The system SQLite (Debian's libsqlite3-dev). Only `EventStore` and the benchmark's
        // baseline import it; every SQLite pointer lives in `EventStore/SQLite`.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Debian's libwebsockets-dev. Only `WebTransport` imports it.
        .systemLibrary(
            name: "CLibWebSockets",
            pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev"])]
        ),
        // HTTP and WebSocket on one port through libwebsockets: every lws pointer and callback lives here.
        .target(
            name: "WebTransport",
            dependencies: ["CLibWebSockets", "SwitchboardJSON", .product(name: "DequeModule", package: "swift-collections")]
        ),
        // Time as the domain sees it (RFC 3339, never a clock) and the one seeded generator.
        .target(name: "SwitchboardBasics"),
        // A small, allocation-light JSON reader/writer: replay speed is bounded by decoding.
        .target(name: "SwitchboardJSON", dependencies: ["SwitchboardBasics"]),
        // The pure domain: events, commands, decide/evolve, projections. No I/O, no clocks.
        .target(name: "DialerCore", dependencies: ["SwitchboardJSON", "SwitchboardBasics"]),
        // The durable event log: a protocol and its embedded SQLite implementation.
        .target(
            name: "EventStore",
            dependencies: [
                "CSQLite", "SwitchboardJSON", "SwitchboardBasics", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // Wiring: the one write path (LogWriter, CommandHandler), projections kept live from a subscription.
        .target(
            name: "SwitchboardApp",
            dependencies: ["DialerCore", "EventStore", "SwitchboardJSON", "SwitchboardBasics", .product(name: "CoreMetrics", package: "swift-metrics")]
        ),
        // The engine that works queues: a pure process manager, its service shell, the carrier
        // adapter protocol.
        .target(
            name: "DialerEngine",
            dependencies: [
                "DialerCore", "EventStore", "SwitchboardApp", "SwitchboardJSON", "SwitchboardBasics",
                .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // The simulated telephone network and what runs on it: the deterministic simulated carrier and its
        // contact scripts, scenario files and `simulate`, the scripted demo day and `serve --demo`'s queues.
        .target(
            name: "DialerSimulation",
            dependencies: ["DialerEngine", "DialerCore", "EventStore", "SwitchboardApp", "SwitchboardJSON", "SwitchboardBasics"]
        ),
        // The HTTP API and the live feed over WebTransport, wired to the engine and the projections.
        .target(
            name: "SwitchboardServer",
            dependencies: [
                "WebTransport", "DialerEngine", "DialerCore", "EventStore", "SwitchboardApp", "SwitchboardJSON", "SwitchboardBasics",
                .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/asyncapi.yaml"), .copy("Resources/web")]
        ),
        // The composition root: builds the whole running application from a `Configuration` and runs its
        // long-lived parts as services (used by `serve`, the tests and the benchmark).
        .target(
            name: "SwitchboardRuntime",
            dependencies: [
                "DialerSimulation", "SwitchboardServer", "WebTransport", "DialerEngine", "DialerCore", "EventStore", "SwitchboardApp",
                "SwitchboardJSON", "SwitchboardBasics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "SwitchboardCLI",
            dependencies: [
                "DialerSimulation", "SwitchboardRuntime", "SwitchboardServer", "DialerEngine", "SwitchboardApp", "EventStore", "DialerCore", "SwitchboardJSON", "SwitchboardBasics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"), .product(name: "CSV", package: "CSV.swift"),
            ]
        ),
        .executableTarget(
            name: "SwitchboardBench",
            dependencies: ["DialerSimulation", "DialerEngine", "SwitchboardApp", "EventStore", "DialerCore", "CSQLite", "WebTransport", "SwitchboardJSON", "SwitchboardBasics"]
        ),
        // What the test targets share: temporary stores, fault-injecting stores, recording carriers, fixtures.
        .target(
            name: "SwitchboardTestSupport",
            dependencies: ["DialerSimulation", "DialerEngine", "DialerCore", "EventStore", "SwitchboardApp", "SwitchboardJSON", "SwitchboardBasics"]
        ),
        .testTarget(name: "SwitchboardJSONTests", dependencies: ["SwitchboardJSON", "SwitchboardBasics"]),
        .testTarget(name: "WebTransportTests", dependencies: ["WebTransport", .product(name: "DequeModule", package: "swift-collections")]),
        .testTarget(name: "DialerCoreTests", dependencies: ["DialerCore", "SwitchboardJSON", "SwitchboardBasics", "SwitchboardTestSupport"]),
        .testTarget(name: "EventStoreTests", dependencies: ["EventStore", "CSQLite", "SwitchboardJSON", "SwitchboardBasics", "SwitchboardTestSupport"]),
        .testTarget(
            name: "DialerEngineTests",
            dependencies: ["DialerSimulation", "DialerEngine", "DialerCore", "EventStore", "SwitchboardApp", "SwitchboardJSON", "SwitchboardBasics", "SwitchboardTestSupport"]
        ),
        .testTarget(
            name: "SwitchboardRuntimeTests",
            dependencies: [
                "DialerSimulation", "SwitchboardRuntime", "SwitchboardServer", "SwitchboardApp", "WebTransport", "EventStore", "DialerCore",
                "SwitchboardJSON", "SwitchboardBasics", "SwitchboardTestSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SwitchboardServerTests",
            dependencies: [
                "DialerSimulation", "SwitchboardServer", "SwitchboardApp", "WebTransport", "DialerEngine", "EventStore", "DialerCore", "SwitchboardJSON",
                "SwitchboardBasics", "SwitchboardTestSupport", .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"), .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "SwitchboardAppTests",
            dependencies: [
                "DialerSimulation", "SwitchboardApp", "DialerCore", "EventStore", "SwitchboardJSON", "SwitchboardBasics", "SwitchboardTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
