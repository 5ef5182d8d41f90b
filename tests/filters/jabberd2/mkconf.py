#!/usr/bin/python3
"""Write temporary jabberd2 configs for the fixture capture.

Copies the Debian 12 configs from /etc/jabberd2 into DIR, pointing every
path (pid files, logs, sqlite databases, router users and filter) under
DIR, the router on 127.0.0.1, the domain example.org with registration
enabled (and STARTTLS offered if DIR/server.pem exists), the c2s listener
on C2S_IP, low limits and an idle check.  Comments are dropped.

usage: mkconf.py DIR C2S_IP C2S_LOGNAME [LOGTYPE]
"""
import os
import shutil
import sys
import xml.etree.ElementTree as ET

SRC = "/etc/jabberd2"
DOMAIN = "example.org"


def sub(parent, path, text):
    el = parent.find(path)
    if el is None:
        el = parent
        for part in path.split("/"):
            nxt = el.find(part)
            el = nxt if nxt is not None else ET.SubElement(el, part)
    el.text = text
    return el


def log(root, d, name, logtype):
    el = root.find("log")
    el.set("type", logtype)
    sub(el, "file", os.path.join(d, name))
    sub(el, "ident", "jabberd/" + root.find("id").text)


def main():
    d, c2s_ip, c2s_log = sys.argv[1:4]
    logtype = sys.argv[4] if len(sys.argv) > 4 else "file"
    db = os.path.join(d, "sqlite.db")
    for f in ("router-users.xml", "router-filter.xml"):
        shutil.copy(os.path.join(SRC, f), os.path.join(d, f))

    t = ET.parse(os.path.join(SRC, "router.xml"))
    r = t.getroot()
    sub(r, "pidfile", os.path.join(d, "router.pid"))
    log(r, d, "router.log", "file")
    sub(r, "local/ip", "127.0.0.1")
    sub(r, "local/users", os.path.join(d, "router-users.xml"))
    sub(r, "aci/filter", os.path.join(d, "router-filter.xml"))
    t.write(os.path.join(d, "router.xml"))

    t = ET.parse(os.path.join(SRC, "sm.xml"))
    r = t.getroot()
    sub(r, "pidfile", os.path.join(d, "sm.pid"))
    log(r, d, "sm.log", "file")
    for el in r.find("local").findall("id"):
        r.find("local").remove(el)
    sub(r, "local/id", DOMAIN)
    sub(r, "storage/sqlite/dbname", db)
    t.write(os.path.join(d, "sm.xml"))

    t = ET.parse(os.path.join(SRC, "c2s.xml"))
    r = t.getroot()
    sub(r, "pidfile", os.path.join(d, "c2s.pid"))
    log(r, d, c2s_log, logtype)
    loc = r.find("local")
    for el in loc.findall("id"):
        loc.remove(el)
    idel = ET.SubElement(loc, "id")
    idel.text = DOMAIN
    idel.set("register-enable", "true")
    pem = os.path.join(d, "server.pem")
    if os.path.exists(pem):
        # STARTTLS offered, not required
        idel.set("pemfile", pem)
    sub(loc, "ip", c2s_ip)
    sub(loc, "port", "5222")
    lim = r.find("io/limits")
    # low limits, so c2s writes its own rate-limit lines
    b = sub(lim, "bytes", "25000")
    b.set("seconds", "1")
    b.set("throttle", "3")
    s = sub(lim, "stanzas", "10")
    s.set("seconds", "1")
    s.set("throttle", "3")
    c = sub(lim, "connects", "8")
    c.set("seconds", "5")
    c.set("throttle", "5")
    sub(lim, "stanzasize", "16384")
    # drop idle connections, so byte-limited ones do not linger forever
    sub(r, "io/check/interval", "5")
    sub(r, "io/check/idle", "15")
    sub(r, "authreg/sqlite/dbname", db)
    t.write(os.path.join(d, "c2s.xml"))


if __name__ == "__main__":
    main()
