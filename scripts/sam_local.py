"""The functions through `sam local invoke`, as template.yaml declares them.

Usage (scripts/test.sh runs it with the daemon of scripts/docker.sh and a moto server listening
on that daemon's bridge gateway):

    python3 scripts/sam_local.py --moto http://GATEWAY:PORT [--bin-dir target/debug]

What it does:

1. Makes what the functions need on moto: the users table (`users-local create-table`, as a
   developer does), SES's sender identity, the provisioning queue (FIFO, as the template's),
   and an EventBridge bus with a rule that copies every user event to a queue it reads.
2. Writes `target/sam-local/template.yaml` from template.yaml: each function's code is the
   directory `target/sam-local/functions/<binary>/` holding that binary (built for this
   machine by the test build) as `bootstrap`, instead of `BuildMethod: rust-cargolambda`
   (`sam build` is the release build, minutes per function); the resources' references that
   SAM cannot resolve locally (the table, the queue, the bus, the KMS key) are replaced by
   those on moto, and AWS_ENDPOINT_URL points the SDK at moto. Everything else (runtime,
   handler, memory, timeout, log format, the other variables) is the template's own.
3. Invokes each of the 15 User API functions with its `events/` file (a token from the dev
   key, the code from the mail moto's SES sent), checking each answer's status and body, then
   the provisioning function with the SQS message reset-password left on the queue (the
   temporary password's mail must go out), the event publisher with
   `events/publish-events.json` (its events must arrive on the bus), and the Token API: sign-in,
   grant, both key paths, and the granted token on user-get; and users-console with
   `events/console.json` and `events/openapi.json` (the page, gzipped, with the local server's
   headers; the API document). No log line, and no answer but the Token API's, may hold a
   token, a password or a password hash.
4. `sam local start-api`: a slice of the HTTP suite through SAM's API Gateway emulation, the
   console's page and script and the API document on the API's origin, and
   authenticator-app MFA: pyotp (scripts/clients/authenticator.py) reads the URI enable-mfa
   answers and makes the codes that enrol, sign in and disable, the secret sealed by a KMS
   key on moto; the secret then appears in no log. Then the console in chromium
   (scripts/clients/console_browser.py --api): an admin signs in, the users table, the
   overview's chart to its filtered table, OTP set up from the QR code on the account page,
   and a sign-in with its code.
5. Fails if a function of the template was not invoked, or a file in `events/` not sent.
"""

import argparse
import base64
import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
from samcli.yamlhelper import yaml_dump, yaml_parse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "clients"))
from authenticator import Authenticator  # noqa: E402 - beside real_clients.py, which uses it too
DOMAIN = "domain-local"
SENDER = "no-reply@example.com"
ALICE_EMAIL = "alice@example.com"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

