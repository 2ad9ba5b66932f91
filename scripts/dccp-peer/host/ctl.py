#!/usr/bin/env python3
"""Run one shell command in the DCCP peer guest through its TCP control port.

    ctl.py [--host 10.77.0.2] [--port 7000] [--timeout 60] -- 'CMD'

Must run inside the peer's network namespace (peer.sh ctl does that). Prints
the command's stdout+stderr as it arrives and exits with the command's exit
status: the request is sent as "#rc CMD" and the guest appends
"\\0EXIT <status>\\n" when the shell has exited (see kpeer.c control_session).
Exit 124 when the timeout expires, 125 when the guest cannot be reached or the
connection ends without a status.
"""
import argparse
import socket
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="10.77.0.2")
    ap.add_argument("--port", type=int, default=7000)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("command")
    a = ap.parse_args()
    if "\n" in a.command:
        print("ctl: the command must be a single line", file=sys.stderr)
        return 125
    deadline = time.monotonic() + a.timeout
    try:
        s = socket.create_connection((a.host, a.port), timeout=min(a.timeout, 10.0))
    except OSError as e:
        print(f"ctl: cannot connect to {a.host}:{a.port}: {e}", file=sys.stderr)
        return 125
    s.sendall(b"#rc " + a.command.encode() + b"\n")
    out = sys.stdout.buffer
    pending = b""  # held back while it might be the start of the trailer
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            out.write(pending)
            out.flush()
            print(f"ctl: timed out after {a.timeout:g}s: {a.command}", file=sys.stderr)
            return 124
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except OSError as e:
            print(f"ctl: {e}", file=sys.stderr)
            return 125
        if not chunk:
            out.write(pending)
            out.flush()
            print("ctl: connection closed without an exit status", file=sys.stderr)
            return 125
        pending += chunk
        nul = pending.find(b"\0EXIT ")
        end = pending.find(b"\n", nul) if nul >= 0 else -1
        if end >= 0:
            # bytes after the trailer come from background jobs that still
            # hold the socket; pass on what is already here and stop reading
            out.write(pending[:nul] + pending[end + 1:])
            out.flush()
            try:
                return int(pending[nul + 6:end])
            except ValueError:
                return 125
        if nul < 0:
            # keep a possible partial trailer ("\0", "\0EX", ...) for the next round
            keep = pending.rfind(b"\0")
            if keep >= 0 and b"\0EXIT ".startswith(pending[keep:]):
                out.write(pending[:keep])
                pending = pending[keep:]
            else:
                out.write(pending)
                pending = b""
            out.flush()


if __name__ == "__main__":
    sys.exit(main())
