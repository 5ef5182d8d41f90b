/*
 * The configuration's tables: the section kinds, the value types, every
 * directive (section, name, type, bounds, default, field, help) and the
 * values in which the built-in services differ from the defaults.
 * conf.c reads and checks a file by them, conf_print.c prints the
 * configuration, the Markdown reference and xmppguard.conf(5) from them,
 * so adding a key is adding a row here (and its field in struct conf).
 *
 * Invariants, checked at compile time where the compiler can: rows of a
 * kind are together, in the order they are printed; each default is
 * accepted by the row's own parser and bounds (conf_load() is fatal
 * otherwise); the name lists follow their enums; there are at most
 * CONF_DIRECTIVES_MAX rows.
 */
#include <sys/types.h>
#include <sys/un.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "conf.h"
#include "conf_int.h"
#include "log.h"

const struct conf_kind_info conf_kinds[] = {
	{ "global", 0, "Settings of the daemon as a whole." },
	{ "store", 0, "The SQLite database of events and bans." },
	{ "conntrack", 0, "The kernel's connection tracking: every TCP "
	    "connection to a service's ports, with its byte counters." },
	{ "track", 0, "Per-address state in memory, and how addresses are "
	    "grouped into networks." },
	{ "service", 1, "A group of local TCP ports with its own limits per "
	    "client address.  The services c2s, s2s and http always exist "
	    "(see the table below); a section naming one of them changes only "
	    "the keys it sets, any other name adds a service, whose ports "
	    "must be given." },
	{ "log", 1, "A server log file to follow: failed logins and "
	    "registrations." },
	{ "auth", 0, "Limits on what the server logs say per client address: "
	    "failed logins (counted once per connection, however many SASL "
	    "mechanisms it tried) and registrations; and the shape of an "
	    "authentication backend outage, when every login fails from "
	    "everywhere at once and auth bans are held instead." },
	{ "ban", 0, "What a verdict does: how long a ban lasts, how it grows "
	    "for repeat offenders, what it covers, and the settings of the "
	    "firewall backends." },
	{ "override", 1, "Other limits for known networks, such as a company "
	    "NAT carrying many real users on one address." },
	{ "allow", 0, "Addresses that are never banned." },
	{ "alert", 1, "An ops chat or a webhook told about bans, escalations, "
	    "overruns, authentication outages, start and stop (at most 16 "
	    "sections).  Each event has a severity: ban, unban, expire and "
	    "start are info; escalation, overrun and stop warning; "
	    "auth-outage critical.  During a storm the bans of each digest "
	    "interval beyond the first digest_after are summed up in one "
	    "message.  Messages go out on the daemon's loop: a slow or dead "
	    "endpoint never delays a ban." },
	{ "metrics", 0, "Counters in the Prometheus text format, for a "
	    "node_exporter textfile collector, an HTTP endpoint, or both.  "
	    "The names are listed in xmppguard(8), METRICS." },
	{ "cluster", 0, "Bans shared by several nodes through a CrowdSec "
	    "Local API (LAPI): this node pushes its bans there as alerts "
	    "(as a machine) and pulls the decision stream (as a bouncer), "
	    "so a ban on one node holds on all within about pull_interval.  "
	    "Each node needs its own machine and its own bouncer key.  "
	    "Pulled decisions pass the same never-a-weapon checks as a "
	    "manual ban.  See xmppguard(8), CLUSTER." },
};
const size_t conf_nkinds = nitems(conf_kinds);
_Static_assert(nitems(conf_kinds) == CONF_K_COUNT,
    "a row of conf_kinds[] per enum conf_kind");

const char *const conf_type_names[] = {
	"boolean", "integer", "duration", "size", "rate", "karma", "string",
	"path", "choice", "ports", "networks"
};

/* In the order of enum conf_firewall and enum log_level. */
static const char *const conf_firewall_names[] = {
	"nftables", "ipset", "iptables", "command", "webhook", "none", NULL
};
static const char *const conf_karma_action_names[] = {
	"ban", "throttle", NULL
};
static const char *const conf_alert_type_names[] = {
	"slack", "mattermost", "rocketchat", "matrix", "discord", "json",
	"xmpp", NULL
};
/* In the order of enum conf_alert_tls. */
static const char *const conf_alert_tls_names[] = {
	"required", "direct", NULL
};
static const char *const conf_log_format_names[] = {
	"plain", "docker-json", NULL
};
static const char *const conf_log_level_names[] = {
	"error", "warning", "info", "debug", NULL
};
/* In the order of enum conf_logs. */
static const char *const conf_logs_names[] = {
	"auto", "none", NULL
};

#define G(f)	offsetof(struct conf, f)
#define S(f)	offsetof(struct conf_service, f)
#define L(f)	offsetof(struct conf_log, f)
#define O(f)	offsetof(struct conf_override, f)
#define A(f)	offsetof(struct conf_alert, f)
#define DAYS(n)	((int64_t)(n) * 86400 * CLOCK_US_PER_SEC)
#define SUN_MAX	((int64_t)sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