# The User API's sample events in an order that makes each succeed: (event, caller, what the
# answer's body must show).
SEQUENCE = [
    ("create", "admin", lambda b: b["user_id"] == "alice" and b["state"] == "ENABLED"),
    ("get", "admin", lambda b: b["user_id"] == "alice"),
    ("update", "admin", lambda b: b["user_id"] == "alice" and b["language"] == "ko"),
    ("set-required-actions", "admin", lambda b: b["user_id"] == "alice"),
    ("verify-email", "admin", lambda b: b == {}),
    ("confirm-email", "admin", lambda b: b["email_verified"] is True),
    ("enable-mfa", "alice", lambda b: b["user_id"] == "alice"),
    ("confirm-mfa", "alice", lambda b: b["mfa"]["state"] == "ENABLED"),
    # Without force, MFA stays ENABLED until the mailed code confirms (SPEC 4.8).
    ("disable-mfa", "alice", lambda b: b["mfa"]["state"] == "ENABLED"),
    ("reset-password", None, lambda b: b == {}),
    ("disable", "admin", lambda b: b["state"] == "DISABLED"),
    ("enable", "admin", lambda b: b["state"] == "ENABLED"),
    ("list", "admin", lambda b: [u["user_id"] for u in b["results"]] == ["alice"]),
    ("stat", "admin", lambda b: isinstance(b["results"], list) and b["results"]),
    ("delete", "admin", lambda b: b == {}),
]
SECRETS = [re.compile(r"eyJ[A-Za-z0-9_-]+\."), re.compile(r"\$argon2"), re.compile(r"Wonderland1")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moto", required=True, help="moto's endpoint, reachable from the containers")
    parser.add_argument("--bin-dir", default=str(ROOT / "target" / "debug"))
    parser.add_argument("--arch", default="x86_64", choices=["x86_64", "arm64"])
    parser.add_argument("--keep", action="store_true",
                        help="leave the table, queues and bus on moto (for your own sam local invoke)")
    args = parser.parse_args()
    work = ROOT / "target" / "sam-local"
    work.mkdir(parents=True, exist_ok=True)
    check = Check(args.moto, Path(args.bin_dir), args.arch, work)
    check.run(keep=args.keep)


class Check:
    def __init__(self, moto, bin_dir, arch, work):
        self.moto, self.bin_dir, self.arch, self.work = moto, bin_dir, arch, work
        self.env = dict(os.environ, AWS_ENDPOINT_URL=moto, AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION,
                        DATA_DIR=str(work / "dev-key"), SAM_CLI_TELEMETRY="0", **CREDENTIALS)
        session = boto3.session.Session(region_name=REGION, aws_access_key_id="testing",
                                        aws_secret_access_key="testing")
        self.aws = lambda service: session.client(service, endpoint_url=moto)
        self.run_id = uuid.uuid4().hex[:12]
        self.invocations = []  # (function, seconds)
        self.used_events = set()

    # -- the pieces on moto -------------------------------------------------------------------

    def users_local(self, *arguments):
        return subprocess.run([str(self.bin_dir / "users-local"), *arguments], env=self.env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def prepare(self):
        self.table = f"users-sam-local-{self.run_id}"
        self.users_local("create-table", "--table", self.table)
        self.aws("sesv2").create_email_identity(EmailIdentity=SENDER)
        sqs = self.aws("sqs")
        self.queue = sqs.create_queue(
            QueueName=f"provision-{self.run_id}.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        )["QueueUrl"]
        self.bus = f"user-events-{self.run_id}"
        events = self.aws("events")
        events.create_event_bus(Name=self.bus)
        self.event_queue = sqs.create_queue(QueueName=f"events-{self.run_id}")["QueueUrl"]
        event_queue_arn = sqs.get_queue_attributes(QueueUrl=self.event_queue, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        events.put_rule(Name="all-user-events", EventBusName=self.bus,
                        EventPattern=json.dumps({"source": [{"prefix": ""}]}))
        events.put_targets(Rule="all-user-events", EventBusName=self.bus,
                           Targets=[{"Id": "queue", "Arn": event_queue_arn}])
        self.jwks = self.users_local("jwks")
        # The Token API signs with a KMS key, as deployed (template.yaml's TokenSigningKey).
        self.signing_key = self.aws("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")[
            "KeyMetadata"]["KeyId"]
        # OTP secrets are sealed by a symmetric KMS key, as deployed (template.yaml's MfaSecretKey).
        self.mfa_key = self.aws("kms").create_key()["KeyMetadata"]["KeyId"]

    def token(self, caller):
        """A token of the dev key for `caller`, minted when first needed: alice's after she
        exists (a token from before its user's creation second is refused)."""
        user, role = {"admin": ("root", "DOMAIN_ADMIN"), "alice": ("alice", "USER")}[caller]
        return self.users_local("token", "--domain-id", DOMAIN, "--user-id", user, "--role", role)

    def cleanup(self):
        for call in (lambda: self.aws("dynamodb").delete_table(TableName=self.table),
                     lambda: self.aws("sqs").delete_queue(QueueUrl=self.queue),
                     lambda: self.aws("sqs").delete_queue(QueueUrl=self.event_queue)):
            try:
                call()
            except Exception:  # noqa: BLE001 - best effort: the server stops after the run anyway
                pass

    # -- the template SAM runs ----------------------------------------------------------------

    def write_template(self):
        template = yaml_parse((ROOT / "template.yaml").read_text())
        functions = self.work / "functions"
        self.logical_ids = {}  # binary -> logical id
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            binary = resource["Metadata"]["BuildProperties"]["Binary"]
            self.logical_ids[binary] = logical_id
            folder = functions / binary
            folder.mkdir(parents=True, exist_ok=True)
            bootstrap = folder / "bootstrap"
            bootstrap.unlink(missing_ok=True)
            try:
                os.link(self.bin_dir / binary, bootstrap)  # the test build's binary, not a copy
            except OSError:
                bootstrap.write_bytes((self.bin_dir / binary).read_bytes())
                bootstrap.chmod(0o755)
            del resource["Metadata"]
            resource["Properties"]["CodeUri"] = str(folder)
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            if "PROVISION_QUEUE_URL" in variables:
                variables["PROVISION_QUEUE_URL"] = self.queue
            if "EVENT_BUS_NAME" in variables:
                variables["EVENT_BUS_NAME"] = self.bus
        variables = template["Globals"]["Function"]["Environment"]["Variables"]
        variables.update(
            USERS_TABLE=self.table,
            # The dev key's tokens (the admin's) as another issuer's, and the Token API's own.
            IDENTITY_JWKS=self.jwks,
            TOKEN_SIGNING_KEY=self.signing_key,
            TOKEN_PREVIOUS_KEYS="",
            MFA_SECRET_KEY=self.mfa_key,
            AWS_ENDPOINT_URL=self.moto,
        )
        missing = set(self.sequence_binaries()) - set(self.logical_ids)
        assert not missing, f"template.yaml has no function for {sorted(missing)}"
        self.template = self.work / "template.yaml"
        self.template.write_text(yaml_dump(template))

    @staticmethod
    def sequence_binaries():
        return [f"user-{name}" for name, _, _ in SEQUENCE] + [
            "users-provision", "users-publish-events", "token-issue", "token-grant", "token-keys", "users-console"]

    def invoke(self, binary, event, answer_has_tokens=False):
        logical_id = self.logical_ids[binary]
        event_file = self.work / f"event-{binary}.json"
        event_file.write_text(json.dumps(event))
        started = time.monotonic()
        done = subprocess.run(
            ["sam", "local", "invoke", logical_id, "--template", str(self.template), "--event", str(event_file),
             "--skip-pull-image", "--parameter-overrides", f"Architecture={self.arch} MailFrom={SENDER}"],
            env=self.env, capture_output=True, text=True, timeout=180,
        )
        self.invocations.append((binary, time.monotonic() - started))
        logs = done.stderr
        if done.returncode != 0:
            fail(f"{binary}: sam local invoke exited {done.returncode}\n{logs}")
        for text in (logs,) if answer_has_tokens else (done.stdout, logs):
            refuse_secrets(text, f"{binary}: the answer or the logs:\n{text}")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        if not lines:
            fail(f"{binary}: no answer\n{logs}")
        try:
            return json.loads(lines[-1]), logs
        except json.JSONDecodeError:
            fail(f"{binary}: the answer is not JSON: {lines[-1]}\n{logs}")

    # -- what moto saw ------------------------------------------------------------------------

    def mails_to(self, address):
        with urllib.request.urlopen(f"{self.moto}/moto-api/data.json", timeout=30) as answer:
            data = json.load(answer)
        return [m for m in data.get("ses", {}).get("Message", [])
                if m.get("destinations", {}).get("ToAddresses") == [address]]

    def latest_code(self):
        mails = self.mails_to(ALICE_EMAIL)
        if not mails:
            fail("no mail to alice in moto's SES")
        code = re.search(r"(?<!\d)\d{6}(?!\d)", mails[-1].get("body", ""))
        if not code:
            fail(f"no six-digit code in the mail: {mails[-1].get('subject')}")
        return code.group(0)

    # -- the checks ---------------------------------------------------------------------------

    def run(self, keep=False):
        self.prepare()
        try:
            self.write_template()
            self.user_api()
            self.publisher()
            self.token_api()
            self.console()
            self.everything_was_invoked()
            self.start_api()
        finally:
            if not keep:
                self.cleanup()
        total = sum(seconds for _, seconds in self.invocations)
        print(f"sam local invoke: {len(self.invocations)} invocations answered as expected in {total:.0f} s "
              f"(median {sorted(s for _, s in self.invocations)[len(self.invocations) // 2]:.1f} s each)")

    def user_api(self):
        for name, caller, expected in SEQUENCE:
            event = self.event(name, caller)
            if name.startswith("confirm-"):
                body = json.loads(event["body"])
                body["verify_code"] = self.latest_code()
                event["body"] = json.dumps(body)
            self.expect_200(f"user-{name}", event, expected)
            if name == "reset-password":
                self.provisioning()

    def provisioning(self):
        """reset-password left one command on the queue: the provisioning function, given it
        as SQS delivers it, applies it and the temporary password's mail goes out."""
        sqs = self.aws("sqs")
        messages = sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                       AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if len(messages) != 1:
            fail(f"reset-password left {len(messages)} messages on the queue, not one")
        message = messages[0]
        command = json.loads(message["Body"])
        if command.get("action") != "reset_password" or command.get("params", {}).get("user_id") != "alice":
            fail(f"the handed-over command is not alice's reset: {command}")
        sample = self.event("provision")["Records"][0]
        record = dict(sample, messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"],
                      body=message["Body"], md5OfBody=message["MD5OfBody"])
        record["attributes"] = dict(sample["attributes"], **message.get("Attributes", {}))
        mails_before = len(self.mails_to(ALICE_EMAIL))
        answer, logs = self.invoke("users-provision", {"Records": [record]})
        if answer != {"batchItemFailures": []}:
            fail(f"users-provision: {answer}\n{logs}")
        mails = self.mails_to(ALICE_EMAIL)
        if len(mails) != mails_before + 1:
            fail(f"users-provision sent {len(mails) - mails_before} mails to alice, not the temporary password")
        print(f"ok   sam local invoke {self.logical_ids['users-provision']:<28} the handed-over reset applied, "
              f"its mail sent")

    def publisher(self):
        """The sample stream records (ada created, then disabled) become one event each on the
        bus."""
        answer, logs = self.invoke("users-publish-events", self.event("publish-events"))
        if answer != {"batchItemFailures": []}:
            fail(f"users-publish-events: {answer}\n{logs}")
        sqs = self.aws("sqs")
        expected = [("User Created", "ada"), ("User Disabled", "ada")]
        received = []
        deadline = time.monotonic() + 10
        while len(received) < len(expected) and time.monotonic() < deadline:
            received += sqs.receive_message(QueueUrl=self.event_queue, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=1).get("Messages", [])
        events = [json.loads(m["Body"]) for m in received]
        kinds = [(e.get("detail-type"), e.get("detail", {}).get("user_id")) for e in events]
        if sorted(kinds) != sorted(expected):
            fail(f"users-publish-events published {kinds}, not {expected}")
        print(f"ok   sam local invoke {self.logical_ids['users-publish-events']:<28} its two stream records as "
              f"two events on the bus")


    def token_api(self):
        """alice, created again with a password as a domain admin, signs in (token-issue), her
        refresh token becomes a DOMAIN token (token-grant) signed by the KMS key, token-keys
        publishes that key on both its paths, and user-get accepts the DOMAIN token."""
        create = self.event("create", "admin")
        create["body"] = json.dumps({"user_id": "alice", "auth_type": "LOCAL", "password": "Wonderland1",
                                     "permission_group": "DOMAIN", "role_id": "managed-domain-admin",
                                     "domain_id": DOMAIN})
        self.expect_200("user-create", create, lambda b: b["role_type"] == "DOMAIN_ADMIN")
        issued = self.expect_200("token-issue", self.event("token-issue"), lambda b: b["refresh_token"],
                                 answer_has_tokens=True)
        grant = self.event("token-grant")
        grant["body"] = grant["body"].replace("REPLACE_WITH_REFRESH_TOKEN", issued["refresh_token"])
        granted = self.expect_200("token-grant", grant, lambda b: b["role_type"] == "DOMAIN_ADMIN",
                                  answer_has_tokens=True)
        jwks = self.expect_200("token-keys", self.event("token-keys-jwks"),
                               lambda b: [k["kid"] for k in b["keys"]] == [self.signing_key])
        self.expect_200("token-keys", self.event("token-keys-public-key"),
                        lambda b: json.loads(b["public_key"]) == jwks["keys"][0])
        get = self.event("get")
        get["headers"]["authorization"] = f"Bearer {granted['access_token']}"
        self.expect_200("user-get", get, lambda b: b["user_id"] == "alice" and b["last_accessed_at"])

    def console(self):
        """users-console answers the console's page (gzipped for a client that takes gzip, with
        the Content-Security-Policy and the other headers of the local server) and the API
        document."""
        answer, logs = self.invoke("users-console", self.event("console"))
        headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        page = answer.get("body") or ""
        if answer.get("isBase64Encoded"):
            page = gzip.decompress(base64.b64decode(page)).decode() if headers.get("content-encoding") == "gzip" \
                else base64.b64decode(page).decode()
        expected = {"content-type": "text/html; charset=utf-8", "cache-control": "no-cache",
                    "content-encoding": "gzip", "x-content-type-options": "nosniff", "x-frame-options": "DENY"}
        wrong = {k: headers.get(k) for k, v in expected.items() if headers.get(k) != v}
        if answer.get("statusCode") != 200 or wrong or "script-src 'self'" not in headers.get(
                "content-security-policy", "") or '<div id="app">' not in page:
            fail(f"users-console /console: {answer.get('statusCode')} {wrong or headers}\n{page[:200]}\n{logs}")
        print(f"ok   sam local invoke {self.logical_ids['users-console']:<28} 200 /console (gzip, the console's headers)")
        # The document's examples hold a sample password: only the logs are searched for secrets.
        self.expect_200("users-console", self.event("openapi"),
                        lambda b: b["openapi"].startswith("3.1") and "/identity/v2/user/create" in b["paths"],
                        answer_has_tokens=True)

    @staticmethod
    def authenticator(call, token):
        """Authenticator-app MFA (SPEC section 10) through the functions, KMS on moto sealing the
        secret: carol enrols with the URI enable-mfa answers, signs in with a code, and disables
        it with another; pyotp makes every code. The secret must then appear in no log."""
        user = {"user_id": "carol", "domain_id": DOMAIN}
        enabled = call("/identity/v2/user/enable-mfa", dict(user, mfa_type="OTP", options={}), token)
        uri = enabled["mfa"]["options"]["otp_qrcode_uri"]
        app = Authenticator(uri)
        if not uri.startswith("otpauth://totp/Cloudforet:carol?secret=") or app.secret not in uri:
            fail(f"enable-mfa answered an unexpected URI for carol: {uri[:40]}...")
        SECRETS.extend([re.compile(re.escape(app.secret)), re.compile("otpauth")])
        confirmed = call("/identity/v2/user/confirm-mfa", dict(user, verify_code=app.code()), token)
        if confirmed["mfa"] != {"state": "ENABLED", "mfa_type": "OTP", "options": {}}:
            fail(f"confirm-mfa: {confirmed['mfa']}")
        sign_in = {"credentials": {"user_id": "carol", "password": "Wonderland1"}, "domain_id": DOMAIN}
        call("/identity/v2/token/issue", sign_in, None, 401, "ERROR_MFA_REQUIRED")
        issued = call("/identity/v2/token/issue", dict(sign_in, verify_code=app.code(), auth_type="MFA"))
        token = issued["access_token"]
        call("/identity/v2/user/disable-mfa", user, token)
        disabled = call("/identity/v2/user/confirm-mfa", dict(user, verify_code=app.code()), token)
        if disabled["mfa"] != {"state": "DISABLED"}:
            fail(f"confirm-mfa (disable): {disabled['mfa']}")
        print("ok   sam local start-api: OTP enrolled, signed in with and disabled by pyotp's codes "
              "(the secret sealed by KMS on moto)")

    def event(self, name, caller=None):
        event = json.loads((ROOT / "events" / f"{name}.json").read_text())
        self.used_events.add(name)
        if caller:
            event["headers"]["authorization"] = f"Bearer {self.token(caller)}"
        return event

    def expect_200(self, binary, event, expected, answer_has_tokens=False):
        answer, logs = self.invoke(binary, event, answer_has_tokens)
        if answer.get("statusCode") != 200:
            fail(f"{binary}: {answer}\n{logs}")
        body = json.loads(answer.get("body") or "null")
        try:
            ok = expected(body)
        except (KeyError, TypeError, IndexError, ValueError):
            ok = False
        if not ok:
            fail(f"{binary} ({event.get('rawPath')}): unexpected body {body if not answer_has_tokens else '(tokens)'}")
        print(f"ok   sam local invoke {self.logical_ids[binary]:<28} 200 {event.get('rawPath')}")
        return body

    def everything_was_invoked(self):
        """Every function of the template, and every file in events/, took part: a function
        added without its event (or an event nobody sends) fails here."""
        invoked = {binary for binary, _ in self.invocations}
        if invoked != set(self.logical_ids):
            fail(f"functions never invoked through sam local: {sorted(set(self.logical_ids) - invoked)}")
        events = {path.stem for path in (ROOT / "events").glob("*.json")}
        if events != self.used_events:
            fail(f"events/ files no check sends: {sorted(events - self.used_events)}")


    def start_api(self):
        """`sam local start-api`: the HTTP API as template.yaml routes it, through SAM's own
        API Gateway emulation, with a slice of the HTTP suite: create, get, update, list with
        a query, the sign-in, and an error answer for each status a client meets."""
        port = free_port()
        log = open(self.work / "start-api.log", "w")
        server = subprocess.Popen(
            ["sam", "local", "start-api", "--template", str(self.template), "--host", "127.0.0.1",
             "--port", str(port), "--skip-pull-image", "--warm-containers", "LAZY",
             "--parameter-overrides", f"Architecture={self.arch} MailFrom={SENDER}"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        started = time.monotonic()
        try:
            api = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while not port_open(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    fail(f"sam local start-api did not listen:\n{(self.work / 'start-api.log').read_text()}")
                time.sleep(0.5)
            admin = self.token("admin")
            calls = 0

            def call(path, body, token=None, status=200, code=None):
                nonlocal calls
                calls += 1
                request = urllib.request.Request(f"{api}{path}", data=json.dumps(body).encode(), method="POST",
                                                 headers={"Content-Type": "application/json"})
                if token:
                    request.add_header("Authorization", f"Bearer {token}")
                try:
                    with urllib.request.urlopen(request, timeout=120) as answer:
                        got, text = answer.status, answer.read().decode()
                except urllib.error.HTTPError as error:
                    got, text = error.code, error.read().decode()
                answer = json.loads(text) if text else None
                if got != status or (code and answer["detail"]["code"] != code):
                    fail(f"start-api {path}: expected {status} {code or ''}, got {got}: {text}")
                return answer

            user = {"auth_type": "LOCAL", "permission_group": "DOMAIN", "domain_id": DOMAIN}
            created = call("/identity/v2/user/create",
                           dict(user, user_id="carol", password="Wonderland1", name="Carol", tags={"team": "core"}),
                           admin)
            assert created["user_id"] == "carol" and "password" not in created, created
            call("/identity/v2/user/create", dict(user, user_id="dave", password="Wonderland1"), admin)
            assert call("/identity/v2/user/get", {"user_id": "carol", "domain_id": DOMAIN}, admin)["name"] == "Carol"
            updated = call("/identity/v2/user/update", {"user_id": "carol", "domain_id": DOMAIN, "name": "Carol K"},
                           admin)
            assert updated["name"] == "Carol K", updated
            listed = call("/identity/v2/user/list",
                          {"domain_id": DOMAIN, "query": {"filter": [{"k": "tags.team", "v": "core", "o": "eq"}]}},
                          admin)
            assert [u["user_id"] for u in listed["results"]] == ["carol"], listed
            issued = call("/identity/v2/token/issue",
                          {"credentials": {"user_id": "carol", "password": "Wonderland1"}, "domain_id": DOMAIN})
            carol = issued["access_token"]
            assert call("/identity/v2/user/get", {"user_id": "carol", "domain_id": DOMAIN}, carol)["user_id"] == "carol"
            # An error for each status a client meets, with the SPEC's code.
            call("/identity/v2/user/get", {"domain_id": DOMAIN}, admin, 400, "ERROR_REQUIRED_PARAMETER")
            call("/identity/v2/user/get", {"user_id": "carol", "domain_id": DOMAIN}, None, 401,
                 "ERROR_AUTHENTICATE_FAILURE")
            call("/identity/v2/user/get", {"user_id": "dave", "domain_id": DOMAIN}, carol, 403,
                 "ERROR_PERMISSION_DENIED")
            call("/identity/v2/user/get", {"user_id": "nobody", "domain_id": DOMAIN}, admin, 404, "ERROR_NOT_FOUND")
            call("/identity/v2/user/create", dict(user, user_id="carol", password="Wonderland1"), admin, 409,
                 "ERROR_NOT_UNIQUE")
            call("/identity/v2/token/issue",
                 {"credentials": {"user_id": "carol", "password": "Wrong-guess1"}, "domain_id": DOMAIN}, None, 401,
                 "ERROR_AUTHENTICATE_FAILURE")
            self.authenticator(call, carol)
            calls += self.console_on_the_api(api)
            call("/identity/v2/user/create",
                 dict(user, user_id="eve", password="Wonderland1", role_id="managed-domain-admin"), admin)
            self.console_in_the_browser(api, "eve", "Wonderland1")
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
        logs = (self.work / "start-api.log").read_text()
        refuse_secrets(logs, "sam local start-api: the logs (target/sam-local/start-api.log)")
        print(f"ok   sam local start-api: {calls} calls answered as expected in {time.monotonic() - started:.0f} s")

    def console_in_the_browser(self, api, admin_id, password):
        """The console in chromium (Playwright, from the test command's clients venv) through
        these functions: scripts/clients/console_browser.py --api; its screenshots go to
        target/sam-local/console-screenshots/."""
        python = ROOT / "target" / "tools" / "clients-venv" / "bin" / "python"
        if not python.exists() or not Path("/usr/bin/chromium").exists():
            fail(f"the console's browser test needs {python} and /usr/bin/chromium: run ./scripts/test.sh once")
        run = subprocess.run([str(python), str(ROOT / "scripts" / "clients" / "console_browser.py"), "--api", api,
                              admin_id, password, str(self.work / "console-screenshots")],
                             capture_output=True, text=True)
        if run.returncode != 0:
            fail(f"the console in chromium through start-api:\n{run.stdout}\n{run.stderr}")
        print(run.stdout.strip())

    @staticmethod
    def console_on_the_api(api):
        """The console on the API's own origin, as a browser loads it: the page, its script
        (immutable, from the page's own link) and the API document. Returns the requests made."""
        status, headers, page = fetch(f"{api}/console")
        if status != 200 or not headers.get("content-type", "").startswith("text/html") \
                or "frame-ancestors 'none'" not in headers.get("content-security-policy", ""):
            fail(f"start-api /console: {status} {headers}")
        script = re.search(r'src="(/console/assets/[^"]+\.js)"', page.decode())
        if not script:
            fail(f"start-api /console: no script in the page: {page[:300]}")
        status, headers, body = fetch(f"{api}{script.group(1)}")
        if status != 200 or headers.get("cache-control") != "public, max-age=31536000, immutable" or not body:
            fail(f"start-api {script.group(1)}: {status} {headers}")
        status, headers, body = fetch(f"{api}/console/favicon.svg")
        if status != 200 or not headers.get("content-type", "").startswith("image/svg+xml") or b"<svg" not in body:
            fail(f"start-api /console/favicon.svg: {status} {headers}")
        status, headers, body = fetch(f"{api}/openapi.json")
        if status != 200 or "/identity/v2/user/list" not in json.loads(body)["paths"]:
            fail(f"start-api /openapi.json: {status} {headers}")
        status, _, _ = fetch(f"{api}/console/nothing-here.js")
        if status != 404:
            fail(f"start-api /console/nothing-here.js: {status}, not 404")
        print("ok   sam local start-api: the console's page, script and icon, and the API document, on the API's origin")
        return 5


def fetch(url):
    """GET `url`: (status, headers with lowercase names, body as bytes)."""
    try:
        with urllib.request.urlopen(url, timeout=120) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def refuse_secrets(text, where):
    """Fails if `text` holds a token, a password hash or the password (`where` says whose)."""
    for pattern in SECRETS:
        if pattern.search(text):
            fail(f"a secret ({pattern.pattern}) in {where}")


def fail(message):
    print(f"FAIL {message}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
