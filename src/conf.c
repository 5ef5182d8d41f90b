/*
 * Configuration: an INI file interpreted through one table of directives.
 *
 * conf_directives[] lists every key: its section, name, type, bounds,
 * default, where its value lands and a line of help.  That one table builds
 * the defaults, checks the file, prints the effective configuration
 * (check-config) and writes the reference in the README.  Defaults are
 * strings read by the same parsers as the file, so the reference shows
 * exactly what applies.  The three built-in services (c2s, s2s, http)
 * always exist; conf_builtins[] gives the values in which they differ.
 *
 * This file holds the tables and reads and checks a file; conf_value.c
 * parses and prints the value syntaxes (durations, sizes, rates, karma),
 * conf_print.c writes the configuration and the reference from the tables,
 * and conf_int.h is what the three share.
 *
 * The file is read by inifile.c, which counts lines, refuses over-long
 * lines, bytes no text file holds and lines that are neither a header nor
 * "name = value", and hands over sections, keys and the indented lines
 * that continue a list (ports, networks) one by one with their numbers.
 * A header it refused leaves no section current, so its keys are not lent
 * to the section before; so does a header this file refuses.
 *
 * Every error is recorded as "FILE:LINE: message" and parsing goes on, so
 * the operator sees all of them at once; after CONF_ERRORS_MAX the rest of
 * the file is skipped.  Hostile files are bounded too: a line holds at most
 * CONF_LINE_MAX characters, a file at most CONF_SECTIONS_MAX sections, a
 * list at most CONF_NETWORKS_MAX networks.
 *
 * Invariants of a loaded struct conf: every value passed its parser and
 * bounds; all strings are on the heap (conf_free() frees them by walking the
 * table); the built-in services come first, then the file's in file order,
 * and a service with nports 0 is disabled; no port is in two services;
 * db_path is absolute.
 */
#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "alert.h"
#include "conf.h"
#include "conf_int.h"
#include "http.h"
#include "inifile.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define CONF_ERRORS_MAX		100	/* then the rest of the file is skipped */
#define CONF_SECTIONS_MAX	256
#define CONF_DIRECTIVES_MAX	96
#define CONF_SUGGEST_MAX	32	/* longest word a suggestion is sought for */
#define CONF_DB_NAME		"xmppguard.db"

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
	    "The names are listed in the README (Metrics)." },
};
const size_t conf_nkinds = nitems(conf_kinds);

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
	"slack", "mattermost", "rocketchat", "matrix", "discord", "json", NULL
};
static const char *const conf_log_level_names[] = {
	"error", "warning", "info", "debug", NULL
};

