"""Calling `users-local serve` from Python: a POST with a JSON body, and the code of the last
mail its outbox holds for an address. Used by real_clients.py and schemathesis_hooks.py."""

import json
import os
import re
import urllib.error
import urllib.request


def post(base, path, body, token):
    """POSTs `body` as JSON, with `token` as the bearer if given: (status, parsed answer)."""
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def mails_to(data_dir, to):
    """Every mail in the server's outbox to `to`, oldest first."""
    outbox = os.path.join(data_dir, "outbox")
    mails = []
    for name in sorted(os.listdir(outbox)):
        if name.endswith(".json"):
            with open(os.path.join(outbox, name)) as f:
                mail = json.load(f)
            if to in mail["to"]:
                mails.append(mail)
    return mails


def temporary_password(data_dir, to):
    """The 12-character temporary password of the newest mail to `to`, or None."""
    mails = mails_to(data_dir, to)
    if not mails:
        return None
    return next((w for w in re.findall(r"[A-Za-z0-9]+", mails[-1]["text"]) if len(w) == 12), None)


def last_code(data_dir, to):
    """The six-digit code of the newest mail to `to` in the server's outbox, or None."""
    outbox = os.path.join(data_dir, "outbox")
    for name in sorted(os.listdir(outbox), reverse=True):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(outbox, name)) as f:
            mail = json.load(f)
        if to in mail["to"]:
            return next((r for r in re.split(r"\D+", mail["text"]) if len(r) == 6), None)
    return None
