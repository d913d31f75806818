"""An authenticator app no one here wrote: pyotp, reading the `otp_qrcode_uri` the API answered
(SPEC section 10). Used by real_clients.py (against users-local) and sam_local.py (through the
Lambda functions)."""

import time

import pyotp


class Authenticator:
    """Each code it gives is of a step above the last one it gave (the API accepts no step
    twice) and within one step of now (the API's window), never one about to leave that
    window; when none is left it waits for the next step."""

    def __init__(self, uri):
        self.totp = pyotp.parse_uri(uri)
        self.last = None

    @property
    def secret(self):
        return self.totp.secret

    def code(self):
        while True:
            now = time.time()
            current = int(now) // self.totp.interval
            # The step before now is accepted until the current step ends; it is given only
            # while 10 s of that are left, so a slow path to the server (a Lambda function
            # under sam local) cannot make it too old on the way.
            left = (current + 1) * self.totp.interval - now
            lowest = current - 1 if left >= 10 else current
            step = lowest if self.last is None else max(lowest, self.last + 1)
            if step <= current + 1:
                self.last = step
                return self.totp.at(step * self.totp.interval)
            time.sleep(1)