#define G(f)	offsetof(struct conf, f)
#define S(f)	offsetof(struct conf_service, f)
#define L(f)	offsetof(struct conf_log, f)
#define O(f)	offsetof(struct conf_override, f)
#define A(f)	offsetof(struct conf_alert, f)
#define DAYS(n)	((int64_t)(n) * 86400 * CONF_US_S)
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
	{ CONF_K_CONNTRACK, "poll", CONF_T_DURATION, 0, CONF_US_S / 10,
	  3600 * CONF_US_S, NULL, "5s", G(ct_poll), 0,
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
	{ CONF_K_TRACK, "prefix4", CONF_T_UINT, 0, 8, 32, NULL,
	  "24", G(track_prefix4), 0,
	  "IPv4 addresses are also counted together per network of this "
	  "length (the net_ limits)." },
	{ CONF_K_TRACK, "prefix6", CONF_T_UINT, 0, 16, 128, NULL,
	  "64", G(track_prefix6), 0,
	  "The same for IPv6 (a /64 is usually one host)." },
	{ CONF_K_TRACK, "short_lived", CONF_T_DURATION, 0, 0,
	  3600 * CONF_US_S, NULL, "10s", G(short_lived), 0,
	  "Connections closed sooner count as short-lived in reports." },

	{ CONF_K_SERVICE, "ports", CONF_T_PORTS, CONF_F_NEWREQ, 1, 65535,
	  NULL, "none", S(ports), S(nports),
	  "Local TCP ports (up to 16); none disables the service." },
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

	{ CONF_K_LOG, "path", CONF_T_PATH, CONF_F_REQUIRED, 0, PATH_MAX - 1,
	  NULL, NULL, L(path), 0,
	  "Log file of the XMPP server." },
	{ CONF_K_LOG, "filter", CONF_T_STRING, CONF_F_REQUIRED, 0, 255, NULL,
	  NULL, L(filter), 0,
	  "Filter reading it: a name (prosody, ejabberd, jabberd2, "
	  "openfire, metronome, mongooseim, tigase), looked for as NAME.conf "
	  "in " XG_SYSCONFDIR "/xmppguard/filters then " XG_DATADIR
	  "/filters, or a path." },
	{ CONF_K_LOG, "max_line", CONF_T_SIZE, 0, 256, 1024 * 1024, NULL,
	  "16k", L(max_line), 0,
	  "Longer lines are counted and skipped." },

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
	  "An outage: at least this many addresses fail within "
	  "outage_window, ...; 0: never assume an outage." },
	{ CONF_K_AUTH, "outage_factor", CONF_T_UINT, 0, 1, 1000000, NULL,
	  "10", G(auth_outage_factor), 0,
	  "... failures run at this many times the usual rate, and "
	  "(if the filter reports successful logins) almost none succeed." },
	{ CONF_K_AUTH, "outage_window", CONF_T_DURATION, 0, 10 * CONF_US_S,
	  3600 * CONF_US_S, NULL, "1m", G(auth_outage_window), 0,
	  "Window the outage shape is measured over." },
	{ CONF_K_AUTH, "outage_hold", CONF_T_DURATION, 0, 0,
	  86400 * CONF_US_S, NULL, "15m", G(auth_outage_hold), 0,
	  "Auth bans stay held this long after the shape was last seen." },

	{ CONF_K_BAN, "duration", CONF_T_DURATION, 0, CONF_US_S,
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
	{ CONF_K_BAN, "max_duration", CONF_T_DURATION, 0, CONF_US_S,
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
	{ CONF_K_BAN, "webhook", CONF_T_STRING, CONF_F_EMPTY, 0, 1024,
	  NULL, "", G(ban_webhook), 0,
	  "webhook backend: the http(s) URL each ban and unban is POSTed "
	  "to as JSON." },

	{ CONF_K_OVERRIDE, "networks", CONF_T_NETWORKS, CONF_F_REQUIRED, 0, 0,
	  NULL, NULL, O(networks), O(nnetworks),
	  "Addresses and prefixes the override applies to." },
	{ CONF_K_OVERRIDE, "max_concurrent", CONF_T_UINT, 0, 0, 1000000, NULL,
	  "0", O(max_concurrent), 0,
	  "Replaces the service's max_concurrent; 0 keeps it." },
	{ CONF_K_OVERRIDE, "max_new", CONF_T_RATE, 0, 0, 1000000, NULL,
	  "none", O(max_new), 0,
	  "Replaces the service's max_new; none keeps it." },

	{ CONF_K_ALLOW, "networks", CONF_T_NETWORKS, 0, 0, 0, NULL,
	  "none", G(allow), G(nallow),
	  "Addresses and prefixes never banned." },
	{ CONF_K_ALLOW, "proxies", CONF_T_NETWORKS, 0, 0, 0, NULL,
	  "none", G(proxies), G(nproxies),
	  "Reverse proxies (PROXY protocol, BOSH or WebSocket front ends): "
	  "never banned, nor judged by their connections; their clients "
	  "are judged by the addresses in the server's log." },

	{ CONF_K_ALERT, "type", CONF_T_ENUM, CONF_F_REQUIRED, 0, 0,
	  conf_alert_type_names, NULL, A(type), 0,
	  "The chat's dialect: Slack-compatible incoming webhooks (slack, "
	  "mattermost, rocketchat), matrix (client-server API), discord, or "
	  "json (a generic webhook)." },
	{ CONF_K_ALERT, "url", CONF_T_STRING, CONF_F_REQUIRED, 0, 1024, NULL,
	  NULL, A(url), 0,
	  "The incoming webhook's URL; matrix: the homeserver's base URL.  "
	  "https (certificates verified); http only for a local relay.  "
	  "Never logged nor shown beyond its host." },
	{ CONF_K_ALERT, "room", CONF_T_STRING, CONF_F_EMPTY, 0, 255, NULL,
	  "", A(room), 0,
	  "matrix: the room id (!abc:example.org) the bot's user has "
	  "joined." },
	{ CONF_K_ALERT, "token", CONF_T_STRING, CONF_F_EMPTY, 0, 1024, NULL,
	  "", A(token), 0,
	  "matrix: the bot's access token, sent as Authorization: Bearer; "
	  "never logged nor shown by status." },
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
	  "ban, escalation, overrun, auth-outage, start, stop", A(events), 0,
	  "What to send: ban, unban, escalation, expire, overrun, "
	  "auth-outage, start, stop; all; none." },
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
	{ CONF_K_ALERT, "timeout", CONF_T_DURATION, 0, CONF_US_S / 10,
	  300 * CONF_US_S, NULL, "10s", A(timeout), 0,
	  "Each attempt gives up after this long." },
	{ CONF_K_ALERT, "retries", CONF_T_UINT, 0, 0, 10, NULL,
	  "3", A(retries), 0,
	  "Attempts after the first when there is no answer, a timeout, "
	  "408, 429 or 5xx." },
	{ CONF_K_ALERT, "backoff", CONF_T_DURATION, 0, CONF_US_S / 10,
	  60 * CONF_US_S, NULL, "1s", A(backoff), 0,
	  "Wait before the first retry, doubling for each next one (at most "
	  "1m)." },
	{ CONF_K_ALERT, "queue", CONF_T_UINT, 0, 1, 10000, NULL,
	  "100", A(queue), 0,
	  "Messages waiting at most (for the one in flight, or to be "
	  "retried); more are dropped and counted." },

	{ CONF_K_METRICS, "file", CONF_T_PATH, CONF_F_EMPTY, 0, PATH_MAX - 16,
	  NULL, "", G(metrics_file), 0,
	  "Written every interval, atomically (e.g. "
	  "/var/lib/prometheus/node-exporter/xmppguard.prom); empty: none." },
	{ CONF_K_METRICS, "interval", CONF_T_DURATION, 0, CONF_US_S,
	  3600 * CONF_US_S, NULL, "15s", G(metrics_interval), 0,
	  "How often the file is written." },
	{ CONF_K_METRICS, "listen", CONF_T_STRING, CONF_F_EMPTY, 0, 64, NULL,
	  "", G(metrics_listen), 0,
	  "ADDR:PORT ([ADDR]:PORT for IPv6) of an HTTP endpoint serving "
	  "GET /metrics, e.g. 127.0.0.1:9469; an IP address, no name; "
	  "empty: none.  Anyone who can reach it can read the counters "
	  "(no addresses are in them): keep it on loopback or firewalled." },
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

/* A section of the file being read. */
struct conf_sect {
	enum conf_kind	 kind;
	char		 name[CONF_NAME_MAX];	/* "" if not named */
	int		 idx;		/* in services, logs, overrides */
	int		 line;		/* of its header */
	int		 builtin;	/* a built-in service */
	int		 keyline[CONF_DIRECTIVES_MAX];	/* 0: not set */
};

struct conf_parse {
	struct conf	*conf;
	const char	*path;		/* NULL: built-in defaults only */
	int		 in_default;	/* an error is our bug */
	int		 lineno;	/* of the item being read */
	int		 stop;		/* too many errors: read no further */

	struct conf_sect *sects;
	int		 nsects;
	int		 cur;		/* the current section, -1: none */
	int		 skip;		/* its header was bad: ignore keys */
	const struct conf_directive *prev;	/* what a continuation adds to */
	int		 prev_none;	/* ... and it was set to "none" */

	char		*errors;
	size_t		 errlen;
	int		 nerrors;
};

static void	conf_error(struct conf_parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	conf_set(struct conf_parse *, const struct conf_directive *,
		    void *, const char *, int);

/*
 * Suggestions for misspelt names.
 */

/*
 * Optimal string alignment distance (Levenshtein plus transpositions) if
 * it is at most 2, else 3: only near misses are suggested, and most pairs
 * are told apart by their lengths or by a row already past 2, which keeps
 * a file full of unknown names cheap to report.
 */
static int
conf_distance(const char *a, const char *b)
{
	int	d[CONF_SUGGEST_MAX + 1][CONF_SUGGEST_MAX + 1];
	size_t	la = strlen(a), lb = strlen(b), i, j;
	int	v, rowmin;

	if (la > CONF_SUGGEST_MAX || lb > CONF_SUGGEST_MAX ||
	    la > lb + 2 || lb > la + 2)
		return 3;
	for (i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= la; i++) {
		rowmin = d[i][0];
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
			if (v < rowmin)
				rowmin = v;
		}
		/* Later rows stay above 2 once one is: a cell comes
		 * from the row before, or one more than two rows up,
		 * which is at most one below this row. */
		if (rowmin > 2)
			return 3;
	}
	return d[la][lb] > 2 ? 3 : d[la][lb];
}

/*
 * The candidate word most likely meant: within two edits (and fewer edits
 * than it has letters, so "x" suggests nothing), else one the word begins
 * or is begun by.  NULL if none is close.
 */
static const char *
conf_suggest(const char *word, const char *const *cands, size_t n)
{
	const char	*best = NULL;
	size_t		 i, wl = strlen(word), cl;
	int		 dist, score, best_score = INT_MAX;

	for (i = 0; i < n; i++) {
		cl = strlen(cands[i]);
		dist = conf_distance(word, cands[i]);
		if (dist <= 2 && (size_t)dist < wl)
			score = dist;
		else if ((wl >= 3 && strncmp(cands[i], word, wl) == 0) ||
		    (cl >= 3 && strncmp(word, cands[i], cl) == 0))
			score = 3;
		else
			continue;
		if (score < best_score) {
			best = cands[i];
			best_score = score;
		}
	}
	return best;
}

/*
 * Errors.
 */

const char *
conf_esc(char *buf, size_t size, const char *s)
{
	return log_escape(buf, size, s, strlen(s));
}

static void
conf_error(struct conf_parse *cp, int line, const char *fmt, ...)
{
	char	 msg[512], *full;
	va_list	 ap;
	size_t	 len;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cp->in_default || cp->path == NULL)
		fatalx("conf: bad built-in default: %s", msg);
	if (cp->nerrors > CONF_ERRORS_MAX)
		return;
	if (cp->nerrors++ == CONF_ERRORS_MAX) {
		full = xasprintf("%s: too many errors, stopped reading",
		    cp->path);
		cp->stop = 1;
	} else if (line > 0)
		full = xasprintf("%s:%d: %s", cp->path, line, msg);
	else
		full = xasprintf("%s: %s", cp->path, msg);
	len = strlen(full);
	cp->errors = xreallocarray(cp->errors, cp->errlen + len + 2, 1);
	if (cp->errlen > 0)
		cp->errors[cp->errlen++] = '\n';
	memcpy(cp->errors + cp->errlen, full, len + 1);
	cp->errlen += len;
	free(full);
}

