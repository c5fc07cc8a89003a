import Foundation
import HTTPTypes
import NIOCore
import OPECore
import OPERuntime
import Testing

@testable import OPEGateway

/// The pieces the proxy reads the workspace's traffic with, on their own: requests as file and
/// kernel actions, sockets by kind, Yjs messages, kernel messages, and the tallies of frequent ones.
@Suite struct WorkspaceActivityTests {
    @Test func requestsAreReadAsActions() {
        let w = "s-abc"
        #expect(WorkspaceAction(method: .post, path: "/w/s-abc/api/contents/sub", workspace: w) == .createFile)
        #expect(WorkspaceAction(method: .put, path: "/w/s-abc/api/contents/my%20notes.txt?x=1", workspace: w) == .writeFile(path: "my notes.txt"))
        #expect(WorkspaceAction(method: .patch, path: "/w/s-abc/api/contents/a.py", workspace: w) == .renameFile(path: "a.py"))
        #expect(WorkspaceAction(method: .delete, path: "/w/s-abc/api/contents/a.py", workspace: w) == .deleteFile(path: "a.py"))
        #expect(WorkspaceAction(method: .post, path: "/w/s-abc/api/contents/a.py/checkpoints", workspace: w) == .otherFileChange)
        #expect(WorkspaceAction(method: .get, path: "/w/s-abc/api/contents/a.py", workspace: w) == nil)
        #expect(WorkspaceAction(method: .post, path: "/w/s-abc/api/kernels", workspace: w) == .startKernel)
        #expect(WorkspaceAction(method: .post, path: "/w/s-abc/api/kernels/k1/restart", workspace: w) == .kernel(id: "k1", action: "restarted"))
        #expect(WorkspaceAction(method: .post, path: "/w/s-abc/api/kernels/k1/interrupt", workspace: w) == .kernel(id: "k1", action: "interrupted"))
        #expect(WorkspaceAction(method: .delete, path: "/w/s-abc/api/kernels/k1", workspace: w) == .kernel(id: "k1", action: "shutdown"))
        #expect(WorkspaceAction(method: .get, path: "/w/s-abc/api/kernels/k1", workspace: w) == nil)
        #expect(
            WorkspaceAction(method: .put, path: "/w/s-abc/api/collaboration/session/text_stats.ipynb", workspace: w)
                == .openDocument(path: "text_stats.ipynb"))
        // Opening a document or a kernel changes no work; the rest does.
        #expect(WorkspaceAction.openDocument(path: "x").changesWork == false)
        #expect(WorkspaceAction.startKernel.changesWork == false)
        #expect(WorkspaceAction.deleteFile(path: "x").changesWork)
        #expect(WorkspaceAction.kernel(id: "k", action: "restarted").changesWork)
    }

    @Test func socketsAreToldApartByPath() {
        #expect(WorkspaceSocket(path: "/w/s1/api/collaboration/room/json:notebook:abc", workspace: "s1") == .collaboration)
        #expect(WorkspaceSocket(path: "/w/s1/api/kernels/k-9/channels?session_id=x", workspace: "s1") == .kernel(id: "k-9"))
        #expect(WorkspaceSocket(path: "/w/s1/terminals/websocket/1", workspace: "s1") == .terminal(name: "1"))
        #expect(WorkspaceSocket(path: "/w/s1/api/events/subscribe", workspace: "s1") == .other)
    }

    /// Messages as JupyterLab's pages sent them (from a recorded session).
    @Test func yjsMessagesAreClassified() {
        // "state.document_id" set by the page itself: bookkeeping.
        let stateSet: [UInt8] =
            [0, 2, 20, 1, 1, 0x88, 0xe4, 0x9e, 0xc1, 0x0c, 0, 0x28, 1, 5] + Array("state".utf8) + [5] + Array("dirty".utf8) + [1, 0x78, 0]
        #expect(YjsMessage.kind(of: ByteBuffer(bytes: stateSet)) == .bookkeeping)
        // A cell's metadata changed (parent named by id, not a root): an edit.
        let metadata: [UInt8] = [0, 2, 0x18, 1, 1, 0xcc, 0xcb, 0xd2, 0xe3, 0x09, 1, 0x28, 0, 0, 8, 8] + Array("editable".utf8) + [1, 0x79, 0]
        #expect(YjsMessage.kind(of: ByteBuffer(bytes: metadata)) == .edit)
        // The empty answer of the first sync, awareness, and a sync step 1: no change.
        #expect(YjsMessage.kind(of: ByteBuffer(bytes: [0, 1, 2, 0, 0])) == .other)
        #expect(YjsMessage.kind(of: ByteBuffer(bytes: [1, 5, 1, 2, 3, 4, 5])) == .other)
        #expect(YjsMessage.kind(of: ByteBuffer(bytes: [0, 0, 1, 0])) == .other)
        // Anything the proxy cannot read in a sync update counts as an edit (kept from a reader).
        #expect(YjsMessage.kind(of: ByteBuffer(bytes: [0, 2, 0xff, 0xff])) == .edit)
    }

    @Test func aRunIsFollowedToItsReply() throws {
        let request = #"""
            {"header": {"msg_id": "m1", "msg_type": "execute_request", "session": "s"}, "parent_header": {}, "channel": "shell",
             "metadata": {"cellId": "cell-7"}, "content": {"code": "print(1/0)", "silent": false}}
            """#
        let parsed = try #require(KernelActivity.executeRequest(request))
        #expect(parsed.id == "m1" && parsed.code == "print(1/0)" && parsed.cell == "cell-7" && parsed.session == "s")
        #expect(KernelActivity.executeRequest(#"{"header": {"msg_type": "kernel_info_request"}}"#) == nil)
        // Not JSON at all, though it names a run: relayed unchanged (nil), and counted.
        #expect(KernelActivity.executeRequest("execute_request but not JSON") == nil)

        let kernel = KernelActivity(kernel: "k1")
        let start = Date(timeIntervalSince1970: 1000)
        kernel.started("m1", code: parsed.code, cell: parsed.cell, at: start)
        func reply(_ type: String, _ content: String) -> String {
            #"{"header": {"msg_type": "\#(type)", "msg_id": "x"}, "parent_header": {"msg_id": "m1"}, "content": \#(content)}"#
        }
        #expect(kernel.fromKernel(reply("stream", #"{"name": "stdout", "text": "hello\n"}"#), at: start) == nil)
        // The reply (shell) may reach the proxy before the run's last outputs (iopub): the run ends
        // when the kernel goes idle after it, with everything it printed.
        #expect(kernel.fromKernel(reply("execute_reply", #"{"status": "error", "execution_count": 3}"#), at: start.addingTimeInterval(0.25)) == nil)
        #expect(kernel.fromKernel(reply("error", #"{"ename": "ZeroDivisionError", "evalue": "division by zero"}"#), at: start) == nil)
        let done = try #require(
            kernel.fromKernel(reply("status", #"{"execution_state": "idle"}"#), at: start.addingTimeInterval(0.3)))
        #expect(done.outcome == "error" && done.executionCount == 3 && done.durationMs == 250)
        #expect(done.run.errorName == "ZeroDivisionError" && done.run.errorValue == "division by zero")
        #expect(done.run.output == "hello\nZeroDivisionError: division by zero\n")
        // Another run's messages, or this one's after it ended, are not this run's.
        #expect(kernel.fromKernel(reply("execute_reply", #"{"status": "ok"}"#), at: start) == nil)
        #expect(kernel.fromKernel(reply("status", #"{"execution_state": "idle"}"#), at: start) == nil)

        // In the usual order (outputs, idle, reply) the reply ends it.
        kernel.started("m1", code: "print(2)", cell: nil, at: start)
        #expect(kernel.fromKernel(reply("stream", #"{"name": "stdout", "text": "2\n"}"#), at: start) == nil)
        #expect(kernel.fromKernel(reply("status", #"{"execution_state": "busy"}"#), at: start) == nil)
        #expect(kernel.fromKernel(reply("status", #"{"execution_state": "idle"}"#), at: start) == nil)
        let second = try #require(kernel.fromKernel(reply("execute_reply", #"{"status": "ok", "execution_count": 4}"#), at: start.addingTimeInterval(0.1)))
        #expect(second.outcome == "ok" && second.run.output == "2\n" && second.executionCount == 4)
    }

    @Test func aRefusedRunEndsInTheMembersNotebook() throws {
        let header = JSONValue.object(["msg_id": .string("m2"), "msg_type": .string("execute_request")])
        let messages = KernelActivity.refusal(request: header, session: "s", reason: "Alice is driving", at: Date())
        let parsed = try messages.map { try JSONValue.parseObject($0) }
        #expect(parsed.map { $0["channel"] } == [.string("iopub"), .string("shell"), .string("iopub")])
        #expect(parsed.map { $0["msg_type"] } == [.string("error"), .string("execute_reply"), .string("status")])
        #expect(parsed.allSatisfy { $0["parent_header"] == header })
        guard case .object(let reply)? = parsed[1]["content"] else { Issue.record("no reply content"); return }
        #expect(reply["status"] == .string("error") && reply["evalue"] == .string("Alice is driving"))
    }

    @Test func frequentActivityIsTallied() {
        var tally = ActivityTally(window: 60)
        let t0 = Date(timeIntervalSince1970: 0)
        #expect(tally.add(bytes: 10, at: t0).map { [$0.count, $0.bytes] } == [1, 10], "the first at once")
        #expect(tally.add(bytes: 5, at: t0.addingTimeInterval(10)) == nil)
        #expect(tally.add(bytes: 5, at: t0.addingTimeInterval(20)) == nil)
        #expect(tally.add(bytes: 1, at: t0.addingTimeInterval(61)).map { [$0.count, $0.bytes] } == [3, 11], "then the window's count")
        #expect(tally.add(bytes: 2, at: t0.addingTimeInterval(62)) == nil)
        #expect(tally.drain().map { [$0.count, $0.bytes] } == [1, 2], "what is left when the socket closes")
        #expect(tally.drain() == nil)
    }

    @Test func namesGiveInitialsAndTheHeadersAreSigned() {
        #expect(WorkspaceIdentity.initials(of: "Alice Ämmälä") == "AÄ")
        #expect(WorkspaceIdentity.initials(of: "bob") == "B")
        #expect(WorkspaceIdentity.initials(of: "Alice (demo)") == "A")
        #expect(WorkspaceIdentity.initials(of: "(x)") == "(")
        let user = User(username: "carol", displayName: "Carol C", role: .participant)
        let headers = WorkspaceIdentity(user: user, seat: 2, role: "researcher").headers(token: "t")
        #expect(headers.map(\.name) == ["X-OPE-Identity", "X-OPE-Identity-Signature"])
        #expect(headers[1].value == WorkspaceIdentity.sign(headers[0].value, token: "t"))
        #expect(headers[1].value != WorkspaceIdentity.sign(headers[0].value, token: "other"))
        #expect(!headers[0].value.contains("=") && !headers[0].value.contains("+") && !headers[0].value.contains("/"))
    }
}
