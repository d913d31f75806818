"""schemathesis hooks: the data its generated requests need to reach past validation.

schemathesis draws every field from docs/openapi.json, so a generated `user_id` names nobody,
a generated `verify_code` is never the one mailed, and a generated refresh token is no token.
Before each request whose data the document calls valid (positive cases; negative ones are
sent as drawn), `before_call` puts real data in the fields that must name something:

- requests carry the admin's token (the dev key's DOMAIN_ADMIN of the server's domain) as
  schemathesis's own authentication, so its checks of missing and spoiled tokens still run;
- `domain_id` is the server's domain, `user_id` one of the users this operation owns: each
  operation has its own users (created here, on first use), so one operation's changes (a
  disable, a new password, MFA switched on) never decide another's answer; `delete` (and an
  `update` that sets a password) gets a fresh user each time.
- `create` gets a user_id nobody has; `disable-mfa` a user whose MFA is on;
- `enable-mfa` and `confirm-mfa` are sent with that user's own token (only the user may);
  `confirm-email` and `confirm-mfa` get the code the server just mailed (read from its outbox);
  `token/issue` signs in with a user's real password; `token/grant` uses a real refresh token.

Everything else schemathesis drew is kept, so a request may still be refused for a reason the
document states (a password without a digit, a second enable of MFA): what matters is that
each operation is reached with data that can succeed. real_clients.py sets USERS_BASE,
USERS_ADMIN, USERS_BINARY, USERS_DATA and USERS_DOMAIN.
"""

import os
import re
import subprocess

import schemathesis

import local_api

BASE = os.environ["USERS_BASE"]
ADMIN = os.environ["USERS_ADMIN"]
BINARY = os.environ["USERS_BINARY"]
DATA = os.environ["USERS_DATA"]
DOMAIN = os.environ["USERS_DOMAIN"]
PASSWORD = "Schemathesis1"
USERS_PER_OPERATION = 3

_users = {}
_tokens = {}
_counter = [0]


def post(path, body, token=ADMIN):
    return local_api.post(BASE, path, body, token)


def new_user(prefix, local=True):
    _counter[0] += 1
    user_id = f"st-{prefix}-{_counter[0]}"
    body = {"user_id": user_id, "domain_id": DOMAIN, "permission_group": "DOMAIN", "email": f"{user_id}@example.com"}
    body.update({"auth_type": "LOCAL", "password": PASSWORD} if local else {"auth_type": "EXTERNAL"})
    status, answer = post("/identity/v2/user/create", body)
    assert status == 200, f"creating {user_id}: {status} {answer}"
    return user_id


def users_of(operation):
    """The users an operation works on, created on first use."""
    if operation not in _users:
        prefix = re.sub(r"[^a-z]+", "-", operation.split("/")[-1])
        _users[operation] = [new_user(prefix) for _ in range(USERS_PER_OPERATION)]
    return _users[operation]


def pick(operation):
    users = users_of(operation)
    _counter[0] += 1
    return users[_counter[0] % len(users)]


def own_token(user_id):
    if user_id not in _tokens:
        _tokens[user_id] = subprocess.run(
            [BINARY, "token", "--domain-id", DOMAIN, "--user-id", user_id, "--role", "USER"],
            env={**os.environ, "DATA_DIR": DATA}, capture_output=True, text=True, check=True,
        ).stdout.strip()
    return _tokens[user_id]


def last_code(address):
    return local_api.last_code(DATA, address)


def refresh_token():
    user_id = pick("token-grant")
    status, answer = post("/identity/v2/token/issue",
                          {"domain_id": DOMAIN, "credentials": {"user_id": user_id, "password": PASSWORD}}, None)
    return answer.get("refresh_token") if status == 200 else None


def start_mfa(user_id, address):
    """MFA by email asked for (switched off first if it was on): the code mailed for it."""
    target = {"user_id": user_id, "domain_id": DOMAIN}
    post("/identity/v2/user/disable-mfa", {**target, "force": True})
    post("/identity/v2/user/enable-mfa", {**target, "mfa_type": "EMAIL", "options": {"email": address}},
         own_token(user_id))
    return last_code(address)


def enable_mfa(user_id, address):
    """MFA by email switched on and confirmed."""
    code = start_mfa(user_id, address)
    post("/identity/v2/user/confirm-mfa", {"user_id": user_id, "domain_id": DOMAIN, "verify_code": code},
         own_token(user_id))


def verify_email(user_id):
    address = f"{user_id}@example.com"
    target = {"user_id": user_id, "domain_id": DOMAIN}
    post("/identity/v2/user/verify-email", {**target, "email": address})
    post("/identity/v2/user/confirm-email", {**target, "verify_code": last_code(address)})


def is_positive(case):
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return mode is not None and mode.is_positive


@schemathesis.auth()
class AdminToken:
    """The admin's token, as schemathesis's authentication: its auth checks leave it out or
    spoil it on purpose, and expect a 401."""

    def get(self, case, ctx):
        return ADMIN

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    body = case.body
    if not is_positive(case) or not isinstance(body, dict):
        return
    path = case.operation.path
    if "domain_id" in body or path.endswith(("/list", "/stat", "/token/issue", "/get-public-key")):
        body["domain_id"] = DOMAIN
    if path.endswith("/token/issue"):
        body["credentials"] = {"user_id": pick(path), "password": PASSWORD}
        body.pop("verify_code", None)
        return
    if path.endswith("/token/grant"):
        body["token"] = refresh_token() or body.get("token")
        return
    if "user_id" not in body or path.endswith(("/list", "/stat")):
        return
    if path.endswith("/create"):
        _counter[0] += 1
        body["user_id"] = f"st-new-{_counter[0]}"
        return
    if path.endswith("/delete"):
        user_id = new_user("delete", local=False)
    elif path.endswith("/update") and (body.get("password") or body.get("reset_password")):
        # A new password must differ from the current one, which earlier cases changed; a reset
        # goes to a verified address.
        user_id = new_user("update")
        if body.get("reset_password"):
            verify_email(user_id)
    else:
        user_id = pick(path)
    body["user_id"] = user_id
    address = f"{user_id}@example.com"
    if path.endswith("/disable-mfa"):
        enable_mfa(user_id, address)
    if path.endswith(("/enable-mfa", "/confirm-mfa")):
        # The user's own token instead of the admin's (never where a check left it out).
        if (case.headers or {}).get("Authorization") == f"Bearer {ADMIN}":
            case.headers["Authorization"] = f"Bearer {own_token(user_id)}"
    if path.endswith("/confirm-mfa"):
        body["verify_code"] = start_mfa(user_id, address) or body.get("verify_code")
    if path.endswith("/confirm-email"):
        post("/identity/v2/user/verify-email", {"user_id": user_id, "domain_id": DOMAIN, "email": address})
        body["verify_code"] = last_code(address) or body.get("verify_code")