/*
 * The directive table and the sections' structures.
 */

static const struct conf_directive *
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

static size_t
conf_directive_index(const struct conf_directive *d)
{
	return (size_t)(d - conf_directives);
}

/* "service c2s", "global": a section as written between brackets. */
const char *
conf_sect_label(enum conf_kind kind, const char *name, char *buf,
    size_t size)
{
	snprintf(buf, size, "%s%s%s", conf_kinds[kind].name,
	    *name != '\0' ? " " : "", name);
	return buf;
}

/* Applies every default of a section kind to a fresh structure. */
static void
conf_defaults(struct conf_parse *cp, enum conf_kind kind, void *base)
{
	size_t	i;

	cp->in_default++;
	for (i = 0; i < nitems(conf_directives); i++) {
		if (conf_directives[i].kind == kind &&
		    conf_directives[i].def != NULL)
			conf_set(cp, &conf_directives[i], base,
			    conf_directives[i].def, 0);
	}
	cp->in_default--;
}

/* Frees what the table's directives of a kind own in a structure. */
static void
conf_sect_clear(enum conf_kind kind, void *base)
{
	const struct conf_directive	*d;
	size_t				 i;

	for (i = 0; i < nitems(conf_directives); i++) {
		d = &conf_directives[i];
		if (d->kind != kind)
			continue;
		switch (d->type) {
		case CONF_T_STRING:
		case CONF_T_PATH:
			free(*CONF_FIELD(base, d->off, char *));
			*CONF_FIELD(base, d->off, char *) = NULL;
			break;
		case CONF_T_NETWORKS:
			free(*CONF_FIELD(base, d->off, struct prefix *));
			*CONF_FIELD(base, d->off, struct prefix *) = NULL;
			*CONF_FIELD(base, d->noff, int) = 0;
			break;
		default:
			break;
		}
	}
}

static int
conf_service_find(const struct conf *conf, const char *name)
{
	int	i;

	for (i = 0; i < conf->nservices; i++) {
		if (strcmp(conf->services[i].name, name) == 0)
			return i;
	}
	return -1;
}

/* Adds a named section's structure with its defaults; returns its index. */
static int
conf_named_add(struct conf_parse *cp, enum conf_kind kind, const char *name)
{
	struct conf	*conf = cp->conf;
	void		*base;
	char		*dst;
	int		 i;

	switch (kind) {
	case CONF_K_SERVICE:
		i = conf->nservices++;
		conf->services = xreallocarray(conf->services,
		    (size_t)conf->nservices, sizeof(*conf->services));
		base = &conf->services[i];
		memset(base, 0, sizeof(*conf->services));
		dst = conf->services[i].name;
		break;
	case CONF_K_LOG:
		i = conf->nlogs++;
		conf->logs = xreallocarray(conf->logs, (size_t)conf->nlogs,
		    sizeof(*conf->logs));
		base = &conf->logs[i];
		memset(base, 0, sizeof(*conf->logs));
		dst = conf->logs[i].name;
		break;
	case CONF_K_ALERT:
		i = conf->nalerts++;
		conf->alerts = xreallocarray(conf->alerts,
		    (size_t)conf->nalerts, sizeof(*conf->alerts));
		base = &conf->alerts[i];
		memset(base, 0, sizeof(*conf->alerts));
		dst = conf->alerts[i].name;
		break;
	case CONF_K_OVERRIDE:
		i = conf->noverrides++;
		conf->overrides = xreallocarray(conf->overrides,
		    (size_t)conf->noverrides, sizeof(*conf->overrides));
		base = &conf->overrides[i];
		memset(base, 0, sizeof(*conf->overrides));
		dst = conf->overrides[i].name;
		break;
	default:
		fatalx("%s: section kind %d has no name", __func__, kind);
	}
	snprintf(dst, CONF_NAME_MAX, "%s", name);
	conf_defaults(cp, kind, base);
	return i;
}

/* The structure a section's keys land in. */
static void *
conf_base(struct conf *conf, enum conf_kind kind, int idx)
{
	switch (kind) {
	case CONF_K_SERVICE:
		return &conf->services[idx];
	case CONF_K_LOG:
		return &conf->logs[idx];
	case CONF_K_OVERRIDE:
		return &conf->overrides[idx];
	case CONF_K_ALERT:
		return &conf->alerts[idx];
	default:
		return conf;
	}
}

