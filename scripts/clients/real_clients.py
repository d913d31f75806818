"""Real clients against the real local server (`./scripts/test.sh` runs this).

1. The official generated client of the API revision our seed documents (`spaceone-api`
   2.0.25): a request for every method built with its message classes, sent with both proto3
   JSON naming options (lowerCamelCase with enum names, the default; proto names with enum
   numbers), and every 200 answer parsed into its response message with
   `json_format.ParseDict(..., ignore_unknown_fields=False)`. `role_type` is checked against
   the SPEC's list instead: its values differ between API releases (docs/design.md).
2. An authenticator app (pyotp, scripts/clients/authenticator.py): reads the otp_qrcode_uri
   enable_mfa answers and makes the codes that enrol, sign in (the code once only) and disable
   OTP; the secret then appears in no other answer, mail, stored file or log line.
3. schemathesis, driven by docs/openapi.json: generated requests for every operation, and every
   answer must conform to the document (status, content type, schema) and be no 5xx.

Usage: real_clients.py USERS_LOCAL_BINARY OPENAPI_JSON
"""

import json
import os
import subprocess
import sys
import tempfile

import local_api
from authenticator import Authenticator
from google.protobuf import empty_pb2, json_format, struct_pb2
from spaceone.api.core.v1 import query_pb2
from spaceone.api.identity.v2 import token_pb2, user_pb2

DOMAIN = "domain-local"
SPEC_ROLE_TYPES = {"DOMAIN_ADMIN", "WORKSPACE_OWNER", "WORKSPACE_MEMBER", "USER"}
NAMINGS = {
    # The official client's default: lowerCamelCase names, enums by name.
    "camel": dict(),
    # Proto names, enums by number.
    "proto": dict(preserving_proto_field_name=True, use_integers_for_enums=True),
}


