"""An authenticator app no one here wrote: pyotp, reading the `otp_qrcode_uri` the API answered
(SPEC section 10). Used by real_clients.py (against users-local) and sam_local.py (through the
Lambda functions)."""

import time

import pyotp


class Authenticator:
    """Each code it gives is of a step above the last one it gave (the API accepts no step
    twice) and within one step of now (the API's window); when none is left it waits for the
    next step."""

    def __init__(self, uri):
        self.totp = pyotp.parse_uri(uri)
        self.last = None

    @property
    def secret(self):
        return self.totp.secret

    def code(self):
        while True:
            current = int(time.time()) // self.totp.interval
            step = current - 1 if self.last is None else max(current - 1, self.last + 1)
            if step <= current + 1:
                self.last = step
                return self.totp.at(step * self.totp.interval)
            time.sleep(1)