/* The file's section for a structure, or NULL (a built-in not in it). */
static const struct conf_sect *
conf_sect_of(const struct conf_parse *cp, enum conf_kind kind, int idx)
{
	int	i;

	for (i = 0; i < cp->nsects; i++) {
		if (cp->sects[i].kind == kind && cp->sects[i].idx == idx)
			return &cp->sects[i];
	}
	return NULL;
}

/*
 * Setting values.
 */

static void
conf_error_value(struct conf_parse *cp, const struct conf_directive *d,
    const char *value, const char *why)
{
	char	esc[CONF_ESC];

	conf_error(cp, cp->lineno, "%s: bad %s '%s': %s", d->name,
	    conf_type_names[d->type], conf_esc(esc, sizeof(esc), value), why);
}

void
conf_fmt_bound(const struct conf_directive *d, int64_t v, char *buf,
    size_t size)
{
	switch (d->type) {
	case CONF_T_DURATION:
		conf_fmt_duration(v, buf, size);
		break;
	case CONF_T_SIZE:
		conf_fmt_size((uint64_t)v, buf, size);
		break;
	default:
		snprintf(buf, size, "%" PRId64, v);
		break;
	}
}

/* 0 if v is within the directive's bounds, else reports it. */
static int
conf_check_range(struct conf_parse *cp, const struct conf_directive *d,
    uint64_t v, const char *what, const char *value)
{
	char	lo[32], hi[32], esc[CONF_ESC];

	if (v >= (uint64_t)d->min && v <= (uint64_t)d->max)
		return 0;
	conf_fmt_bound(d, d->min, lo, sizeof(lo));
	conf_fmt_bound(d, d->max, hi, sizeof(hi));
	conf_error(cp, cp->lineno, "%s: %s'%s' is out of range (%s to %s)",
	    d->name, what, conf_esc(esc, sizeof(esc), value), lo, hi);
	return -1;
}

static void
conf_set_enum(struct conf_parse *cp, const struct conf_directive *d,
    void *base, const char *value)
{
	char		 list[256], esc[CONF_ESC], hint[64];
	const char	*s;
	size_t		 i, n, len = 0;

	for (n = 0; d->values[n] != NULL; n++) {
		if (strcmp(d->values[n], value) == 0) {
			*CONF_FIELD(base, d->off, int) = (int)n;
			return;
		}
	}
	list[0] = '\0';
	for (i = 0; i < n; i++) {
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", d->values[i]);
		if (len >= sizeof(list))
			fatalx("%s: %s: values too long", __func__, d->name);
	}
	hint[0] = '\0';
	if ((s = conf_suggest(value, d->values, n)) != NULL)
		snprintf(hint, sizeof(hint), "; did you mean '%s'?", s);
	conf_error(cp, cp->lineno, "%s: unknown value '%s'; expected %s%s",
	    d->name, conf_esc(esc, sizeof(esc), value), list, hint);
}

/* Splits the next item off a list; items are separated by commas and
 * blanks.  Returns its length, 0 at the end. */
static size_t
conf_list_next(const char **sp, const char **item)
{
	const char	*s = *sp;
	size_t		 n;

	s += strspn(s, ", \t");
	n = strcspn(s, ", \t");
	*item = s;
	*sp = s + n;
	return n;
}

/*
 * The start of a list: "none" or nothing empties it; "none" also closes
 * it, while an empty first line may be followed by indented items.
 * Returns 1 if the value needs no further reading.
 */
static int
conf_list_start(struct conf_parse *cp, const struct conf_directive *d,
    const char *value, int append)
{
	int	none = strcmp(value, "none") == 0;

	if (!append) {
		cp->prev_none = none;
		return none || *value == '\0';
	}
	if (none) {
		conf_error(cp, cp->lineno, "%s: 'none' cannot be one of "
		    "several values", d->name);
		return 1;
	}
	if (cp->prev_none) {
		conf_error(cp, cp->lineno, "%s: set to none above, so an "
		    "indented line cannot add to it", d->name);
		return 1;
	}
	return 0;
}

static void
conf_set_ports(struct conf_parse *cp, const struct conf_directive *d,
    void *base, const char *value, int append)
{
	uint16_t	*ports = CONF_FIELD(base, d->off, uint16_t);
	int		*n = CONF_FIELD(base, d->noff, int);
	char		 tok[CONF_LINE_MAX + 1], esc[CONF_ESC];
	const char	*item, *end, *why;
	uint64_t	 port;
	size_t		 len;
	int		 i;

	if (!append)
		*n = 0;
	if (conf_list_start(cp, d, value, append))
		return;
	while ((len = conf_list_next(&value, &item)) > 0) {
		if (len >= sizeof(tok))
			len = sizeof(tok) - 1;
		memcpy(tok, item, len);
		tok[len] = '\0';
		if (strcmp(tok, "none") == 0) {
			conf_error(cp, cp->lineno, "%s: 'none' cannot be one "
			    "of several values", d->name);
			continue;
		}
		end = tok;
		if (conf_number(&end, &port, &why) == -1 || *end != '\0' ||
		    port < (uint64_t)d->min || port > (uint64_t)d->max) {
			conf_error(cp, cp->lineno, "%s: bad port '%s' (use %"
			    PRId64 " to %" PRId64 ")", d->name,
			    conf_esc(esc, sizeof(esc), tok), d->min, d->max);
			continue;
		}
		for (i = 0; i < *n && ports[i] != port; i++)
			;
		if (i < *n) {
			conf_error(cp, cp->lineno, "%s: port %" PRIu64
			    " listed twice", d->name, port);
			continue;
		}
		if (*n == CONF_PORTS_MAX) {
			conf_error(cp, cp->lineno, "%s: too many ports (at "
			    "most %d)", d->name, CONF_PORTS_MAX);
			return;
		}
		ports[(*n)++] = (uint16_t)port;
	}
}

