#!/usr/bin/python3
"""A stand-in for the syslog daemon, for capture.sh's syslog phase.

usage: syslogrecv.py SOCKET RSYSLOG_OUT JOURNAL_OUT

Serves the datagram socket that c2s sees as /dev/log and writes each real
syslog(3) message the way the two Debian 12 loggers show it, with host
name "xmpp":
  RSYSLOG_OUT  rsyslog 8.2302's default RSYSLOG_FileFormat (Debian 12
               changed the default from the traditional format):
               "2026-11-29T04:00:00.123456+00:00 xmpp jabberd/c2s[PID]: MSG",
               the time of reception, control characters escaped as "#012"
               ($EscapeControlCharactersOnReceive, on by default)
  JOURNAL_OUT  journalctl -o short, which is also rsyslog's
               RSYSLOG_TraditionalFileFormat: "Nov 29 04:00:00 xmpp
               jabberd/c2s[PID]: MSG", the time glibc put in the message,
               further lines of a message indented as journalctl does
Exits after 300 s without a message.
"""
import datetime
import os
import re
import socket
import sys


def main():
    path, out1, out2 = sys.argv[1:4]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.settimeout(300)
    with open(out1, "a") as f1, open(out2, "a") as f2:
        while True:
            try:
                m = s.recv(65536).decode(errors="replace")
            except socket.timeout:
                break
            now = datetime.datetime.now().astimezone()
            # glibc sends "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG"
            m = re.sub(r"^<\d+>", "", m).rstrip("\n\0")
            stamp, rest = m[:15], m[16:]
            esc = re.sub(r"[\x00-\x1f]",
                         lambda c: "#%03o" % ord(c.group()), rest)
            f1.write(now.isoformat(timespec="microseconds") + " xmpp " +
                     esc + "\n")
            head = stamp + " xmpp "
            tag = rest[:rest.index(": ") + 2] if ": " in rest else ""
            f2.write(head + rest.replace("\n", "\n" + " " *
                                         (len(head) + len(tag))) + "\n")
            f1.flush()
            f2.flush()


if __name__ == "__main__":
    main()
