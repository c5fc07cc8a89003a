import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct SystemTests {
    @Test func healthzAnswers() async throws {
        try await TestGateway.run { client, _ in
            let response = try await client.get("/healthz")
            #expect(response.status == .ok)
            #expect(try response.json()["status"] as? String == "ok")
        }
    }

    @Test func metricsCountRequestsAndTimeThem() async throws {
        try await TestGateway.run { client, _ in
            _ = try await client.get("/healthz")
            _ = try await client.post("/api/auth/login", json: ["username": "alice", "password": "wrong-wrong"])
            let text = String(buffer: try await client.get("/metrics").body)
            #expect(text.contains("hb_requests{"))
            #expect(text.contains(#"http_route="/healthz""#))
            #expect(text.contains(#"http_response_status_code="401""#))
            #expect(text.contains("http_server_request_duration_bucket{"))
            #expect(text.contains("ope_events_committed_total"))
            #expect(text.contains("ope_event_commit_duration_bucket"))
        }
    }

    @Test func metricsCanRequireAToken() async throws {
        try await TestGateway.runWithGateway(metricsToken: "scrape-secret") { client, _, _ in
            #expect(try await client.get("/metrics").status == .unauthorized)
            #expect(try await client.get("/metrics", headers: [.authorization: "Bearer wrong"]).status == .unauthorized)
            let scraped = try await client.get("/metrics", headers: [.authorization: "Bearer scrape-secret"])
            #expect(scraped.status == .ok)
            #expect(String(buffer: scraped.body).contains("ope_events_committed_total"))
            #expect(try await client.get("/healthz").status == .ok, "health stays open for probes")
        }
    }
}