static void
conf_set_networks(struct conf_parse *cp, const struct conf_directive *d,
    void *base, const char *value, int append)
{
	struct prefix	**arr = CONF_FIELD(base, d->off, struct prefix *);
	int		 *n = CONF_FIELD(base, d->noff, int);
	char		  tok[CONF_LINE_MAX + 1], esc[CONF_ESC];
	char		  fixed[ADDR_PREFIX_STRLEN];
	const char	 *item;
	struct prefix	  p;
	size_t		  len;

	if (!append) {
		free(*arr);
		*arr = NULL;
		*n = 0;
	}
	if (conf_list_start(cp, d, value, append))
		return;
	while ((len = conf_list_next(&value, &item)) > 0) {
		if (len >= sizeof(tok))
			len = sizeof(tok) - 1;
		memcpy(tok, item, len);
		tok[len] = '\0';
		if (strcmp(tok, "none") == 0) {
			conf_error(cp, cp->lineno, "%s: 'none' cannot be one "
			    "of several values", d->name);
			continue;
		}
		if (addr_prefix_parse(tok, &p, 0) == -1) {
			conf_esc(esc, sizeof(esc), tok);
			if (addr_prefix_parse(tok, &p, 1) == 0)
				conf_error(cp, cp->lineno, "%s: '%s' has host "
				    "bits set; did you mean %s?", d->name, esc,
				    addr_prefix_ntop(&p, fixed, sizeof(fixed)));
			else
				conf_error(cp, cp->lineno, "%s: bad network "
				    "'%s'", d->name, esc);
			continue;
		}
		if (*n == CONF_NETWORKS_MAX) {
			conf_error(cp, cp->lineno, "%s: too many networks (at "
			    "most %d)", d->name, CONF_NETWORKS_MAX);
			return;
		}
		/* Capacity doubles at each power of two from 8. */
		if (*n == 0 || (*n >= 8 && (*n & (*n - 1)) == 0))
			*arr = xreallocarray(*arr, *n == 0 ? 8 : (size_t)*n * 2,
			    sizeof(**arr));
		(*arr)[(*n)++] = p;
	}
}

/* Sets (or, for a list, extends) a directive's field from text. */
static void
conf_set(struct conf_parse *cp, const struct conf_directive *d, void *base,
    const char *value, int append)
{
	struct conf_rate	 rate;
	struct conf_karma	 karma;
	const char		*why, *end;
	char			**sp;
	uint64_t		 u;
	int64_t			 dur;
	int			 b;

	switch (d->type) {
	case CONF_T_BOOL:
		if ((b = conf_parse_bool(value)) == -1)
			conf_error_value(cp, d, value, "expected yes or no");
		else
			*CONF_FIELD(base, d->off, int) = b;
		break;
	case CONF_T_UINT:
		end = value;
		if (conf_number(&end, &u, &why) == -1)
			conf_error_value(cp, d, value, why);
		else if (*end != '\0')
			conf_error_value(cp, d, value, "expected a number");
		else if (conf_check_range(cp, d, u, "", value) == 0)
			*CONF_FIELD(base, d->off, uint32_t) = (uint32_t)u;
		break;
	case CONF_T_DURATION:
		if (conf_parse_duration(value, &dur, &why) == -1)
			conf_error_value(cp, d, value, why);
		else if (conf_check_range(cp, d, (uint64_t)dur, "", value) == 0)
			*CONF_FIELD(base, d->off, int64_t) = dur;
		break;
	case CONF_T_SIZE:
		if (conf_parse_size(value, &u, &why) == -1)
			conf_error_value(cp, d, value, why);
		else if (conf_check_range(cp, d, u, "", value) == 0)
			*CONF_FIELD(base, d->off, uint64_t) = u;
		break;
	case CONF_T_RATE:
		if (conf_parse_rate(value, &rate, &why) == -1)
			conf_error_value(cp, d, value, why);
		else if (conf_check_range(cp, d, rate.count, "count in ",
		    value) == 0)
			*CONF_FIELD(base, d->off, struct conf_rate) = rate;
		break;
	case CONF_T_KARMA:
		if (conf_parse_karma(value, &karma, &why) == -1)
			conf_error_value(cp, d, value, why);
		else
			*CONF_FIELD(base, d->off, struct conf_karma) = karma;
		break;
	case CONF_T_STRING:
	case CONF_T_PATH:
		if (*value == '\0' && !(d->flags & CONF_F_EMPTY))
			conf_error(cp, cp->lineno, "%s: empty value", d->name);
		else if (d->type == CONF_T_PATH && *value != '\0' &&
		    *value != '/')
			conf_error_value(cp, d, value,
			    "not an absolute path");
		else if (strlen(value) > (size_t)d->max)
			conf_error(cp, cp->lineno, "%s: too long (at most %"
			    PRId64 " bytes)", d->name, d->max);
		else {
			sp = CONF_FIELD(base, d->off, char *);
			free(*sp);
			*sp = xstrdup(value);
		}
		break;
	case CONF_T_ENUM:
		conf_set_enum(cp, d, base, value);
		break;
	case CONF_T_PORTS:
		conf_set_ports(cp, d, base, value, append);
		break;
	case CONF_T_NETWORKS:
		conf_set_networks(cp, d, base, value, append);
		break;
	}
}

/*
 * Reading the file.
 */

static char *
conf_lskip(char *s)
{
	return s + strspn(s, " \t");
}

