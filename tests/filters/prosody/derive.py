#!/usr/bin/env python3
"""Rewrites info.log (captured from Prosody 0.12.3's file sink) in the two
other shapes Prosody 0.12.3's core/loggingmanager.lua gives the same
messages when its log goes to the journal, byte for byte as that code
builds them:

  info-stdout.log  the stdout sink (log = { info = "*stdout" } under a
                   systemd unit): no time, the source padded with spaces
                   to a width that starts at 20 and grows to the longest
                   source + 2, the level, a tab, the message;
  info-syslog.log  the syslog sink (log = { info = "*syslog" }): what
                   pposix.syslog_log passes to syslog(3), "source: message"
                   (the journal keeps it as MESSAGE, the time apart).

The events are the same as info.log's, line for line: the .expect files
are info.expect with this header.  Run from this directory:
    python3 derive.py
"""
import re

line_re = re.compile(r'^\w{3} \d\d \d\d:\d\d:\d\d (\S+)\t(\w+)\t(.*)$')
width = 20
with open('info.log', encoding='utf-8', errors='surrogateescape') as f, \
        open('info-stdout.log', 'w', encoding='utf-8',
             errors='surrogateescape') as so, \
        open('info-syslog.log', 'w', encoding='utf-8',
             errors='surrogateescape') as sl:
    for raw in f:
        m = line_re.match(raw.rstrip('\n'))
        if m is None:   # a continuation line: written as it is
            so.write(raw)
            sl.write(raw)
            continue
        name, level, msg = m.groups()
        width = max(len(name) + 2, width)
        so.write('%s%s%s\t%s\n' % (name, ' ' * (width - len(name)), level,
                                   msg))
        sl.write('%s: %s\n' % (name, msg))
for shape in ('stdout', 'syslog'):
    with open('info.expect') as f:
        body = [l for l in f if not l.startswith('#')]
    with open('info-%s.expect' % shape, 'w') as f:
        f.write('# info-%s.log: info.log rewritten by derive.py in the shape '
                'of Prosody\'s\n# %s sink (for a log read from the journal); '
                'the same events.\n' % (shape, shape))
        f.writelines(body)
