"""A real SMTP server for Portico's tests (aiosmtpd), run as
`python3 smtp_server.py PORT FOLDER`.

Each message it accepts is written to FOLDER as `NNNNNN.eml` (the bytes as
received, in order), and every command's outcome is appended to
FOLDER/log.txt. Recipients steer it as real servers answer:
- `busy…@` : 421 (try again later) the first two times, then accepted;
- `reject…@`: 550 (no such mailbox), always.
It offers no STARTTLS, like a plain relay.
"""

import os
import sys
import time

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        self.busy = {}

    def log(self, line):
        with open(os.path.join(self.folder, "log.txt"), "a") as log:
            log.write(line + "\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            self.log(f"550 {address}")
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("busy"):
            seen = self.busy.get(address, 0)
            self.busy[address] = seen + 1
            if seen < 2:
                self.log(f"421 {address}")
                return "421 4.3.2 Service not available, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.folder, "%06d.eml" % self.count)
        partial = name + ".part"
        with open(partial, "wb") as out:
            out.write(envelope.original_content or envelope.content)
        os.rename(partial, name)
        self.log(f"250 {' '.join(envelope.rcpt_tos)}")
        return "250 Message accepted for delivery"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Handler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