static void
conf_rstrip(char *s)
{
	size_t	n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* No valid section is current: keys are ignored until the next header,
 * so one bad header is one error, not one per key. */
static void
conf_section_invalid(struct conf_parse *cp)
{
	cp->cur = -1;
	cp->skip = 1;
	cp->prev = NULL;
}

static int
conf_name_ok(const char *s)
{
	size_t	n = strlen(s);

	return n > 0 && n < CONF_NAME_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A section header's text, between the brackets. */
static void
conf_section(struct conf_parse *cp, const char *text)
{
	const char		*cands[nitems(conf_kinds)], *hint;
	const struct conf_sect	*old;
	struct conf_sect	*sect;
	char			 copy[CONF_LINE_MAX + 1];
	char			*kind, *name, *extra, esc[CONF_ESC];
	char			 label[CONF_ESC];
	size_t			 k;
	int			 i, idx, builtin = 0;

	conf_section_invalid(cp);
	snprintf(copy, sizeof(copy), "%s", text);
	kind = conf_lskip(copy);
	conf_rstrip(kind);
	name = kind + strcspn(kind, " \t");
	if (*name != '\0') {
		*name++ = '\0';
		name = conf_lskip(name);
	}
	extra = name + strcspn(name, " \t");
	if (*kind == '\0') {
		conf_error(cp, cp->lineno, "empty section header");
		return;
	}
	for (k = 0; k < nitems(conf_kinds); k++) {
		if (strcmp(conf_kinds[k].name, kind) == 0)
			break;
		cands[k] = conf_kinds[k].name;
	}
	if (k == nitems(conf_kinds)) {
		conf_esc(esc, sizeof(esc), kind);
		if ((hint = conf_suggest(kind, cands, nitems(cands))) != NULL)
			conf_error(cp, cp->lineno, "unknown section [%s]; did "
			    "you mean [%s]?", esc, hint);
		else
			conf_error(cp, cp->lineno, "unknown section [%s]", esc);
		return;
	}
	if (conf_kinds[k].named && *name == '\0') {
		conf_error(cp, cp->lineno, "[%s] needs a name: [%s NAME]",
		    kind, kind);
		return;
	}
	if (!conf_kinds[k].named && *name != '\0') {
		conf_error(cp, cp->lineno, "[%s] takes no name", kind);
		return;
	}
	if (*extra != '\0' || (*name != '\0' && !conf_name_ok(name))) {
		conf_error(cp, cp->lineno, "bad %s name '%s' (use 1 to %d of "
		    "a-z, 0-9, '_' and '-')", kind, conf_esc(esc, sizeof(esc),
		    name), CONF_NAME_MAX - 1);
		return;
	}

	for (i = 0; i < cp->nsects; i++) {
		old = &cp->sects[i];
		if (old->kind == (enum conf_kind)k &&
		    strcmp(old->name, name) == 0) {
			conf_error(cp, cp->lineno, "[%s] already defined at "
			    "line %d", conf_sect_label(old->kind, old->name,
			    label, sizeof(label)), old->line);
			return;
		}
	}
	if (cp->nsects == CONF_SECTIONS_MAX) {
		conf_error(cp, cp->lineno, "too many sections (at most %d)",
		    CONF_SECTIONS_MAX);
		return;
	}

	idx = -1;
	if (conf_kinds[k].named) {
		/* Built-ins are the only services with no section yet. */
		if (k == CONF_K_SERVICE &&
		    (idx = conf_service_find(cp->conf, name)) != -1)
			builtin = 1;
		else
			idx = conf_named_add(cp, (enum conf_kind)k, name);
	}
	cp->sects = xreallocarray(cp->sects, (size_t)cp->nsects + 1,
	    sizeof(*cp->sects));
	sect = &cp->sects[cp->nsects];
	memset(sect, 0, sizeof(*sect));
	sect->kind = (enum conf_kind)k;
	snprintf(sect->name, sizeof(sect->name), "%s", name);
	sect->idx = idx;
	sect->line = cp->lineno;
	sect->builtin = builtin;
	cp->cur = cp->nsects++;
	cp->skip = 0;
}

static void
conf_key(struct conf_parse *cp, const char *name, const char *value)
{
	const char			*cands[CONF_DIRECTIVES_MAX], *hint;
	const struct conf_directive	*d;
	struct conf_sect		*sect;
	char				 esc[CONF_ESC], label[CONF_ESC];
	size_t				 i, n = 0;

	cp->prev = NULL;
	if (cp->skip)
		return;
	conf_esc(esc, sizeof(esc), name);
	if (cp->cur == -1) {
		for (i = 0; i < nitems(conf_directives); i++) {
			if (strcmp(conf_directives[i].name, name) == 0)
				break;
		}
		if (i < nitems(conf_directives))
			conf_error(cp, cp->lineno, "'%s' before any section "
			    "(it belongs in [%s%s])", esc,
			    conf_kinds[conf_directives[i].kind].name,
			    conf_kinds[conf_directives[i].kind].named ?
			    " NAME" : "");
		else
			conf_error(cp, cp->lineno, "'%s' before any section",
			    esc);
		return;
	}
	sect = &cp->sects[cp->cur];
	conf_sect_label(sect->kind, sect->name, label, sizeof(label));
	if ((d = conf_directive_find(sect->kind, name)) == NULL) {
		for (i = 0; i < nitems(conf_directives); i++) {
			if (conf_directives[i].kind == sect->kind)
				cands[n++] = conf_directives[i].name;
		}
		if ((hint = conf_suggest(name, cands, n)) != NULL)
			conf_error(cp, cp->lineno, "unknown key '%s' in [%s]; "
			    "did you mean '%s'?", esc, label, hint);
		else
			conf_error(cp, cp->lineno, "unknown key '%s' in [%s]",
			    esc, label);
		return;
	}
	i = conf_directive_index(d);
	if (sect->keyline[i] != 0) {
		conf_error(cp, cp->lineno, "duplicate key '%s', first set at "
		    "line %d", d->name, sect->keyline[i]);
		return;
	}
	sect->keyline[i] = cp->lineno;
	cp->prev = d;
	conf_set(cp, d, conf_base(cp->conf, sect->kind, sect->idx), value, 0);
}

static void
conf_continue(struct conf_parse *cp, const char *value)
{
	const struct conf_directive	*d = cp->prev;
	const struct conf_sect		*sect;

	if (cp->skip || d == NULL)
		return;
	if (*value == '[' || strchr(value, '=') != NULL) {
		conf_error(cp, cp->lineno, "indented line continues '%s'; "
		    "remove the indentation to start a new key or section",
		    d->name);
		return;
	}
	if (d->type != CONF_T_PORTS && d->type != CONF_T_NETWORKS) {
		conf_error(cp, cp->lineno, "'%s' takes one value, but an "
		    "indented line continues the one before", d->name);
		return;
	}
	sect = &cp->sects[cp->cur];
	conf_set(cp, d, conf_base(cp->conf, sect->kind, sect->idx), value, 1);
}

/* The reader's items; cp->lineno follows them for every message. */
static int
conf_item(void *arg, const struct inifile_item *item)
{
	struct conf_parse	*cp = arg;

	cp->lineno = item->line;
	switch (item->type) {
	case INIFILE_SECTION:
		if (item->name == NULL)
			conf_section_invalid(cp);
		else
			conf_section(cp, item->name);
		break;
	case INIFILE_KEY:
		conf_key(cp, item->name, item->value);
		break;
	case INIFILE_CONT:
		conf_continue(cp, item->value);
		break;
	}
	return cp->stop ? -1 : 0;
}

/* A line the reader refused (and what it said why). */
static int
conf_refused(void *arg, int line, const char *msg)
{
	struct conf_parse	*cp = arg;

	conf_error(cp, line, "%s", msg);
	cp->prev = NULL;
	return cp->stop ? -1 : 0;
}

static const struct inifile_ops conf_ini = {
	.flags = INIFILE_COMMENTS | INIFILE_CONTINUE | INIFILE_COLON,
	.line_max = CONF_LINE_MAX,
	.item = conf_item,
	.error = conf_refused,
};

/*
 * Checks that need the whole file.
 */

/* The line to blame for a directive of a section, else its header's. */
static int
conf_blame(const struct conf_sect *sect, const struct conf_directive *d)
{
	if (sect == NULL)
		return 0;
	if (sect->keyline[conf_directive_index(d)] != 0)
		return sect->keyline[conf_directive_index(d)];
	return sect->line;
}

static void
conf_check_required(struct conf_parse *cp)
{
	const struct conf_directive	*d;
	const struct conf_sect		*sect;
	char				 label[CONF_ESC];
	size_t				 i;
	int				 s, line;

	for (s = 0; s < cp->nsects; s++) {
		sect = &cp->sects[s];
		conf_sect_label(sect->kind, sect->name, label, sizeof(label));
		for (i = 0; i < nitems(conf_directives); i++) {
			d = &conf_directives[i];
			if (d->kind != sect->kind)
				continue;
			line = sect->keyline[i];
			if (line == 0 && ((d->flags & CONF_F_REQUIRED) ||
			    ((d->flags & CONF_F_NEWREQ) && !sect->builtin)))
				conf_error(cp, sect->line, "[%s] needs '%s'",
				    label, d->name);
			else if (line != 0 && (d->flags & CONF_F_REQUIRED) &&
			    d->type == CONF_T_NETWORKS &&
			    *CONF_FIELD(conf_base(cp->conf, sect->kind,
			    sect->idx), d->noff, int) == 0)
				conf_error(cp, line, "%s: at least one network "
				    "is needed", d->name);
		}
	}
}

static void
conf_check_overrides(struct conf_parse *cp)
{
	const struct conf_override	*o;
	int				 i;

	for (i = 0; i < cp->conf->noverrides; i++) {
		o = &cp->conf->overrides[i];
		if (o->max_concurrent == 0 && o->max_new.count == 0)
			conf_error(cp, conf_sect_of(cp, CONF_K_OVERRIDE,
			    i)->line, "[override %s] sets neither "
			    "max_concurrent nor max_new", o->name);
	}
}

static void
conf_check_logs(struct conf_parse *cp)
{
	const struct conf_directive	*d;
	const struct conf_log		*a, *b;
	int				 i, j;

	d = conf_directive_find(CONF_K_LOG, "path");
	for (i = 0; i < cp->conf->nlogs; i++) {
		a = &cp->conf->logs[i];
		for (j = 0; j < i && a->path != NULL; j++) {
			b = &cp->conf->logs[j];
			if (b->path != NULL && strcmp(a->path, b->path) == 0) {
				conf_error(cp, conf_blame(conf_sect_of(cp,
				    CONF_K_LOG, i), d), "[log %s] follows the "
				    "same file as [log %s]", a->name, b->name);
				break;
			}
		}
	}
}

/*
 * [alert NAME]: the event list parsed, the URL one libcurl takes, what a
 * type needs (Matrix: a room and a token) and nothing meant for another
 * type, a template without unknown placeholders.
 */
static void
conf_check_alerts(struct conf_parse *cp)
{
	struct conf_alert		*a;
	const struct conf_sect		*sect;
	const char			*why;
	int				 i, matrix;

	for (i = 0; i < cp->conf->nalerts; i++) {
		a = &cp->conf->alerts[i];
		sect = conf_sect_of(cp, CONF_K_ALERT, i);
		if (i == CONF_ALERTS_MAX)
			conf_error(cp, sect->line, "too many [alert] sections "
			    "(at most %d)", CONF_ALERTS_MAX);
		if (a->events != NULL && conf_parse_alert_events(a->events,
		    &a->event_mask, &why) == -1)
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "events")), "events: %s", why);
		/* The URL may hold a token: never quote it. */
		if (a->url != NULL && !http_url_ok(a->url))
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "url")), "url: not an http:// or "
			    "https:// URL with a host");
		matrix = a->type == CONF_ALERT_MATRIX;
		if (matrix && (a->room[0] != '!' || strchr(a->room, ':') ==
		    NULL || strpbrk(a->room, " \t/?#") != NULL))
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "room")), "[alert %s] type matrix "
			    "needs 'room', a room id such as "
			    "!abcdef:example.org", a->name);
		if (matrix && a->token[0] == '\0')
			conf_error(cp, sect->line, "[alert %s] type matrix "
			    "needs 'token', the bot's access token", a->name);
		if (matrix && strpbrk(a->token, " \t") != NULL)
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "token")), "token: blanks in it");
		if (!matrix && (a->room[0] != '\0' || a->token[0] != '\0'))
			conf_error(cp, sect->line, "[alert %s]: room and token "
			    "are for type matrix only", a->name);
		if (a->type != CONF_ALERT_JSON && a->tmpl[0] != '\0')
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "template")), "template: for type "
			    "json only");
		if (a->tmpl[0] != '\0' && alert_template_check(a->tmpl,
		    &why) == -1)
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "template")), "template: %s", why);
	}
}

