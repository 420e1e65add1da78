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
        .target(name: "WebTransport", dependencies: ["CLibWebSockets", "SwitchboardJSON", "SwitchboardBasics"]),
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
        // The one write path: `LogWriter` (ordered group appends with per-stream expected versions),
        // `CommandHandler`, the event codec and ids, token issuing, health and the product's measurements.
        .target(
            name: "WritePath",
            dependencies: ["DialerCore", "EventStore", "SwitchboardJSON", "SwitchboardBasics", .product(name: "CoreMetrics", package: "swift-metrics")]
        ),
        // The read side: projections kept live from the log (`ProjectionHost`), the audit's folds of the past,
        // the compliance report and the call-detail records.
        .target(name: "ReadModels", dependencies: ["WritePath", "DialerCore", "EventStore", "SwitchboardJSON", "SwitchboardBasics"]),
        // The engine that works queues: a pure process manager, its service shell, the carrier
        // adapter protocol.
        .target(
            name: "DialerEngine",
            dependencies: [
                "DialerCore", "EventStore", "WritePath", "SwitchboardJSON", "SwitchboardBasics",
                .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // Real carriers behind `CarrierAdapter`: Twilio (and Telnyx), their signed webhooks, call pacing, and the
        // rules that keep a call's reports in order. HTTP through Foundation's URLSession (no extra package).
        .target(
            name: "Carriers",
            dependencies: [
                "DialerEngine", "DialerCore", "WritePath", "SwitchboardJSON", "SwitchboardBasics",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The simulated telephone network and what runs on it: the deterministic simulated carrier and its
        // contact scripts, scenario files and `simulate`, the scripted demo day and `serve --demo`'s queues.
        .target(
            name: "DialerSimulation",
            dependencies: ["DialerEngine", "DialerCore", "EventStore", "WritePath", "SwitchboardJSON", "SwitchboardBasics"]
        ),
        // The HTTP API and the live feed over WebTransport, wired to the engine and the projections.
        .target(
            name: "SwitchboardServer",
            dependencies: [
                "WebTransport", "Carriers", "DialerEngine", "DialerCore", "EventStore", "WritePath", "ReadModels", "SwitchboardJSON", "SwitchboardBasics",
                .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/asyncapi.yaml"), .copy("Resources/web")]
        ),
        // The composition root: builds the whole running application from a `Configuration` and runs its
        // long-lived parts as services (used by `serve`, the tests and the benchmark).
        .target(
            name: "SwitchboardRuntime",
            dependencies: [
                "DialerSimulation", "Carriers", "SwitchboardServer", "WebTransport", "DialerEngine", "DialerCore", "EventStore", "WritePath", "ReadModels",
                "SwitchboardJSON", "SwitchboardBasics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "SwitchboardCLI",
            dependencies: [
                "DialerSimulation", "Carriers", "SwitchboardRuntime", "SwitchboardServer", "DialerEngine", "WritePath", "ReadModels", "EventStore", "DialerCore", "SwitchboardJSON", "SwitchboardBasics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"), .product(name: "CSV", package: "CSV.swift"),
            ]
        ),
        .executableTarget(
            name: "SwitchboardBench",
            dependencies: [
                "DialerSimulation", "DialerEngine", "WritePath", "ReadModels", "EventStore", "DialerCore", "CSQLite", "WebTransport", "SwitchboardJSON",
                "SwitchboardBasics", "Carriers", "SwitchboardRuntime", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // What the test targets share: temporary stores, fault-injecting stores, recording carriers, fixtures.
        .target(
            name: "SwitchboardTestSupport",
            dependencies: ["DialerSimulation", "DialerEngine", "DialerCore", "EventStore", "WritePath", "ReadModels", "SwitchboardJSON", "SwitchboardBasics"]
        ),
        .testTarget(name: "CarriersTests", dependencies: ["Carriers", "DialerEngine", "DialerCore", "SwitchboardBasics", "SwitchboardTestSupport"]),
        .testTarget(name: "SwitchboardJSONTests", dependencies: ["SwitchboardJSON", "SwitchboardBasics"]),
        .testTarget(name: "WebTransportTests", dependencies: ["WebTransport"]),
        .testTarget(name: "DialerCoreTests", dependencies: ["DialerCore", "SwitchboardJSON", "SwitchboardBasics", "SwitchboardTestSupport"]),
        .testTarget(name: "EventStoreTests", dependencies: ["EventStore", "CSQLite", "SwitchboardJSON", "SwitchboardBasics", "SwitchboardTestSupport"]),
        .testTarget(
            name: "DialerEngineTests",
            dependencies: ["DialerSimulation", "DialerEngine", "DialerCore", "EventStore", "WritePath", "ReadModels", "SwitchboardJSON", "SwitchboardBasics", "SwitchboardTestSupport"]
        ),
        .testTarget(
            name: "SwitchboardRuntimeTests",
            dependencies: [
                "DialerSimulation", "SwitchboardRuntime", "SwitchboardServer", "WritePath", "ReadModels", "WebTransport", "EventStore", "DialerCore",
                "SwitchboardJSON", "SwitchboardBasics", "SwitchboardTestSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SwitchboardServerTests",
            dependencies: [
                "DialerSimulation", "SwitchboardServer", "WritePath", "ReadModels", "WebTransport", "DialerEngine", "EventStore", "DialerCore", "SwitchboardJSON",
                "SwitchboardBasics", "SwitchboardTestSupport", .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"), .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "WritePathTests",
            dependencies: [
                "DialerSimulation", "WritePath", "ReadModels", "DialerCore", "EventStore", "SwitchboardJSON", "SwitchboardBasics", "SwitchboardTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "ReadModelsTests",
            dependencies: [
                "ReadModels", "WritePath", "DialerSimulation", "DialerCore", "EventStore", "SwitchboardJSON", "SwitchboardBasics",
                "SwitchboardTestSupport",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