class Server:
    """`users-local serve` on a free port with its own DATA_DIR, until closed."""

    def __init__(self, binary):
        self.binary = binary
        self.data = tempfile.mkdtemp(prefix="real-clients-")
        env = {k: v for k, v in os.environ.items() if k not in ("IDENTITY_JWKS", "IDENTITY_JWKS_FILE", "USERS_TABLE", "MAIL_TRANSPORT")}
        env["DATA_DIR"] = self.data
        self.env = env
        self.log = open(os.path.join(self.data, "server.log"), "w")
        self.process = subprocess.Popen(
            [binary, "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        self.base, self.admin = None, None
        for line in self.process.stdout:
            if line.startswith("users-local listening on "):
                self.base = line.split()[3]
            if line.startswith("export TOKEN="):
                self.admin = line.strip().split("=", 1)[1]
            if self.base and self.admin:
                break
        if not (self.base and self.admin):
            raise SystemExit("users-local did not start")

    def token(self, user_id, role="USER"):
        out = subprocess.run(
            [self.binary, "token", "--domain-id", DOMAIN, "--user-id", user_id, "--role", role],
            env=self.env, capture_output=True, text=True, check=True,
        )
        return out.stdout.strip()

    def post(self, path, body, token):
        return local_api.post(self.base, path, body, token)

    def last_code(self, to):
        code = local_api.last_code(self.data, to)
        if code is None:
            raise AssertionError(f"no mail to {to}")
        return code

    def mails_to(self, to):
        return local_api.mails_to(self.data, to)

    def temporary_password(self, to):
        password = local_api.temporary_password(self.data, to)
        if password is None:
            raise AssertionError(f"no temporary password mailed to {to}")
        return password

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=15)
        self.log.close()


def parse(body, message):
    """Parses a 200 answer into `message`, strictly; role_type against the SPEC's list."""
    def take_role(user):
        role = user.pop("role_type", None)
        assert role in SPEC_ROLE_TYPES, f"role_type {role!r}"

    if isinstance(message, user_pb2.UserInfo):
        take_role(body)
    if isinstance(message, user_pb2.UsersInfo):
        for user in body["results"]:
            take_role(user)
    json_format.ParseDict(body, message, ignore_unknown_fields=False)
    return message


def official_client(server):
    calls = 0
    for naming, options in NAMINGS.items():
        user, email = f"alice-{naming}", f"alice-{naming}@example.com"
        admin = server.admin

        def call(method, message, token, response):
            nonlocal calls
            body = json_format.MessageToDict(message, **options)
            status, answer = server.post(f"/identity/v2/user/{method}", body, token)
            assert status == 200, f"{naming} {method} {body}: {status} {answer}"
            calls += 1
            return parse(answer, response)

        target = dict(user_id=user, domain_id=DOMAIN)
        tags = struct_pb2.Struct()
        tags.update({"cost_center": "a1", "teamName": "core"})
        created = call("create", user_pb2.CreateUserRequest(
            **target, auth_type=user_pb2.AuthType.LOCAL, password="Secret123", email=email, name="Alice",
            permission_group=user_pb2.CreateUserRequest.PermissionGroup.DOMAIN, tags=tags,
        ), admin, user_pb2.UserInfo())
        assert created.auth_type == user_pb2.AuthType.LOCAL and dict(created.tags) == {"cost_center": "a1", "teamName": "core"}
        # Minted once the user exists: a token from before its creation second is refused.
        me = server.token(user)
        call("get", user_pb2.UserRequest(**target), admin, user_pb2.UserInfo())
        # Sign-in with the official IssueTokenRequest (Token API), then a grant (2.0.25 has no
        # GrantTokenRequest: its fields as the later identity v2 Token service names them).
        credentials = struct_pb2.Struct()
        credentials.update({"user_id": user, "password": "Secret123"})
        issue = token_pb2.IssueTokenRequest(credentials=credentials, domain_id=DOMAIN, auth_type=token_pb2.IssueTokenRequest.AuthType.LOCAL)
        body = json_format.MessageToDict(issue, **options)
        status, answer = server.post("/identity/v2/token/issue", body, None)
        assert status == 200, f"{naming} token issue {body}: {status} {answer}"
        issued = json_format.ParseDict(answer, token_pb2.TokenInfo(), ignore_unknown_fields=False)
        grant_names = ("grantType", "token", "scope") if naming == "camel" else ("grant_type", "token", "scope")
        grant = dict(zip(grant_names, ("REFRESH_TOKEN" if naming == "camel" else 1, issued.refresh_token, "USER" if naming == "camel" else 4)))
        status, granted = server.post("/identity/v2/token/grant", grant, None)
        assert status == 200 and granted["role_type"] == "USER", f"{naming} grant: {status} {granted}"
        status, _ = server.post("/identity/v2/user/get", target, granted["access_token"])
        assert status == 200, f"{naming} get with a granted token: {status}"
        calls += 3
        updated = call("update", user_pb2.UpdateUserRequest(**target, name="Alice L."), admin, user_pb2.UserInfo())
        assert updated.name == "Alice L."
        call("verify-email", user_pb2.VerifyEmailRequest(**target), me, empty_pb2.Empty())
        confirmed = call("confirm-email", user_pb2.ConfirmEmailRequest(**target, verify_code=server.last_code(email)), me, user_pb2.UserInfo())
        assert confirmed.email_verified
        actions = call("set-required-actions", user_pb2.SetRequiredActionsRequest(
            **target, actions=[user_pb2.UserRequiredAction.UPDATE_PASSWORD]), admin, user_pb2.UserInfo())
        assert list(actions.required_actions) == [user_pb2.UserRequiredAction.UPDATE_PASSWORD]
        options_struct = struct_pb2.Struct()
        options_struct.update({"email": email})
        call("enable-mfa", user_pb2.EnableMFARequest(**target, mfa_type="EMAIL", options=options_struct), me, user_pb2.UserInfo())
        mfa = call("confirm-mfa", user_pb2.ConfirmMFARequest(**target, verify_code=server.last_code(email)), me, user_pb2.UserInfo())
        assert mfa.mfa.state == user_pb2.MFA.State.ENABLED
        call("disable-mfa", user_pb2.DisableMFARequest(**target, force=True), admin, user_pb2.UserInfo())
        disabled = call("disable", user_pb2.UserRequest(**target), admin, user_pb2.UserInfo())
        assert disabled.state == user_pb2.UserInfo.State.DISABLED
        call("enable", user_pb2.UserRequest(**target), admin, user_pb2.UserInfo())
        call("reset-password", user_pb2.UserRequest(**target), None, empty_pb2.Empty())
        query = query_pb2.Query(
            filter=[query_pb2.Filter(k="user_id", v=struct_pb2.Value(string_value=user), o="eq")],
            sort=query_pb2.Sort(key="name", desc=True),
            page=query_pb2.Page(start=1, limit=10),
        )
        listed = call("list", user_pb2.UserSearchQuery(
            query=query, domain_id=DOMAIN, state=user_pb2.UserSearchQuery.State.ENABLED,
            auth_type=user_pb2.AuthType.LOCAL), admin, user_pb2.UsersInfo())
        assert listed.total_count == 1 and listed.results[0].user_id == user
        stat = user_pb2.UserStatQuery(domain_id=DOMAIN, query=query_pb2.StatisticsQuery(
            filter=[query_pb2.Filter(key="user_id", value=struct_pb2.Value(string_value=user), operator="eq")],
            aggregate=[
                query_pb2.StatisticsAggregate(group=query_pb2.AggregateGroup(
                    keys=[query_pb2.AggregateGroupKey(key="created_at", name="year", date_format="%Y")],
                    fields=[query_pb2.AggregateGroupField(name="n", operator="count")])),
                query_pb2.StatisticsAggregate(project=query_pb2.AggregateProject(
                    fields=[query_pb2.AggregateProjectField(key="n", name="users")], exclude_keys=True)),
            ],
            page=query_pb2.Page(limit=5)))
        counted = call("stat", stat, admin, struct_pb2.Struct())
        assert json_format.MessageToDict(counted)["results"] == [{"users": 1}], counted
        call("delete", user_pb2.UserRequest(**target), admin, empty_pb2.Empty())
    print(f"official client (spaceone-api 2.0.25): {calls} calls, both namings, every answer parsed")


def authenticator(server):
    admin, user = server.admin, {"user_id": "otp-user", "domain_id": DOMAIN}
    password = "Wonderland1"

    def call(path, body, token, status=200, code=None):
        got, answer = server.post(path, body, token)
        assert got == status and (code is None or answer["detail"]["code"] == code), (path, got, answer)
        return answer

    call("/identity/v2/user/create",
         dict(user, auth_type="LOCAL", password=password, permission_group="DOMAIN"), admin)
    me = server.token("otp-user")
    enabled = call("/identity/v2/user/enable-mfa", dict(user, mfa_type="OTP"), me)
    app = Authenticator(enabled["mfa"]["options"]["otp_qrcode_uri"])
    call("/identity/v2/user/confirm-mfa", dict(user, verify_code=app.code()), me)
    sign_in = {"credentials": {"user_id": "otp-user", "password": password}, "domain_id": DOMAIN}
    call("/identity/v2/token/issue", sign_in, None, 401, "ERROR_MFA_REQUIRED")
    code = app.code()
    call("/identity/v2/token/issue", dict(sign_in, verify_code=code), None)
    call("/identity/v2/token/issue", dict(sign_in, verify_code=code), None, 401, "ERROR_AUTHENTICATE_FAILURE")
    got = call("/identity/v2/user/get", user, admin)
    assert got["mfa"] == {"state": "ENABLED", "mfa_type": "OTP", "options": {}}, got["mfa"]
    call("/identity/v2/user/disable-mfa", user, me)
    disabled = call("/identity/v2/user/confirm-mfa", dict(user, verify_code=app.code()), me)
    assert disabled["mfa"] == {"state": "DISABLED"}, disabled["mfa"]
    seen = [json.dumps(got), json.dumps(disabled)]
    for folder, _, files in os.walk(server.data):
        for name in files:
            if name.endswith(".key"):
                continue  # the sealing key itself
            with open(os.path.join(folder, name), "rb") as f:
                seen.append(f.read().decode("latin-1"))
    for text in seen:
        assert app.secret not in text and "otpauth" not in text, "the OTP secret outside enable_mfa's answer"
    print("authenticator (pyotp): OTP enrolled, a code signed in once, another disabled it; the secret "
          "in no other answer, file or log line")


def schemathesis(server, document, examples):
    command = [
        os.path.join(os.path.dirname(sys.executable), "schemathesis"),
        "--config-file", os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemathesis.toml"),
        "run", document,
        "--url", server.base,
        "--checks", "all",
        "--max-examples", str(examples), "--seed", "1", "--phases", "examples,coverage,fuzzing",
        "--generation-allow-x00", "true", "--no-color",
    ]
    # The hooks give the generated requests real users, codes and tokens (schemathesis_hooks.py).
    env = {
        **server.env,
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        "PYTHONPATH": os.path.dirname(os.path.abspath(__file__)),
        "USERS_BASE": server.base, "USERS_ADMIN": server.admin, "USERS_BINARY": server.binary,
        "USERS_DATA": server.data, "USERS_DOMAIN": DOMAIN,
    }
    print("== schemathesis:", " ".join(command[3:6]), "...", flush=True)
    result = subprocess.run(command, env=env)
    if result.returncode != 0:
        raise SystemExit(f"schemathesis found answers that do not conform (exit {result.returncode})")


def main():
    binary, document = sys.argv[1], sys.argv[2]
    server = Server(binary)
    try:
        official_client(server)
        authenticator(server)
    finally:
        server.close()
    server = Server(binary)
    try:
        schemathesis(server, document, int(os.environ.get("SCHEMATHESIS_EXAMPLES", "30")))
    finally:
        server.close()


if __name__ == "__main__":
    main()