const struct conf_directive conf_directives[] = {
	{ CONF_K_GLOBAL, "state_dir", CONF_T_PATH, 0, 0, 160, NULL,
	  "/var/lib/xmppguard", G(state_dir), 0,
	  "Directory of the store, the pid file and the lock." },
	{ CONF_K_GLOBAL, "control_socket", CONF_T_PATH, 0, 0, SUN_MAX, NULL,
	  "/run/xmppguard/xmppguard.sock", G(control_socket), 0,
	  "Unix socket for status, ban, unban and reload." },
	{ CONF_K_GLOBAL, "user", CONF_T_STRING, CONF_F_EMPTY, 0, 32,
	  NULL, "", G(user), 0,
	  "Run as this user once started (privilege separation: a helper "
	  "keeps CAP_NET_ADMIN for the firewall and conntrack requests); "
	  "empty: stay root.  The logs must be readable by it." },
	{ CONF_K_GLOBAL, "control_mode", CONF_T_STRING, 0, 1, 4, NULL,
	  "0660", G(control_mode), 0,
	  "Mode of the control socket, in octal (at most 0666)." },
	{ CONF_K_GLOBAL, "control_group", CONF_T_STRING, CONF_F_EMPTY, 0, 32,
	  NULL, "", G(control_group), 0,
	  "Group that owns the control socket: its members may ask status "
	  "and bans (ban, unban and reload stay root's)." },
	{ CONF_K_GLOBAL, "firewall", CONF_T_ENUM, 0, 0, 0,
	  conf_firewall_names, "nftables", G(firewall), 0,
	  "Backend that carries out bans." },
	{ CONF_K_GLOBAL, "dry_run", CONF_T_BOOL, 0, 0, 0, NULL,
	  "no", G(dry_run), 0,
	  "Decide and log bans but leave the firewall alone." },
	{ CONF_K_GLOBAL, "log_level", CONF_T_ENUM, 0, 0, 0,
	  conf_log_level_names, "info", G(log_level), 0,
	  "Most verbose messages logged." },
	{ CONF_K_GLOBAL, "logs", CONF_T_ENUM, 0, 0, 0, conf_logs_names,
	  "auto", G(logs_mode), 0,
	  "auto: besides the [log] sections, follow each server log found "
	  "where the server's package writes it (prosody "
	  "/var/log/prosody/prosody.log, ejabberd "
	  "/var/log/ejabberd/ejabberd.log, jabberd2 /var/log/jabberd2/c2s.log, "
	  "metronome /var/log/metronome/metronome.log, openfire "
	  "/var/log/openfire/openfire.log, mongooseim "
	  "/var/log/mongooseim/mongooseim.log), with the filter of the same "
	  "name, unless a [log] section follows that file or has that name; "
	  "none: the [log] sections only.  A known log left unread, or no "
	  "log at all, is warned about at start." },
	{ CONF_K_GLOBAL, "secrets", CONF_T_PATH, CONF_F_EMPTY, 0,
	  PATH_MAX - 1, NULL, "", G(secrets), 0,
	  "The secrets file, read last: the same syntax, for the directives "
	  "marked secret (tokens, webhook URLs, Authorization headers), "
	  "mode 0600 or 0400, owned by root or by the daemon's user (who "
	  "may then set secrets only there); the daemon refuses to start "
	  "otherwise.  Empty: the file secrets beside the main one, if it "
	  "exists." },

	{ CONF_K_STORE, "path", CONF_T_PATH, CONF_F_EMPTY, 0, PATH_MAX - 1,
	  NULL, "", G(db_path), 0,
	  "SQLite database; empty: STATE_DIR/" CONF_DB_NAME "." },
	{ CONF_K_STORE, "retention", CONF_T_DURATION, 0, 0, DAYS(7 * 520),
	  NULL, "30d", G(retention), 0,
	  "How long events are kept; 0 keeps everything." },
	{ CONF_K_STORE, "batch_max", CONF_T_UINT, 0, 1, 100000, NULL,
	  "1000", G(batch_max), 0,
	  "Most rows written in one transaction." },

	{ CONF_K_CONNTRACK, "enabled", CONF_T_BOOL, 0, 0, 0, NULL,
	  "yes", G(ct_enabled), 0,
	  "Watch conntrack (needs CAP_NET_ADMIN)." },
	{ CONF_K_CONNTRACK, "rcvbuf", CONF_T_SIZE, 0, 64 * 1024,
	  (int64_t)1 << 30, NULL, "64M", G(ct_rcvbuf), 0,
	  "Netlink receive buffer: each queued event takes about 1.3k, and "
	  "the kernel sends DESTROY events in bursts.  Memory is used only "
	  "while events wait." },
	{ CONF_K_CONNTRACK, "rcvbuf_max", CONF_T_SIZE, 0, 64 * 1024,
	  (int64_t)1 << 30, NULL, "256M", G(ct_rcvbuf_max), 0,
	  "The buffer doubles after each overrun, up to this." },
	{ CONF_K_CONNTRACK, "poll", CONF_T_DURATION, 0, CLOCK_US_PER_SEC / 10,
	  3600 * CLOCK_US_PER_SEC, NULL, "5s", G(ct_poll), 0,
	  "How often the byte counters of live connections are read, for "
	  "karma." },
	{ CONF_K_CONNTRACK, "flows_max", CONF_T_UINT, 0, 1024, 16777216, NULL,
	  "262144", G(ct_flows_max), 0,
	  "Connections followed at once; the oldest idle is dropped beyond." },
	{ CONF_K_CONNTRACK, "sysctl", CONF_T_BOOL, 0, 0, 0, NULL,
	  "yes", G(ct_sysctl), 0,
	  "Turn on net.netfilter.nf_conntrack_acct and _timestamp, and set "
	  "nf_conntrack_events to 1, at start." },

	{ CONF_K_TRACK, "capacity", CONF_T_UINT, 0, 16, 16777216, NULL,
	  "65536", G(track_capacity), 0,
	  "Addresses and networks held in memory; the least recently seen "
	  "is evicted beyond." },
	{ CONF_K_TRACK, "known_days", CONF_T_UINT, 0, 1, 3650, NULL,
	  "30", G(track_known_days), 0,
	  "An address with a successful login (or an authenticated s2s "
	  "peer) within this many days is known: surge mode never holds it "
	  "to surge_max_new." },
	{ CONF_K_TRACK, "prefix4", CONF_T_UINT, 0, 8, 32, NULL,
	  "24", G(track_prefix4), 0,
	  "IPv4 addresses are also counted together per network of this "
	  "length (the net_ limits)." },
	{ CONF_K_TRACK, "prefix6", CONF_T_UINT, 0, 16, 128, NULL,
	  "64", G(track_prefix6), 0,
	  "The same for IPv6 (a /64 is usually one host)." },
	{ CONF_K_TRACK, "short_lived", CONF_T_DURATION, 0, 0,
	  3600 * CLOCK_US_PER_SEC, NULL, "10s", G(short_lived), 0,
	  "Connections closed sooner count as short-lived in reports." },

	{ CONF_K_SERVICE, "ports", CONF_T_PORTS, CONF_F_NEWREQ, 1, 65535,
	  NULL, "none", S(ports), S(nports),
	  "Local TCP ports (up to 16, and 64 in all services together); "
	  "none disables the service." },
	{ CONF_K_SERVICE, "max_concurrent", CONF_T_UINT, 0, 0, 1000000, NULL,
	  "50", S(max_concurrent), 0,
	  "Live connections per address; 0: no limit." },
	{ CONF_K_SERVICE, "max_new", CONF_T_RATE, 0, 0, 1000000, NULL,
	  "120/1h", S(max_new), 0,
	  "Completed handshakes per address per window; none: no limit." },
	{ CONF_K_SERVICE, "karma", CONF_T_KARMA, 0, 0, 0, NULL,
	  "10k/s burst 256k", S(karma), 0,
	  "Bytes per address: refill rate and bucket size; off: no limit." },

	{ CONF_K_SERVICE, "net_max_concurrent", CONF_T_UINT, 0, 0, 10000000,
	  NULL, "200", S(net_max_concurrent), 0,
	  "Live connections per network (track prefix4/prefix6); 0: no "
	  "limit." },
	{ CONF_K_SERVICE, "net_max_new", CONF_T_RATE, 0, 0, 10000000, NULL,
	  "480/1h", S(net_max_new), 0,
	  "Completed handshakes per network per window; none: no limit." },
	{ CONF_K_SERVICE, "kernel_caps", CONF_T_BOOL, 0, 0, 0, NULL,
	  "yes", S(kernel_caps), 0,
	  "nftables: the kernel refuses (TCP reset) the connection beyond "
	  "max_concurrent, max_new and their net_ forms, per address and "
	  "network, overrides and [allow] honoured, instead of the address "
	  "being banned at the limit; see cap_persist." },
	{ CONF_K_SERVICE, "surge", CONF_T_BOOL, 0, 0, 0, NULL,
	  "yes", S(surge), 0,
	  "Surge mode, where kernel_caps is on and a [log] section tells "
	  "the logins: while the rate of new connections that never log in "
	  "exceeds surge_factor times its usual rate at this hour (and "
	  "surge_min_rate), addresses with no login within [track] "
	  "known_days are held to surge_max_new." },
	{ CONF_K_SERVICE, "surge_factor", CONF_T_UINT, 0, 2, 100000, NULL,
	  "10", S(surge_factor), 0,
	  "How many times the usual rate of connections that never log in "
	  "makes a surge." },
	{ CONF_K_SERVICE, "surge_min_rate", CONF_T_RATE, 0, 1, 10000000, NULL,
	  "100/1m", S(surge_min_rate), 0,
	  "The least rate of connections that never log in that makes a "
	  "surge; its window (1s to 1h) is the one the rate is measured "
	  "over." },
	{ CONF_K_SERVICE, "surge_max_new", CONF_T_RATE, 0, 1, 1000000, NULL,
	  "5/1h", S(surge_max_new), 0,
	  "During a surge, new connections per address not known (no login "
	  "within known_days), refused in the kernel beyond." },
	{ CONF_K_SERVICE, "surge_end", CONF_T_DURATION, 0, CLOCK_US_PER_SEC,
	  DAYS(1), NULL, "10m", S(surge_end), 0,
	  "A surge ends once the rate has stayed below its threshold this "
	  "long." },
	{ CONF_K_SERVICE, "account_allowance_concurrent", CONF_T_UINT, 0, 0,
	  100000, NULL, "1", S(account_allowance_concurrent), 0,
	  "Live connections added to max_concurrent (and net_max_concurrent) "
	  "for each distinct account that logged in from the address (the "
	  "network) within the max_new window; 0: none." },
	{ CONF_K_SERVICE, "account_allowance_new", CONF_T_UINT, 0, 0, 100000,
	  NULL, "4", S(account_allowance_new), 0,
	  "New connections added to max_new (and net_max_new) for each such "
	  "account; 0: none." },
	{ CONF_K_SERVICE, "account_max", CONF_T_UINT, 0, 0, 256, NULL,
	  "150", S(account_max), 0,
	  "Most accounts that raise an address's limits (throwaway accounts "
	  "buy no more room); 0: logins raise nothing." },
	{ CONF_K_SERVICE, "net_account_max", CONF_T_UINT, 0, 0, 256, NULL,
	  "250", S(net_account_max), 0,
	  "The same for a network's limits." },

	{ CONF_K_LOG, "path", CONF_T_PATH, 0, 0, PATH_MAX - 1,
	  NULL, NULL, L(path), 0,
	  "Log file of the XMPP server; a section needs path or "
	  "journal." },
	{ CONF_K_LOG, "filter", CONF_T_STRING, CONF_F_REQUIRED, 0, 255, NULL,
	  NULL, L(filter), 0,
	  "Filter reading it: a name (prosody, ejabberd, jabberd2, "
	  "openfire, metronome, mongooseim, tigase), looked for as NAME.conf "
	  "in " XG_SYSCONFDIR "/xmppguard/filters then " XG_DATADIR
	  "/filters, or a path." },
	{ CONF_K_LOG, "max_line", CONF_T_SIZE, 0, 256, 1024 * 1024, NULL,
	  "16k", L(max_line), 0,
	  "Longer lines are counted and skipped." },
	{ CONF_K_LOG, "format", CONF_T_ENUM, 0, 0, 0, conf_log_format_names,
	  "plain", L(format), 0,
	  "How path is written: plain (the server's own lines) or "
	  "docker-json (docker's json-file driver, one JSON object per line: "
	  "the file `docker inspect -f '{{.LogPath}}' CONTAINER` names)." },
	{ CONF_K_LOG, "journal", CONF_T_STRING, 0, 0, 255, NULL, NULL,
	  L(journal), 0,
	  "Read the systemd journal instead of a file: the entries of this "
	  "unit (_SYSTEMD_UNIT; .service is added when no suffix is given), "
	  "each MESSAGE a line.  The position is kept across restarts; the "
	  "first start reads from the journal's end.  With [global] user, "
	  "that user must be able to read the journal (group "
	  "systemd-journal)." },
	{ CONF_K_LOG, "journal_match", CONF_T_STRING, 0, 0, 1024, NULL, NULL,
	  L(journal_match), 0,
	  "More FIELD=VALUE matches, comma separated, that the journal's "
	  "entries must also have (the same field twice: either value), e.g. "
	  "CONTAINER_NAME=prosody with journal = docker for a container "
	  "logging through docker's journald driver." },
	{ CONF_K_LOG, "journal_dir", CONF_T_PATH, 0, 0, PATH_MAX - 1, NULL,
	  NULL, L(journal_dir), 0,
	  "Read the journal files of this directory instead of the system "
	  "journal (a remote host's journal, say)." },

	{ CONF_K_AUTH, "max_fail", CONF_T_RATE, 0, 0, 1000000, NULL,
	  "5/10m", G(auth_max_fail), 0,
	  "Failed logins per address per window; none: no limit." },
	{ CONF_K_AUTH, "net_max_fail", CONF_T_RATE, 0, 0, 10000000, NULL,
	  "30/10m", G(auth_net_max_fail), 0,
	  "Failed logins per network (track prefix4/prefix6) per window." },
	{ CONF_K_AUTH, "max_register", CONF_T_RATE, 0, 0, 1000000, NULL,
	  "3/1h", G(auth_max_register), 0,
	  "Accounts registered per address per window (XEP-0077)." },
	{ CONF_K_AUTH, "net_max_register", CONF_T_RATE, 0, 0, 10000000, NULL,
	  "10/1h", G(auth_net_max_register), 0,
	  "Accounts registered per network per window." },
	{ CONF_K_AUTH, "outage_addresses", CONF_T_UINT, 0, 0, 1000000, NULL,
	  "25", G(auth_outage_addresses), 0,
	  "An outage: at least this many sources (addresses, IPv6 "
	  "hosts by [ban] prefix6) fail within outage_window, ...; 0: "
	  "never assume an outage." },
	{ CONF_K_AUTH, "outage_factor", CONF_T_UINT, 0, 1, 1000000, NULL,
	  "10", G(auth_outage_factor), 0,
	  "... failures run at this many times the usual rate, and "
	  "(if the filter reports successful logins) almost none succeed." },
	{ CONF_K_AUTH, "outage_window", CONF_T_DURATION, 0, 10 * CLOCK_US_PER_SEC,
	  3600 * CLOCK_US_PER_SEC, NULL, "1m", G(auth_outage_window), 0,
	  "Window the outage shape is measured over." },
	{ CONF_K_AUTH, "outage_hold", CONF_T_DURATION, 0, 0,
	  86400 * CLOCK_US_PER_SEC, NULL, "15m", G(auth_outage_hold), 0,
	  "Auth bans stay held this long after the shape was last seen." },
	{ CONF_K_AUTH, "corroborate", CONF_T_DURATION, 0, 0,
	  86400 * CLOCK_US_PER_SEC, NULL, "5m", G(auth_corroborate), 0,
	  "With conntrack on, a log line is judged only if its address "
	  "has a live connection or completed a handshake to a service "
	  "port this recently (or a proxy has); 0: judge every line." },

	{ CONF_K_BAN, "duration", CONF_T_DURATION, 0, CLOCK_US_PER_SEC,
	  DAYS(365), NULL, "10m", G(ban_duration), 0,
	  "The first ban of an address." },
	{ CONF_K_BAN, "concurrency_duration", CONF_T_DURATION, 0, 0,
	  DAYS(365), NULL, "0", G(ban_rule_duration[0]), 0,
	  "The first ban for concurrency; 0: duration." },
	{ CONF_K_BAN, "churn_duration", CONF_T_DURATION, 0, 0,
	  DAYS(365), NULL, "0", G(ban_rule_duration[1]), 0,
	  "The first ban for churn; 0: duration." },
	{ CONF_K_BAN, "karma_duration", CONF_T_DURATION, 0, 0,
	  DAYS(365), NULL, "0", G(ban_rule_duration[2]), 0,
	  "The first ban (or throttle) for karma; 0: duration." },
	{ CONF_K_BAN, "auth_duration", CONF_T_DURATION, 0, 0,
	  DAYS(365), NULL, "0", G(ban_rule_duration[3]), 0,
	  "The first ban for failed logins; 0: duration." },
	{ CONF_K_BAN, "register_duration", CONF_T_DURATION, 0, 0,
	  DAYS(365), NULL, "0", G(ban_rule_duration[4]), 0,
	  "The first ban for registrations; 0: duration." },
	{ CONF_K_BAN, "escalate", CONF_T_UINT, 0, 1, 1000, NULL,
	  "4", G(ban_escalate), 0,
	  "Each repeat within memory lasts this many times the last; 1: "
	  "never longer." },
	{ CONF_K_BAN, "max_duration", CONF_T_DURATION, 0, CLOCK_US_PER_SEC,
	  DAYS(365), NULL, "1w", G(ban_max_duration), 0,
	  "No ban lasts longer." },
	{ CONF_K_BAN, "memory", CONF_T_DURATION, 0, 0, DAYS(365), NULL,
	  "1w", G(ban_memory), 0,
	  "How long an earlier ban makes the next one longer." },
	{ CONF_K_BAN, "prefix4", CONF_T_UINT, 0, 8, 32, NULL,
	  "32", G(ban_prefix4), 0,
	  "An IPv4 offender's ban covers this network (32: the address)." },
	{ CONF_K_BAN, "prefix6", CONF_T_UINT, 0, 16, 128, NULL,
	  "64", G(ban_prefix6), 0,
	  "An IPv6 offender's ban covers this network (64: usually one "
	  "host)." },
	{ CONF_K_BAN, "kill_established", CONF_T_BOOL, 0, 0, 0, NULL,
	  "yes", G(ban_kill), 0,
	  "A ban also ends the offender's live connections to the services "
	  "(deletes their conntrack entries)." },
	{ CONF_K_BAN, "all_ports", CONF_T_BOOL, 0, 0, 0, NULL,
	  "no", G(ban_all_ports), 0,
	  "Drop every packet of a banned address, not only those to the "
	  "services' ports." },
	{ CONF_K_BAN, "nft_table", CONF_T_STRING, 0, 1, 32, NULL,
	  "xmppguard", G(ban_table), 0,
	  "nftables: the table (family inet) that xmppguard owns." },
	{ CONF_K_BAN, "cap_persist", CONF_T_RATE, 0, 0, 1000000, NULL,
	  "300/10m", G(ban_cap_persist), 0,
	  "An address refused more often than this by one kernel cap "
	  "(service kernel_caps) is banned; none: never." },
	{ CONF_K_BAN, "cap_log_group", CONF_T_UINT, 0, 1, 65535, NULL,
	  "5222", G(ban_cap_group), 0,
	  "nftables: the nflog group on which the kernel caps report "
	  "refusals to the daemon." },
	{ CONF_K_BAN, "karma", CONF_T_ENUM, 0, 0, 0, conf_karma_action_names,
	  "ban", G(ban_karma), 0,
	  "What a karma verdict does: ban, or throttle the address to "
	  "throttle_rate (nftables)." },
	{ CONF_K_BAN, "throttle_rate", CONF_T_SIZE, 0, 1024,
	  (int64_t)1 << 30, NULL, "8k", G(ban_throttle), 0,
	  "Bytes per second a throttled address may send." },
	{ CONF_K_BAN, "ban_command", CONF_T_STRING, CONF_F_EMPTY, 0, 1024,
	  NULL, "", G(ban_command), 0,
	  "command backend: the program and arguments run for a ban, split "
	  "at blanks; {ip}, {prefix}, {duration} (seconds) and {reason} "
	  "each stand for a whole argument.  Run without a shell." },
	{ CONF_K_BAN, "unban_command", CONF_T_STRING, CONF_F_EMPTY, 0, 1024,
	  NULL, "", G(unban_command), 0,
	  "command backend: the same for lifting a ban ({ip}, {prefix})." },
	{ CONF_K_BAN, "webhook", CONF_T_STRING, CONF_F_EMPTY | CONF_F_SECRET,
	  0, 1024, NULL, "", G(ban_webhook), 0,
	  "webhook backend: the http(s) URL each ban and unban is POSTed "
	  "to as JSON.  A secret." },
	{ CONF_K_BAN, "webhook_authorization", CONF_T_STRING,
	  CONF_F_EMPTY | CONF_F_SECRET, 0, 1024, NULL, "",
	  G(ban_webhook_auth), 0,
	  "webhook backend: sent as the Authorization header of each POST "
	  "(\"Bearer TOKEN\", \"Basic BASE64\"), for a server's own HTTP "
	  "API; empty: none.  A secret." },

	{ CONF_K_OVERRIDE, "networks", CONF_T_NETWORKS, CONF_F_REQUIRED, 0, 0,
	  NULL, NULL, O(networks), O(nnetworks),
	  "Addresses and prefixes the override applies to." },
	{ CONF_K_OVERRIDE, "max_concurrent", CONF_T_UINT, 0, 0, 1000000, NULL,
	  "0", O(max_concurrent), 0,
	  "Replaces the service's max_concurrent; 0 keeps it." },
	{ CONF_K_OVERRIDE, "max_new", CONF_T_RATE, 0, 0, 1000000, NULL,
	  "none", O(max_new), 0,
	  "Replaces the service's max_new; none keeps it." },
	{ CONF_K_OVERRIDE, "peer_ban", CONF_T_BOOL, 0, 0, 0, NULL,
	  "no", O(peer_ban), 0,
	  "yes: federation peers in these networks are banned for s2s churn "
	  "and concurrency even when they authenticated, not only alerted "
	  "about." },

	{ CONF_K_ALLOW, "networks", CONF_T_NETWORKS, 0, 0, 0, NULL,
	  "none", G(allow), G(nallow),
	  "Addresses and prefixes never banned." },
	{ CONF_K_ALLOW, "proxies", CONF_T_NETWORKS, 0, 0, 0, NULL,
	  "none", G(proxies), G(nproxies),
	  "Reverse proxies (PROXY protocol, BOSH or WebSocket front ends): "
	  "never banned, nor judged by their connections; their clients "
	  "are judged by the addresses in the server's log." },
	{ CONF_K_ALLOW, "proxy_ports", CONF_T_PORTS, CONF_F_ALL, 1, 65535, NULL,
	  "all", G(proxy_ports), G(nproxy_ports),
	  "A ban for log lines that came through a proxy drops these "
	  "ports (the proxy's own, 443 say); all: every port." },

	{ CONF_K_ALERT, "type", CONF_T_ENUM, CONF_F_REQUIRED, 0, 0,
	  conf_alert_type_names, NULL, A(type), 0,
	  "The chat's dialect: Slack-compatible incoming webhooks (slack, "
	  "mattermost, rocketchat), matrix (client-server API), discord, "
	  "json (a generic webhook), or xmpp (a client of its own that "
	  "posts to a multi-user chat room or to JIDs)." },
	{ CONF_K_ALERT, "url", CONF_T_STRING, CONF_F_EMPTY | CONF_F_SECRET,
	  0, 1024, NULL, "", A(url), 0,
	  "The incoming webhook's URL; matrix: the homeserver's base URL.  "
	  "https (certificates verified); http only for a local relay.  "
	  "Needed by every type but xmpp.  "
	  "A secret: never logged nor shown beyond its host." },
	{ CONF_K_ALERT, "room", CONF_T_STRING, CONF_F_EMPTY, 0, 255, NULL,
	  "", A(room), 0,
	  "matrix: the room id (!abc:example.org) the bot's user has "
	  "joined; xmpp: the multi-user chat room's JID "
	  "(ops@conference.example.org), joined as nick." },
	{ CONF_K_ALERT, "token", CONF_T_STRING, CONF_F_EMPTY | CONF_F_SECRET,
	  0, 1024, NULL, "", A(token), 0,
	  "matrix: the bot's access token, sent as Authorization: Bearer.  "
	  "A secret: never logged nor shown." },
	{ CONF_K_ALERT, "authorization", CONF_T_STRING,
	  CONF_F_EMPTY | CONF_F_SECRET, 0, 1024, NULL, "",
	  A(authorization), 0,
	  "Every type but matrix: sent as the Authorization header "
	  "(\"Bearer TOKEN\", \"Basic BASE64\"), for a server's own HTTP "
	  "API (ejabberd's mod_http_api, a Prosody REST module) or a relay "
	  "that wants one; empty: none.  A secret." },
	{ CONF_K_ALERT, "username", CONF_T_STRING, CONF_F_EMPTY, 0, 64, NULL,
	  "", A(username), 0,
	  "slack, mattermost, rocketchat, discord: the sender's name shown "
	  "(if the hook allows it); empty: the hook's own." },
	{ CONF_K_ALERT, "icon", CONF_T_STRING, CONF_F_EMPTY, 0, 255, NULL,
	  "", A(icon), 0,
	  "slack, mattermost, rocketchat, discord: an emoji name (:shield:) "
	  "or an image URL shown as the sender's icon." },
	{ CONF_K_ALERT, "template", CONF_T_STRING, CONF_F_EMPTY, 0, 1024,
	  NULL, "", A(tmpl), 0,
	  "json: the body, with $event, $severity, $text, $host, $time, "
	  "$address, $rule, $reason, $duration, $expires, $count and $$ "
	  "replaced (JSON-escaped, to go inside quotes; $duration and $count "
	  "are numbers); empty: an object with every field." },
	{ CONF_K_ALERT, "events", CONF_T_STRING, 0, 1, 255, NULL,
	  "ban, escalation, overrun, auth-outage, start, stop, store-error, "
	  "cluster, peer, surge", A(events), 0,
	  "What to send: ban, unban, escalation, expire, overrun, "
	  "auth-outage, start, stop, store-error, cluster, peer, surge; all; "
	  "none." },
	{ CONF_K_ALERT, "min_severity", CONF_T_ENUM, 0, 0, 0,
	  conf_severity_names, "info", A(min_severity), 0,
	  "Events of a lower severity are not sent." },
	{ CONF_K_ALERT, "digest", CONF_T_DURATION, 0, 0, DAYS(1), NULL,
	  "1m", A(digest), 0,
	  "The digest interval; 0: every ban on its own, however many." },
	{ CONF_K_ALERT, "digest_after", CONF_T_UINT, 0, 0, 1000, NULL,
	  "5", A(digest_after), 0,
	  "Bans, unbans and expiries sent one by one in an interval; the "
	  "rest go into one digest at its end (how many, by rule, the top "
	  "addresses and their reasons), and so does all of the next "
	  "interval while the storm lasts." },
	{ CONF_K_ALERT, "timeout", CONF_T_DURATION, 0, CLOCK_US_PER_SEC / 10,
	  300 * CLOCK_US_PER_SEC, NULL, "10s", A(timeout), 0,
	  "Each attempt gives up after this long." },
	{ CONF_K_ALERT, "retries", CONF_T_UINT, 0, 0, 10, NULL,
	  "3", A(retries), 0,
	  "Attempts after the first when there is no answer, a timeout, "
	  "408, 429 or 5xx." },
	{ CONF_K_ALERT, "backoff", CONF_T_DURATION, 0, CLOCK_US_PER_SEC / 10,
	  60 * CLOCK_US_PER_SEC, NULL, "1s", A(backoff), 0,
	  "Wait before the first retry, doubling for each next one (at most "
	  "1m)." },
	{ CONF_K_ALERT, "queue", CONF_T_UINT, 0, 1, 10000, NULL,
	  "100", A(queue), 0,
	  "Messages waiting at most (for the one in flight, or to be "
	  "retried); more are dropped and counted." },
	{ CONF_K_ALERT, "jid", CONF_T_STRING, CONF_F_EMPTY, 0, 255, NULL,
	  "", A(jid), 0,
	  "xmpp: the bot's account, user@example.org (a /resource after it "
	  "is kept)." },
	{ CONF_K_ALERT, "password", CONF_T_STRING,
	  CONF_F_EMPTY | CONF_F_SECRET, 0, 1024, NULL, "", A(password), 0,
	  "xmpp: the account's password.  A secret: never logged nor "
	  "shown." },
	{ CONF_K_ALERT, "nick", CONF_T_STRING, CONF_F_EMPTY, 0, 64, NULL,
	  "xmppguard", A(nick), 0,
	  "xmpp: the bot's nickname in the room." },
	{ CONF_K_ALERT, "to", CONF_T_STRING, CONF_F_EMPTY, 0, 1024, NULL,
	  "", A(to), 0,
	  "xmpp: JIDs sent each alert as a chat message (commas or blanks "
	  "between them), besides or instead of the room." },
	{ CONF_K_ALERT, "server", CONF_T_STRING, CONF_F_EMPTY, 0, 255, NULL,
	  "", A(server), 0,
	  "xmpp: the server to connect to, host or host:port (an IPv6 "
	  "address in brackets); empty: the JID's domain's SRV record "
	  "(_xmpp-client._tcp), else the domain on port 5222.  The "
	  "certificate must still name the JID's domain." },
	{ CONF_K_ALERT, "ca_file", CONF_T_PATH, CONF_F_EMPTY, 0, PATH_MAX - 1,
	  NULL, "", A(ca_file), 0,
	  "xmpp: the CA certificates (PEM) the server's certificate is "
	  "checked against, for a private CA; empty: the system's." },
	{ CONF_K_ALERT, "tls", CONF_T_ENUM, 0, 0, 0, conf_alert_tls_names,
	  "required", A(tls), 0,
	  "xmpp: required (STARTTLS, the connection dropped without it) or "
	  "direct (TLS from the first byte, XEP-0368, port 5223).  There is "
	  "no plain text mode." },
	{ CONF_K_ALERT, "tls_verify", CONF_T_BOOL, 0, 0, 0, NULL,
	  "yes", A(tls_verify), 0,
	  "xmpp: check the server's certificate and that it names the "
	  "JID's domain; no (warned at start) only for a test server." },

	{ CONF_K_METRICS, "file", CONF_T_PATH, CONF_F_EMPTY, 0, PATH_MAX - 16,
	  NULL, "", G(metrics_file), 0,
	  "Written every interval, atomically (e.g. "
	  "/var/lib/prometheus/node-exporter/xmppguard.prom); empty: none." },
	{ CONF_K_METRICS, "interval", CONF_T_DURATION, 0, CLOCK_US_PER_SEC,
	  3600 * CLOCK_US_PER_SEC, NULL, "15s", G(metrics_interval), 0,
	  "How often the file is written." },
	{ CONF_K_METRICS, "listen", CONF_T_STRING, CONF_F_EMPTY, 0, 64, NULL,
	  "", G(metrics_listen), 0,
	  "ADDR:PORT ([ADDR]:PORT for IPv6) of an HTTP endpoint serving "
	  "GET /metrics, e.g. 127.0.0.1:9469; an IP address, no name; "
	  "empty: none.  Anyone who can reach it can read the counters "
	  "(no addresses are in them): keep it on loopback or firewalled." },

	{ CONF_K_CLUSTER, "lapi_url", CONF_T_STRING, CONF_F_EMPTY, 0, 1024,
	  NULL, "", G(cluster_lapi_url), 0,
	  "The Local API's base URL (http://10.0.0.5:8080); https with "
	  "certificates verified; empty: no cluster." },
	{ CONF_K_CLUSTER, "machine_id", CONF_T_STRING, CONF_F_EMPTY, 0, 128,
	  NULL, "", G(cluster_machine_id), 0,
	  "This node's machine (cscli machines add NAME), to push bans." },
	{ CONF_K_CLUSTER, "password", CONF_T_STRING,
	  CONF_F_EMPTY | CONF_F_SECRET, 0, 1024, NULL, "",
	  G(cluster_password), 0,
	  "The machine's password.  A secret: never logged nor shown." },
	{ CONF_K_CLUSTER, "password_file", CONF_T_PATH, CONF_F_EMPTY, 0,
	  PATH_MAX - 1, NULL, "", G(cluster_password_file), 0,
	  "A file holding the password (its first line), read at load; "
	  "instead of password." },
	{ CONF_K_CLUSTER, "bouncer_key", CONF_T_STRING,
	  CONF_F_EMPTY | CONF_F_SECRET, 0, 1024, NULL, "",
	  G(cluster_bouncer_key), 0,
	  "This node's own bouncer key (cscli bouncers add NAME), to pull "
	  "decisions: never shared between nodes.  A secret." },
	{ CONF_K_CLUSTER, "bouncer_key_file", CONF_T_PATH, CONF_F_EMPTY, 0,
	  PATH_MAX - 1, NULL, "", G(cluster_bouncer_key_file), 0,
	  "A file holding the bouncer key (its first line), read at load; "
	  "instead of bouncer_key." },
	{ CONF_K_CLUSTER, "push", CONF_T_BOOL, 0, 0, 0, NULL, "yes",
	  G(cluster_push), 0,
	  "Send this node's bans (verdicts and manual) and unbans to the "
	  "LAPI, through a queue in the store that survives restarts and "
	  "outages." },
	{ CONF_K_CLUSTER, "pull", CONF_T_BOOL, 0, 0, 0, NULL, "yes",
	  G(cluster_pull), 0,
	  "Apply the LAPI's ban decisions here, for their remaining "
	  "duration." },
	{ CONF_K_CLUSTER, "pull_interval", CONF_T_DURATION, 0,
	  CLOCK_US_PER_SEC / 10, 3600 * CLOCK_US_PER_SEC, NULL, "1s",
	  G(cluster_pull_interval), 0,
	  "How often the decision stream is read." },
	{ CONF_K_CLUSTER, "resync_interval", CONF_T_DURATION, 0,
	  CLOCK_US_PER_SEC, DAYS(1), NULL, "5m",
	  G(cluster_resync_interval), 0,
	  "How often every decision in force is read again (as at start "
	  "and after an error): deltas can miss some." },
	{ CONF_K_CLUSTER, "origins", CONF_T_STRING, 0, 1, 255, NULL, "all",
	  G(cluster_origins), 0,
	  "The decisions' origins applied, separated by commas or blanks "
	  "(cscli, crowdsec, xmppguard, CAPI, lists); all: every one." },
	{ CONF_K_CLUSTER, "scenario_prefix", CONF_T_STRING, 0, 1, 64, NULL,
	  "xmppguard/", G(cluster_scenario_prefix), 0,
	  "Pushed bans carry the scenario PREFIX followed by the rule." },
	{ CONF_K_CLUSTER, "ca_file", CONF_T_PATH, CONF_F_EMPTY, 0,
	  PATH_MAX - 1, NULL, "", G(cluster_ca_file), 0,
	  "https: the CAs to trust (PEM); empty: the system's." },
	{ CONF_K_CLUSTER, "cert_file", CONF_T_PATH, CONF_F_EMPTY, 0,
	  PATH_MAX - 1, NULL, "", G(cluster_cert_file), 0,
	  "https: a client certificate (PEM) for the LAPI's TLS "
	  "authentication; empty: none." },
	{ CONF_K_CLUSTER, "key_file", CONF_T_PATH, CONF_F_EMPTY, 0,
	  PATH_MAX - 1, NULL, "", G(cluster_key_file), 0,
	  "https: the client certificate's key (PEM)." },
	{ CONF_K_CLUSTER, "timeout", CONF_T_DURATION, 0,
	  CLOCK_US_PER_SEC / 10, 300 * CLOCK_US_PER_SEC, NULL, "10s",
	  G(cluster_timeout), 0,
	  "Each request to the LAPI gives up after this long." },
	{ CONF_K_CLUSTER, "down_alert", CONF_T_DURATION, 0, 0, DAYS(1), NULL,
	  "5m", G(cluster_down_alert), 0,
	  "A link that fails for longer than this is logged as down (and "
	  "said again when it is back); 0: never." },
	{ CONF_K_CLUSTER, "queue", CONF_T_UINT, 0, 100, 1000000, NULL,
	  "100000", G(cluster_queue_max), 0,
	  "Bans and unbans waiting to be pushed, at most (kept in the "
	  "store); more are dropped and counted." },
};
const size_t conf_ndirectives = nitems(conf_directives);

