import HTTPTypes
import Hummingbird
import OPECore
import OPEStore

/// Accounts, for staff.
struct UsersController {
    let store: Store

    struct UserResponse: Encodable, Sendable {
        var username: String
        var displayName: String
        var role: String

        init(_ user: User) {
            username = user.username
            displayName = user.displayName
            role = user.role.rawValue
        }
    }

    struct CreateRequest: Decodable {
        var username: String
        var displayName: String?
        var role: String?
        var password: String
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("users", use: list)
        group.post("users", use: create)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<[UserResponse]> {
        _ = try context.requireStaff()
        return JSONResponse(value: try await store.users.list().map(UserResponse.init))
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> JSONResponse<UserResponse> {
        let identity = try context.requireAdmin()
        let body = try await request.decodeJSON(CreateRequest.self, context: context)
        let roleName = body.role ?? PlatformRole.participant.rawValue
        guard let role = PlatformRole(rawValue: roleName) else {
            throw APIError(.badRequest, "field 'role' must be one of: \(PlatformRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let user = User(username: body.username, displayName: body.displayName ?? body.username, role: role)
        do {
            try await store.users.create(user, password: body.password, actor: identity.user.username)
        } catch let error as UserStoreError {
            throw APIError(error == .exists(user.username) ? .conflict : .badRequest, error.description)
        } catch let error as UsernameError {
            throw APIError(.badRequest, error.description)
        }
        return JSONResponse(value: UserResponse(user), status: .created)
    }
}
