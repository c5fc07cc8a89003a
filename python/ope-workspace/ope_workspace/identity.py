"""Who is calling: the member OPE's proxy vouches for.

OPE's proxy sends two headers with every request it relays:

``X-OPE-Identity``
    the member as URL-safe base64 of a JSON object: ``username``, ``name``, ``display_name``,
    ``initials``, ``color`` and the member's team ``role``;
``X-OPE-Identity-Signature``
    hex HMAC-SHA256 of that header's value, keyed with the workspace's token.

A browser never has the token (the proxy adds it and takes it out of every page), and the proxy
drops any ``X-OPE-*`` header a browser sends, so neither header can be forged from outside. A
request with the token but without the headers is OPE itself (health checks, snapshots); one whose
signature does not match is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import typing as t

from jupyter_server.auth.identity import IdentityProvider, User

IDENTITY_HEADER = "X-OPE-Identity"
SIGNATURE_HEADER = "X-OPE-Identity-Signature"

# The fields of jupyter_server's User that OPE fills in.
_USER_FIELDS = ("username", "name", "display_name", "initials", "color")


def sign(token: str, identity: str) -> str:
    """The signature OPE's proxy sends for ``identity`` (the header's value)."""
    return hmac.new(token.encode(), identity.encode(), hashlib.sha256).hexdigest()


def decode_identity(value: str) -> dict[str, t.Any] | None:
    """The member in an ``X-OPE-Identity`` value, or None if it is not one."""
    try:
        padded = value + "=" * (-len(value) % 4)
        member = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        return None
    if not isinstance(member, dict) or not isinstance(member.get("username"), str) or not member["username"]:
        return None
    return member


class OPEUser(User):
    """A jupyter_server user that also knows the member's team role."""

    role: str | None = None


class OPEIdentityProvider(IdentityProvider):
    """Members as OPE names them, vouched for by OPE's proxy."""

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        # (token, identity header, signature) -> the member's fields and role, once verified.
        self._verified: dict[tuple[str, str, str], tuple[dict[str, str], str | None]] = {}

    def set_login_cookie(self, handler: t.Any, user: User) -> None:
        """No login cookie: jupyter_server would sign one on every request that came with the token,
        but OPE's proxy drops it on the way out and carries no cookie in, so it was only work."""

    async def get_user_token(self, handler: t.Any) -> User | None:
        token = t.cast("str | None", handler.token)
        given = self.get_token(handler)
        if not token or not given or not hmac.compare_digest(given.encode(), token.encode()):
            return None
        identity = handler.request.headers.get(IDENTITY_HEADER)
        signature = handler.request.headers.get(SIGNATURE_HEADER, "")
        if identity is None:
            # The token alone: OPE itself (its readiness checks and snapshots), not a member.
            return User(username="ope", name="OPE", display_name="OPE", initials="OPE")
        known = self._verified.get((token, identity, signature))
        if known is None:
            if not hmac.compare_digest(sign(token, identity).encode(), signature.encode()):
                self.log.warning("Refusing a request whose OPE identity is not signed with this workspace's token")
                return None
            member = decode_identity(identity)
            if member is None:
                self.log.warning("Refusing a request whose OPE identity cannot be read")
                return None
            fields = {name: str(member[name]) for name in _USER_FIELDS if isinstance(member.get(name), str)}
            role = member.get("role")
            known = (fields, role if isinstance(role, str) else None)
            # Every request carries the pair, and a team has a handful of them: each is checked
            # and read once (a pair that was signed right stays so for the same token).
            if len(self._verified) >= 1024:
                self._verified.clear()
            self._verified[(token, identity, signature)] = known
        fields, role = known
        user = OPEUser(**fields)
        user.role = role
        return user