#undef G
#undef S
#undef L
#undef O
#undef A

_Static_assert(nitems(conf_directives) <= CONF_DIRECTIVES_MAX,
    "raise CONF_DIRECTIVES_MAX");
_Static_assert(sizeof(enum conf_firewall) == sizeof(int),
    "CONF_T_ENUM stores an int");
_Static_assert(CONF_PORTS_MAX == 16 && CONF_PORTS_TOTAL_MAX == 64,
    "the help of ports gives both limits");
_Static_assert(CONF_FW_NONE == 5 && LOG_LEVEL_DEBUG == 3 &&
    CONF_KARMA_THROTTLE == 1,
    "the names tables follow the enums");

/*
 * The built-in services and where they differ from the table's defaults.
 * The figures seed XEP-0205's: c2s is people, s2s is a few federated servers
 * holding a few connections each and carrying more traffic, http is BOSH and
 * WebSocket clients opening many short connections.  A network (a /24, an
 * IPv6 /64) may hold four addresses' worth.
 */
const struct conf_builtin conf_builtins[] = {
	{ "c2s", "5222, 5223", "50", "120/1h", "10k/s burst 256k",
	  "200", "480/1h" },
	{ "s2s", "5269", "20", "60/1h", "50k/s burst 1M",
	  "80", "240/1h" },
	{ "http", "5280, 5281, 5443", "100", "3000/1h", "20k/s burst 512k",
	  "400", "12000/1h" },
};
const size_t conf_nbuiltins = nitems(conf_builtins);


const struct conf_directive *
conf_directive_find(enum conf_kind kind, const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(conf_directives); i++) {
		if (conf_directives[i].kind == kind &&
		    strcmp(conf_directives[i].name, name) == 0)
			return &conf_directives[i];
	}
	return NULL;
}

size_t
conf_directive_index(const struct conf_directive *d)
{
	return (size_t)(d - conf_directives);
}
