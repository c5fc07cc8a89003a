import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OPECore
import OPEStore

/// Accounts: staff may list them; admins create, import, change, disable and reset them.
struct UsersController {
    let accounts: any AccountDirectory

    struct UserResponse: Encodable, Sendable {
        var username: String
        var displayName: String
        var role: String
        var disabled: Bool
        /// Only when the server generated it: shown this once.
        var password: String?

        init(_ user: User, password: String? = nil) {
            username = user.username
            displayName = user.displayName
            role = user.role.rawValue
            disabled = user.disabled
            self.password = password
        }
    }

    struct CreateRequest: Decodable {
        var username: String
        var displayName: String?
        var role: String?
        /// Generated (and answered once) when left out.
        var password: String?
    }

    struct UpdateRequest: Decodable {
        var role: String?
        var displayName: String?
        var disabled: Bool?
    }

    struct PasswordRequest: Decodable {
        var password: String?
    }

    struct PasswordResponse: Encodable, Sendable {
        var username: String
        /// Only when the server generated it.
        var password: String?
    }

    struct ImportResponse: Encodable, Sendable {
        struct Created: Encodable, Sendable {
            var username: String
            var displayName: String
            var role: String
            var password: String
        }

        var created: [Created]
        /// Usernames already taken, left unchanged.
        var existing: [String]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("users", use: list)
        group.post("users", use: create)
        group.post("users/import", use: importRoster)
        group.patch("users/:username", use: update)
        group.post("users/:username/password", use: resetPassword)
    }

    func admin(_ context: AppRequestContext) throws -> AccountAdmin {
        AccountAdmin(accounts: accounts, admin: try context.requireAdmin(), logger: context.requestLogger)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<[UserResponse]> {
        _ = try context.requireStaff()
        return JSONResponse(value: try await accounts.listUsers().map { UserResponse($0) })
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> JSONResponse<UserResponse> {
        let admin = try admin(context)
        let body = try await request.decodeJSON(CreateRequest.self, context: context)
        let (user, generated) = try await admin.create(username: body.username, displayName: body.displayName, role: body.role, password: body.password)
        return JSONResponse(value: UserResponse(user, password: generated), status: .created)
    }

    /// A roster CSV as the body (`text/csv`): one account per line, `username, display name, role`.
    @Sendable func importRoster(request: Request, context: AppRequestContext) async throws -> JSONResponse<ImportResponse> {
        let admin = try admin(context)
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 1 << 20)
        } catch {
            throw APIError(.contentTooLarge, "the roster is larger than 1 MiB")
        }
        let result = try await admin.importRoster(csv: String(buffer: buffer))
        let created = result.created.map {
            ImportResponse.Created(username: $0.user.username, displayName: $0.user.displayName, role: $0.user.role.rawValue, password: $0.password)
        }
        return JSONResponse(value: ImportResponse(created: created, existing: result.existing.map(\.username)), status: .created)
    }

    @Sendable func update(request: Request, context: AppRequestContext) async throws -> JSONResponse<UserResponse> {
        let admin = try admin(context)
        let username = try context.parameters.require("username")
        let body = try await request.decodeJSON(UpdateRequest.self, context: context)
        guard body.role != nil || body.displayName != nil || body.disabled != nil else {
            throw APIError(.badRequest, "nothing to change: send role, displayName and/or disabled")
        }
        return JSONResponse(
            value: UserResponse(try await admin.update(username: username, role: body.role, displayName: body.displayName, disabled: body.disabled)))
    }

    @Sendable func resetPassword(request: Request, context: AppRequestContext) async throws -> JSONResponse<PasswordResponse> {
        let admin = try admin(context)
        let username = try context.parameters.require("username")
        var body = PasswordRequest()
        if request.headers[.contentLength].map({ $0 != "0" }) ?? false {
            body = try await request.decodeJSON(PasswordRequest.self, context: context)
        }
        let generated = try await admin.resetPassword(username: username, password: body.password)
        return JSONResponse(value: PasswordResponse(username: username, password: generated))
    }
}
