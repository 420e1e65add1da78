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
        .target(name: "WebTransport", dependencies: ["CLibWebSockets"]),
        // A small, allocation-light JSON reader/writer: replay speed is bounded by decoding.
        .target(name: "SwitchboardJSON"),
        // The pure domain: events, commands, decide/evolve, projections. No I/O, no clocks.
        .target(name: "DialerCore", dependencies: ["SwitchboardJSON"]),
        // The durable event log: a protocol and its embedded SQLite implementation.
        .target(
            name: "EventStore",
            dependencies: ["CSQLite", "SwitchboardJSON", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Wiring: command handling over the store, projections kept live from a subscription.
        .target(name: "SwitchboardApp", dependencies: ["DialerCore", "EventStore", "SwitchboardJSON"]),
        // The engine that works queues: a pure process manager, its service shell, the carrier
        // adapter protocol and the deterministic simulated carrier.
        .target(name: "DialerEngine", dependencies: ["DialerCore", "EventStore", "SwitchboardApp", "SwitchboardJSON"]),
        // The HTTP API and the live feed over WebTransport, wired to the engine and the projections.
        .target(
            name: "SwitchboardServer",
            dependencies: ["WebTransport", "DialerEngine", "DialerCore", "EventStore", "SwitchboardApp", "SwitchboardJSON"],
            resources: [.copy("Resources/openapi.yaml")]
        ),
        .executableTarget(
            name: "SwitchboardCLI",
            dependencies: [
                "SwitchboardServer", "DialerEngine", "SwitchboardApp", "EventStore", "DialerCore", "SwitchboardJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "SwitchboardBench",
            dependencies: ["DialerEngine", "SwitchboardApp", "EventStore", "DialerCore", "CSQLite", "WebTransport"]
        ),
        .testTarget(name: "SwitchboardJSONTests", dependencies: ["SwitchboardJSON"]),
        .testTarget(name: "WebTransportTests", dependencies: ["WebTransport"]),
        .testTarget(name: "DialerCoreTests", dependencies: ["DialerCore", "SwitchboardJSON"]),
        .testTarget(name: "EventStoreTests", dependencies: ["EventStore", "CSQLite"]),
        .testTarget(
            name: "DialerEngineTests",
            dependencies: ["DialerEngine", "DialerCore", "EventStore", "SwitchboardApp", "SwitchboardJSON"]
        ),
        .testTarget(
            name: "SwitchboardAppTests",
            dependencies: ["SwitchboardApp", "DialerCore", "EventStore", "SwitchboardJSON"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
