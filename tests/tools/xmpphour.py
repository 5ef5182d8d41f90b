"""Line shapes shared by the scenario generators of the replay tests
(tests/fixtures/forgery/make.py, tests/tools/gen-hour.py,
tests/fixtures/replay-caps/gen.py, tests/system/52-surge.sh): what
`conntrack -E -o timestamp,extended,id` prints for a TCP flow, and the
time stamps and addresses of ejabberd 23.01's log.  Pure functions: the
generators keep their own random state, so their output is theirs.
"""
import time

SERVER4 = "192.0.2.1"
SERVER6 = "2001:db8::1"


def stamp(t):
    """ejabberd's time stamp: local time (UTC here) with its offset."""
    s, frac = divmod(t, 1000000)
    y, mo, d, h, mi, se = time.gmtime(s)[:6]
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d+00:00" % (y, mo, d, h, mi,
                                                         se, frac)


def v6(addr):
    return ":" in addr


def logaddr(addr):
    """An address as the dual-stack listener writes it."""
    return addr if v6(addr) else "::ffff:" + addr


def flow(addr, sport, port):
    """A flow's family and protocol head, original and reply tuples."""
    srv = SERVER6 if v6(addr) else SERVER4
    fam = "ipv6     10" if v6(addr) else "ipv4     2"
    return (fam + " tcp      6",
            "src=%s dst=%s sport=%d dport=%d" % (addr, srv, sport, port),
            "src=%s dst=%s sport=%d dport=%d" % (srv, addr, port, sport))


def accepted(addr, sport, port):
    """The two ends as ejabberd's "Accepted connection" writes them."""
    if v6(addr):
        return "[%s]:%d -> [%s]:%d" % (addr, sport, SERVER6, port)
    return "[::ffff:%s]:%d -> [::ffff:%s]:%d" % (addr, sport, SERVER4, port)


def ct_line(t, kind, head, rest, ident):
    """A conntrack event at t (us): kind "    [NEW]", " [UPDATE]"..."""
    return "[%d.%06d]\t%s %s %s id=%d" % (t // 1000000, t % 1000000, kind,
                                         head, rest, ident)


def destroy_line(end, head, orig, reply, sent, recv, start, ident):
    """The flow's DESTROY at end, its counters those of sent and recv
    bytes, begun at start."""
    return ("[%d.%06d]\t[DESTROY] %s TIME_WAIT %s packets=%d bytes=%d %s "
            "packets=%d bytes=%d [ASSURED] delta-time=%d id=%d" % (
                end // 1000000, end % 1000000, head, orig,
                6 + sent // 600, sent, reply, 4 + recv // 900, recv,
                (end - start) // 1000000, ident))


def held_flow(addr, sport, port, t, end, sent, recv, ident):
    """A flow whose handshake begins at t (us), held until its DESTROY at
    end with sent and recv bytes: its conntrack events as (time, line)."""
    head, o, r = flow(addr, sport, port)
    return [(t, ct_line(t, "    [NEW]", head,
                        "120 SYN_SENT %s [UNREPLIED] %s" % (o, r), ident)),
            (t + 40, ct_line(t + 40, " [UPDATE]", head,
                             "60 SYN_RECV %s %s" % (o, r), ident)),
            (t + 85, ct_line(t + 85, " [UPDATE]", head,
                             "432000 ESTABLISHED %s %s [ASSURED]" % (o, r),
                             ident)),
            (end, destroy_line(end, head, o, r, sent, recv, t, ident))]


# A flow's state changes as the client closes: (us after its FIN, kind,
# the rest of the line around the two tuples); then, after TIME_WAIT,
# its DESTROY (destroy_line).
CLOSING = ((0, " [UPDATE]", "120 FIN_WAIT %s %s [ASSURED]"),
           (210, " [UPDATE]", "30 LAST_ACK %s %s [ASSURED]"),
           (260, " [UPDATE]", "120 TIME_WAIT %s %s [ASSURED]"))
