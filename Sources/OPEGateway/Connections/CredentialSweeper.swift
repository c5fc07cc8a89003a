import Foundation
import Logging
import OPECore
import OPERuntime
import OPEStore
import ServiceLifecycle

/// Checks, every `interval` of `clock`'s time, that the credentials of open connections still
/// work, and closes those that do not. Revocations in this process arrive at once through the
/// ``RevocationNotifier``; this catches the rest: a token revoked with `ope user token revoke`
/// (another process on the same data dir, as another gateway replica would be), a token that
/// expired or a sign-in that reached its absolute end while its socket stayed open, and what a
/// remote ``AccountDirectory`` could not push while its revocation stream was reconnecting.
struct CredentialSweeper: Service {
    let accounts: any AccountDirectory
    let connections: LiveConnections
    let interval: Duration
    let clock: any PlatformClock
    let logger: Logger

    func run() async throws {
        await every(interval, on: clock) { began in await sweep(now: began) }
    }

    func sweep(now: Date) async {
        let open = connections.credentials
        guard !open.isEmpty else { return }
        do {
            let valid = try await accounts.stillValid(open, now: now)
            if valid.count < open.count {
                logger.info("closing connections whose sign-in or token ended", metadata: ["credentials": "\(open.count - valid.count)"])
            }
            connections.keep(checked: open, valid: valid)
        } catch {
            // A database hiccup closes nothing: the next pass looks again.
            logger.error("could not check the credentials of open connections", metadata: ["error": "\(error)"])
        }
    }
}
