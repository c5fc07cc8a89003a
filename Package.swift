// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "ope",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ope", targets: ["ope"]),
        .executable(name: "ope-bench", targets: ["ope-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swiftcsv/SwiftCSV.git", from: "0.10.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/JohnSundell/Ink.git", from: "0.6.0"),
        // Already resolved through async-http-client; named here because the Kubernetes client builds its own TLS configuration (a cluster's CA).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        // The grading service of a workspace pod (OPEGrading): gRPC over HTTP/2 with protobuf messages.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        .target(
            name: "OPECore",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OPEModules",
            dependencies: [
                "OPECore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OPEBot",
            dependencies: ["OPECore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OPEStore",
            dependencies: [
                "OPECore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftCSV", package: "SwiftCSV"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OPEWorkspaces",
            dependencies: [
                "OPECore",
                "OPEGrading",
                "OPEKube",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the platform does, apart from HTTP: lobbies and sessions, bots, workspaces, task tests.
        .target(
            name: "OPERuntime",
            dependencies: [
                "OPEBot",
                "OPECore",
                "OPEGrading",
                "OPEKube",
                "OPEModules",
                "OPEStore",
                "OPEWorkspaces",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP at the edge: pages, the REST API, team rooms over WebSockets and the workspace proxy.
        .target(
            name: "OPEGateway",
            dependencies: [
                "OPECore",
                "OPEModules",
                "OPERuntime",
                "OPEStore",
                "OPEWorkspaces",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Ink", package: "Ink"),
            ],
            // Page templates and the pages' scripts and styles.
            resources: [.copy("Pages/Web")],
            swiftSettings: swiftSettings
        ),
        // A Kubernetes client on AsyncHTTPClient: typed resources, get/list/watch/create/replace/patch/status/delete, kubeconfig or in-cluster.
        .target(
            name: "OPEKube",
            dependencies: [
                "OPECore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // `ope operator`: the session and repository reconcilers (pure) and the service that runs them.
        .target(
            name: "OPEOperator",
            dependencies: [
                "OPECore",
                "OPEKube",
                "OPEModules",
                "OPEWorkspaces",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // A stand-in Kubernetes API server (in-process Hummingbird) with the semantics the operator depends on, for tests and `ope kube standin`.
        .target(
            name: "KubeStandIn",
            dependencies: [
                "OPECore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // The grading service a workspace pod runs next to the team's files (`ope grade serve`), and its
        // client: task tests over gRPC. Generated/ is protoc's output for proto/ope/grading/v1 (`make proto`).
        .target(
            name: "OPEGrading",
            dependencies: [
                "OPECore",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The cluster: a core serves its runtime over gRPC (ope.runtime.v1), an edge reaches the cores
        // through the same RuntimeAPI. Generated/ is protoc's output for proto/ope/runtime/v1 (`make proto`).
        .target(
            name: "OPECluster",
            dependencies: [
                "OPECore",
                "OPEGrading",
                "OPERuntime",
                "OPEStore",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What both executables share: CLIError, DataOptions, Store.open, printNow.
        .target(
            name: "OPECLI",
            dependencies: ["OPEStore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        // The product: serve, user, module, plan, export, kube.
        .executableTarget(
            name: "ope",
            dependencies: [
                "OPECLI",
                "OPEBot",
                "OPECore",
                "OPEModules",
                "OPEStore",
                "OPEGateway",
                "OPERuntime",
                "OPEWorkspaces",
                "OPEKube",
                "OPEOperator",
                "KubeStandIn",
                "OPEGrading",
                "OPECluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The tools apart from the product: benchmarks, the load test, debug commands for tests.
        .executableTarget(
            name: "ope-bench",
            dependencies: [
                "OPECLI",
                "OPECluster",
                "OPECore",
                "OPEKube",
                "OPEOperator",
                "OPEStore",
                "OPEGateway",
                "OPERuntime",
                "OPEWorkspaces",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the test targets share: a raw TCP client whose waits are on the socket, and the one
        // bounded wait for a condition nothing announces.
        .target(name: "OPETestSupport", dependencies: ["OPECore"], path: "Tests/OPETestSupport", swiftSettings: swiftSettings),
        // The stand-in API server with OPE's CRDs on a free port, and a kubelet for its pods.
        .target(
            name: "KubeTestSupport",
            dependencies: [
                "OPECore", "OPEKube", "KubeStandIn", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/KubeTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OPECoreTests",
            dependencies: ["OPECore", "OPETestSupport", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "OPEModulesTests", dependencies: ["OPEModules"], swiftSettings: swiftSettings),
        .testTarget(name: "OPEBotTests", dependencies: ["OPEBot", "OPEModules", "OPECore"], swiftSettings: swiftSettings),
        // The runtime's rules that need no server (the HTTP-level behaviour is in OPEGatewayTests).
        .testTarget(
            name: "OPERuntimeTests", dependencies: ["OPERuntime", "OPEBot", "OPECore", "OPEStore", "OPETestSupport"], swiftSettings: swiftSettings),
        // Cores and edges over gRPC on loopback: the runtime API round trip, routing, subscriptions.
        .testTarget(
            name: "OPEClusterTests",
            dependencies: ["OPECluster", "OPERuntime", "OPEStore", "OPECore", "OPETestSupport"],
            swiftSettings: swiftSettings
        ),
        // The golden export files are read from the source tree (#filePath), not bundled.
        .testTarget(name: "OPEStoreTests", dependencies: ["OPEStore", "OPETestSupport"], exclude: ["Golden"], swiftSettings: swiftSettings),
        .testTarget(
            name: "OPEWorkspacesTests",
            dependencies: [
                "OPEWorkspaces", "OPEModules", "OPECore", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Runs the built `ope` binary as a user would (path from OPE_BIN, set by `make test`), and `ope-bench` beside it.
        .testTarget(
            name: "CLITests",
            dependencies: [
                "OPECore", "OPEStore", "OPEModules", "OPETestSupport",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The stand-in API server checked with kubectl and the Python client, and the Swift client against the stand-in.
        .testTarget(
            name: "OPEKubeTests",
            dependencies: [
                "OPETestSupport",
                "KubeTestSupport",
                "OPECore",
                "OPEKube",
                "KubeStandIn",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // The operator's reconcilers as pure functions, and the operator against the stand-in API server.
        .testTarget(
            name: "OPEOperatorTests",
            dependencies: [
                "OPETestSupport",
                "KubeTestSupport",
                "OPECore",
                "OPEKube",
                "OPEOperator",
                "KubeStandIn",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The grading service and its client on a loopback port, running real pytest from the project's virtualenv (OPE_VENV).
        .testTarget(
            name: "OPEGradingTests",
            dependencies: [
                "OPETestSupport",
                "OPECore",
                "OPEGrading",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OPEGatewayTests",
            dependencies: [
                "OPETestSupport",
                "OPEBot",
                "KubeTestSupport",
                "OPEGrading",
                "KubeStandIn",
                "OPEKube",
                "OPEOperator",
                "OPECore",
                "OPEGateway",
                "OPEModules",
                "OPERuntime",
                "OPEStore",
                "OPEWorkspaces",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
