#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) for the SMTP client tests.

Each message it accepts is saved in --mailbox as NNNN.eml (the message as received,
dot-stuffing undone) with a NNNN.json sidecar: the envelope (mail_from, rcpt_tos), the
login used, whether the session was TLS, and the Subject and body as Python's own email
parser decodes them, so the tests check our encoding against an independent reader.

    smtp_server.py --port 0 --cert c.pem --key k.pem --require-starttls \
        --auth-user u --auth-password p --mailbox DIR

prints "READY <port>" on stdout once it listens (--port 0 picks a free port, so the
caller never races another process for it) and runs until SIGTERM, SIGINT or stdin closes.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import sys

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:
    print("aiosmtpd is missing: run scripts/install-deps --test", file=sys.stderr)
    sys.exit(3)


class Mailbox:
    """The aiosmtpd handler: accept every message and save it with its envelope."""

    def __init__(self, folder, reject_rcpt=None):
        self.folder = folder
        self.count = 0
        self.reject_rcpt = reject_rcpt

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_rcpt and address == self.reject_rcpt:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.folder:
            self.count += 1
            stem = os.path.join(self.folder, "%04d" % self.count)
            content = envelope.content
            login = getattr(session.auth_data, "login", None)
            parsed = email.message_from_bytes(content, policy=email.policy.default)
            sidecar = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "login": login.decode() if login else None,
                "tls": server.transport.get_extra_info("ssl_object") is not None,
                "subject": str(parsed["subject"]) if parsed["subject"] is not None else None,
                "body": parsed.get_content() if not parsed.is_multipart() else None,
                "defects": [type(d).__name__ for d in parsed.defects],
            }
            with open(stem + ".eml", "wb") as f:
                f.write(content)
            # The sidecar last and by rename: a test that sees it can read both files.
            with open(stem + ".json.tmp", "w") as f:
                json.dump(sidecar, f)
            os.rename(stem + ".json.tmp", stem + ".json")
        return "250 2.0.0 Message accepted for delivery"


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode() and auth_data.password == password.encode())
        # A failed AuthResult without a message makes aiosmtpd answer
        # "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
    return authenticate


def tls_context(args):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    return context


async def serve(args):
    handler = Mailbox(args.mailbox, args.reject_rcpt)
    context = tls_context(args) if not args.plain else None
    smtp_options = {"hostname": "lookout-test-smtp", "enable_SMTPUTF8": True}
    if args.auth_user is not None:
        smtp_options.update(
            authenticator=make_authenticator(args.auth_user, args.auth_password or ""),
            auth_required=True,
            # With implicit TLS the whole session is encrypted, but aiosmtpd only counts
            # STARTTLS as TLS; requiring it there would refuse every AUTH.
            auth_require_tls=not args.implicit_tls and not args.plain,
            auth_exclude_mechanism=["PLAIN"] if args.login_only else [],
        )
    if context is not None and not args.implicit_tls:
        smtp_options.update(tls_context=context, require_starttls=args.require_starttls)

    def factory():
        return SMTP(handler, **smtp_options)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, host=args.host, port=args.port, ssl=context if args.implicit_tls else None)
    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Stop when the parent goes away without signalling (its end of our stdin closes), so
    # no server outlives a test run. Not possible when stdin is a regular file.
    try:
        loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 4096) else None)
    except (OSError, ValueError):
        pass
    await stop.wait()
    server.close()
    await server.wait_closed()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed after READY)")
    parser.add_argument("--cert", help="PEM certificate for STARTTLS or implicit TLS")
    parser.add_argument("--key", help="PEM private key of --cert")
    parser.add_argument("--require-starttls", action="store_true", help="refuse commands before STARTTLS")
    parser.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte (port 465 style)")
    parser.add_argument("--plain", action="store_true", help="no TLS at all (no STARTTLS offered)")
    parser.add_argument("--auth-user", help="require AUTH with this user ...")
    parser.add_argument("--auth-password", help="... and this password (else 535)")
    parser.add_argument("--login-only", action="store_true", help="offer AUTH LOGIN but not PLAIN")
    parser.add_argument("--mailbox", help="folder where received messages are saved")
    parser.add_argument("--reject-rcpt", help="answer 550 to RCPT TO this address (a permanent refusal)")
    args = parser.parse_args()
    if not args.plain and not (args.cert and args.key):
        parser.error("--cert and --key are needed unless --plain")
    if args.plain and (args.implicit_tls or args.require_starttls):
        parser.error("--plain excludes --implicit-tls and --require-starttls")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