/* No port in two services: a connection would count twice, or where? */
/* [metrics] listen: an address and a port the endpoint can bind. */
static void
conf_check_metrics(struct conf_parse *cp)
{
	char		 addr[INET6_ADDRSTRLEN], esc[CONF_ESC];
	uint16_t	 port;

	if (*cp->conf->metrics_listen == '\0' ||
	    metrics_parse_listen(cp->conf->metrics_listen, addr,
	    sizeof(addr), &port) == 0)
		return;
	conf_error(cp, conf_blame(conf_sect_of(cp, CONF_K_METRICS, -1),
	    conf_directive_find(CONF_K_METRICS, "listen")),
	    "listen: '%s' is not ADDR:PORT with an IP address and a port "
	    "from 1 to 65535", conf_esc(esc, sizeof(esc),
	    cp->conf->metrics_listen));
}

static void
conf_check_ports(struct conf_parse *cp)
{
	const struct conf_directive	*d;
	const struct conf_service	*a, *b;
	const struct conf_sect		*sa, *sb;
	const char			*builtin;
	char				 hint[128];
	uint16_t			*owner;
	int				 i, j, line;

	d = conf_directive_find(CONF_K_SERVICE, "ports");
	owner = xcalloc(65536, sizeof(*owner));
	for (i = 0; i < cp->conf->nservices; i++) {
		a = &cp->conf->services[i];
		for (j = 0; j < a->nports; j++) {
			if (owner[a->ports[j]] == 0) {
				owner[a->ports[j]] = (uint16_t)(i + 1);
				continue;
			}
			b = &cp->conf->services[owner[a->ports[j]] - 1];
			sa = conf_sect_of(cp, CONF_K_SERVICE, i);
			sb = conf_sect_of(cp, CONF_K_SERVICE,
			    owner[a->ports[j]] - 1);
			/* Blame the one the file changed. */
			if ((line = conf_blame(sa, d)) == 0)
				line = conf_blame(sb, d);
			builtin = sa == NULL ? a->name : sb == NULL ? b->name :
			    NULL;
			if (builtin != NULL)
				snprintf(hint, sizeof(hint), " (the built-in "
				    "%s keeps its ports unless its section "
				    "sets 'ports = none')", builtin);
			else
				hint[0] = '\0';
			conf_error(cp, line, "port %u is in both [service %s] "
			    "and [service %s]%s", (unsigned int)a->ports[j],
			    b->name, a->name, hint);
		}
	}
	free(owner);
}

/*
 * The logs the built-in configuration follows when they exist: where the
 * Debian packages of the servers write them, each read by the filter of
 * the same name.
 */
static const struct {
	const char	*name;
	const char	*path;
} conf_default_logs[] = {
	{ "prosody",	"/var/log/prosody/prosody.log" },
	{ "ejabberd",	"/var/log/ejabberd/ejabberd.log" },
	{ "jabberd2",	"/var/log/jabberd2/c2s.log" },
};

/*
 * Public functions.
 */

int
conf_load(const char *path, struct conf **confp, char **cause)
{
	struct conf_parse	cp;
	FILE			*fp;
	size_t			i;

	memset(&cp, 0, sizeof(cp));
	cp.conf = xcalloc(1, sizeof(*cp.conf));
	cp.cur = -1;
	conf_defaults(&cp, CONF_K_GLOBAL, cp.conf);
	conf_defaults(&cp, CONF_K_STORE, cp.conf);
	conf_defaults(&cp, CONF_K_CONNTRACK, cp.conf);
	conf_defaults(&cp, CONF_K_TRACK, cp.conf);
	conf_defaults(&cp, CONF_K_AUTH, cp.conf);
	conf_defaults(&cp, CONF_K_BAN, cp.conf);
	conf_defaults(&cp, CONF_K_ALLOW, cp.conf);
	conf_defaults(&cp, CONF_K_METRICS, cp.conf);
	cp.in_default++;
	for (i = 0; i < nitems(conf_builtins); i++) {
		void	*svc = conf_base(cp.conf, CONF_K_SERVICE,
			    conf_named_add(&cp, CONF_K_SERVICE,
			    conf_builtins[i].name));

		conf_set(&cp, conf_directive_find(CONF_K_SERVICE, "ports"),
		    svc, conf_builtins[i].ports, 0);
		conf_set(&cp, conf_directive_find(CONF_K_SERVICE,
		    "max_concurrent"), svc, conf_builtins[i].max_concurrent, 0);
		conf_set(&cp, conf_directive_find(CONF_K_SERVICE, "max_new"),
		    svc, conf_builtins[i].max_new, 0);
		conf_set(&cp, conf_directive_find(CONF_K_SERVICE, "karma"),
		    svc, conf_builtins[i].karma, 0);
		conf_set(&cp, conf_directive_find(CONF_K_SERVICE,
		    "net_max_concurrent"), svc,
		    conf_builtins[i].net_max_concurrent, 0);
		conf_set(&cp, conf_directive_find(CONF_K_SERVICE,
		    "net_max_new"), svc, conf_builtins[i].net_max_new, 0);
	}
	/* No file: follow the logs a packaged server writes, if present. */
	for (i = 0; path == NULL && i < nitems(conf_default_logs); i++) {
		void	*lg;

		if (access(conf_default_logs[i].path, R_OK) == -1)
			continue;
		lg = conf_base(cp.conf, CONF_K_LOG, conf_named_add(&cp,
		    CONF_K_LOG, conf_default_logs[i].name));
		conf_set(&cp, conf_directive_find(CONF_K_LOG, "path"), lg,
		    conf_default_logs[i].path, 0);
		conf_set(&cp, conf_directive_find(CONF_K_LOG, "filter"), lg,
		    conf_default_logs[i].name, 0);
	}
	cp.in_default--;

	if (path != NULL) {
		cp.path = path;
		cp.conf->path = xstrdup(path);
		if ((fp = fopen(path, "re")) == NULL)
			conf_error(&cp, 0, "%s", strerror(errno));
		else {
			if (inifile_parse_file(&conf_ini, fp, &cp) == -1)
				conf_error(&cp, 0, "read error: %s",
				    strerror(errno));
			fclose(fp);
			if (!cp.stop) {
				conf_check_required(&cp);
				conf_check_overrides(&cp);
				conf_check_logs(&cp);
				conf_check_ports(&cp);
				conf_check_alerts(&cp);
				conf_check_metrics(&cp);
			}
		}
	}
	free(cp.sects);
	if (cp.nerrors > 0) {
		conf_free(cp.conf);
		*cause = cp.errors;
		return -1;
	}

	if (*cp.conf->db_path == '\0') {
		free(cp.conf->db_path);
		cp.conf->db_path = xasprintf("%s/%s", cp.conf->state_dir,
		    CONF_DB_NAME);
	}
	*confp = cp.conf;
	return 0;
}

struct conf *
conf_load_command(const char *path)
{
	struct conf	*conf;
	char		*cause;

	if (path == NULL && access(CONF_DEFAULT_PATH, F_OK) == 0)
		path = CONF_DEFAULT_PATH;
	if (conf_load(path, &conf, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return NULL;
	}
	return conf;
}

void
conf_free(struct conf *conf)
{
	int	i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nservices; i++)
		conf_sect_clear(CONF_K_SERVICE, &conf->services[i]);
	for (i = 0; i < conf->nlogs; i++)
		conf_sect_clear(CONF_K_LOG, &conf->logs[i]);
	for (i = 0; i < conf->noverrides; i++)
		conf_sect_clear(CONF_K_OVERRIDE, &conf->overrides[i]);
	for (i = 0; i < conf->nalerts; i++)
		conf_sect_clear(CONF_K_ALERT, &conf->alerts[i]);
	conf_sect_clear(CONF_K_GLOBAL, conf);
	conf_sect_clear(CONF_K_STORE, conf);
	conf_sect_clear(CONF_K_CONNTRACK, conf);
	conf_sect_clear(CONF_K_TRACK, conf);
	conf_sect_clear(CONF_K_AUTH, conf);
	conf_sect_clear(CONF_K_BAN, conf);
	conf_sect_clear(CONF_K_ALLOW, conf);
	conf_sect_clear(CONF_K_METRICS, conf);
	free(conf->services);
	free(conf->logs);
	free(conf->overrides);
	free(conf->alerts);
	free(conf->path);
	free(conf);
}

const struct conf_service *
conf_service_by_port(const struct conf *conf, uint16_t port)
{
	int	i, j;

	/* A handful of services and ports: a scan beats any index. */
	for (i = 0; i < conf->nservices; i++) {
		for (j = 0; j < conf->services[i].nports; j++) {
			if (conf->services[i].ports[j] == port)
				return &conf->services[i];
		}
	}
	return NULL;
}
