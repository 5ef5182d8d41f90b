/*
 * Configuration: an INI file (read by inifile.c) interpreted through one
 * table of directives.  The same table gives the defaults, drives parsing
 * and validation, prints the effective configuration (check-config) and
 * generates the reference, xmppguard.conf(5).
 *
 * A struct conf is immutable once loaded: reload builds a new one and the
 * daemon swaps it in only if it loaded without error.
 */
#ifndef CONF_H
#define CONF_H

#include <stdint.h>
#include <stdio.h>

#include "addr.h"

#define CONF_DEFAULT_PATH	XG_SYSCONFDIR "/xmppguard/xmppguard.conf"
#define CONF_NAME_MAX		32	/* service, log, override names */
#define CONF_PORTS_MAX		16	/* ports per service */
/* Ports of all the enabled services together: what a firewall's set of
 * the services' ports must hold.  conf_load() refuses more. */
#define CONF_PORTS_TOTAL_MAX	64

/* "120/1h": at most count events per window. count 0 means no limit. */
struct conf_rate {
	uint32_t	 count;
	int64_t		 window;	/* us */
};

/* "10k/s burst 256k": jabberd 1.x karma, a byte budget per address that
 * refills at rate bytes per second up to burst bytes.  rate 0: off. */
struct conf_karma {
	uint64_t	 rate;		/* bytes per second */
	uint64_t	 burst;		/* bytes */
};

enum conf_karma_action {
	CONF_KARMA_BAN,
	CONF_KARMA_THROTTLE
};

enum conf_firewall {
	CONF_FW_NFTABLES,
	CONF_FW_IPSET,
	CONF_FW_IPTABLES,
	CONF_FW_COMMAND,
	CONF_FW_WEBHOOK,
	CONF_FW_NONE
};

#define CONF_ALERTS_MAX		16	/* [alert NAME] sections */

/* [alert NAME] type: where and in which dialect alerts are sent. */
enum conf_alert_type {
	CONF_ALERT_SLACK,
	CONF_ALERT_MATTERMOST,
	CONF_ALERT_ROCKETCHAT,
	CONF_ALERT_MATRIX,
	CONF_ALERT_DISCORD,
	CONF_ALERT_JSON,
	CONF_ALERT_XMPP		/* a client of its own (alert_xmpp.c) */
};

/* [alert NAME] tls, type xmpp: STARTTLS on 5222 or TLS from the start. */
enum conf_alert_tls {
	CONF_ATLS_REQUIRED,
	CONF_ATLS_DIRECT
};

/* What an alert can be about; bit (1 << n) in conf_alert.event_mask. */
enum conf_alert_event {
	CONF_AEV_BAN,		/* a ban issued (or extended) */
	CONF_AEV_UNBAN,		/* lifted by an operator */
	CONF_AEV_ESCALATION,	/* a repeat offender's longer ban */
	CONF_AEV_EXPIRE,	/* a ban ran out */
	CONF_AEV_OVERRUN,	/* conntrack events lost */
	CONF_AEV_OUTAGE,	/* auth bans held: backend outage */
	CONF_AEV_START,
	CONF_AEV_STOP,
	CONF_AEV_STORE_ERROR,	/* bans the store cannot record */
	CONF_AEV_CLUSTER,	/* the [cluster] link down, and back */
	CONF_AEV_PEER,		/* an authenticated federation peer broke
				 * an s2s limit: not banned */
	CONF_AEV_SURGE,		/* a surge began, and ended (surge.c) */
	CONF_AEV_MAX
};

enum conf_severity {
	CONF_SEV_INFO,
	CONF_SEV_WARNING,
	CONF_SEV_CRITICAL
};

/* [alert NAME]: an ops chat or webhook told about what matters. */
struct conf_alert {
	char		 name[CONF_NAME_MAX];
	int		 type;		/* enum conf_alert_type */
	char		*url;		/* webhook, or Matrix homeserver */
	char		*room;		/* Matrix: room id; "" otherwise */
	char		*token;		/* Matrix: access token (a secret) */
	char		*username;	/* shown as sender, "": the hook's */
	char		*icon;		/* emoji name or image URL; "" */
	char		*tmpl;		/* json: body template; "": ours */
	char		*authorization;	/* Authorization header's value
					 * (a secret); "": none */
	char		*events;	/* as written */
	uint32_t	 event_mask;	/* parsed: bits of conf_alert_event */
	int		 min_severity;	/* enum conf_severity */
	int64_t		 digest;	/* us; 0: every ban on its own */
	uint32_t	 digest_after;	/* bans per digest interval sent one
					 * by one before the rest is summed */
	int64_t		 timeout;	/* us, per attempt */
	uint32_t	 retries;
	int64_t		 backoff;	/* us, first retry */
	uint32_t	 queue;		/* messages waiting at most */
	/* type xmpp (room above: the MUC's bare JID). */
	char		*jid;		/* the bot's account */
	char		*password;	/* a secret */
	char		*nick;		/* in the room */
	char		*to;		/* JIDs for chat messages, as written */
	char		*server;	/* host[:port]; "": the JID's domain */
	char		*ca_file;	/* "": the system's CAs */
	int		 tls;		/* enum conf_alert_tls */
	int		 tls_verify;
};

/* [service NAME]: a group of local ports with its own limits. */
struct conf_service {
	char		 name[CONF_NAME_MAX];
	uint16_t	 ports[CONF_PORTS_MAX];
	int		 nports;		/* 0: disabled ("ports = none") */
	uint32_t	 max_concurrent;	/* live connections; 0: none */
	struct conf_rate max_new;		/* completed handshakes */
	struct conf_karma karma;
	/* The same limits for a whole aggregated network (track prefix4 /
	 * prefix6): many addresses of one actor.  0 / count 0: none. */
	uint32_t	 net_max_concurrent;
	struct conf_rate net_max_new;
	int		 kernel_caps;	/* the limits refused in the kernel
					 * (kcap.c), where it can */
	/* Account-aware limits: each distinct account that logged in from
	 * an address (or network) within the max_new window raises its
	 * limits by these, for at most account_max (net_account_max)
	 * accounts.  0: off. */
	uint32_t	 account_allowance_concurrent;
	uint32_t	 account_allowance_new;
	uint32_t	 account_max;
	uint32_t	 net_account_max;
	/* Surge mode (surge.c): strangers' new connections under a tight
	 * kernel cap while the server-wide rate of connections that never
	 * log in is factor times its baseline and at least min_rate. */
	int		 surge;
	uint32_t	 surge_factor;
	struct conf_rate surge_min_rate;	/* also the measuring window */
	struct conf_rate surge_max_new;		/* the strangers' cap */
	int64_t		 surge_end;		/* us below before it ends */
};

/* [log NAME]: a server log file to follow. */
/* [log NAME] format: how a file's lines are written. */
enum conf_log_format {
	CONF_LOG_PLAIN,			/* the server's own lines */
	CONF_LOG_DOCKER_JSON		/* docker's json-file driver */
};

struct conf_log {
	char		 name[CONF_NAME_MAX];
	char		*path;		/* NULL: a journal source */
	char		*filter;	/* filter name or path */
	uint64_t	 max_line;	/* bytes; longer lines are skipped */
	int		 format;	/* enum conf_log_format */
	char		*journal;	/* unit; NULL: a file */
	char		*journal_match;	/* FIELD=VALUE, ...; NULL: none */
	char		*journal_dir;	/* NULL: the system journal */
	int		 found;		/* not written: logs = auto found it
					 * where a package writes it */
};

/* [global] logs: follow the known servers' logs found, or only those
 * written. */
enum conf_logs {
	CONF_LOGS_AUTO,
	CONF_LOGS_NONE
};

/* [override NAME]: higher (or lower) limits for known networks, e.g. a
 * company NAT carrying 150 real users on one address. */
struct conf_override {
	char		 name[CONF_NAME_MAX];
	struct prefix	*networks;
	int		 nnetworks;
	uint32_t	 max_concurrent;	/* 0: keep the service's */
	struct conf_rate max_new;		/* count 0: keep */
	int		 peer_ban;		/* authenticated federation
						 * peers inside are banned,
						 * not only alerted about */
};

struct conf_layers;

struct conf {
	char		*path;		/* file loaded; NULL: built-in */
	struct conf_layers *layers;	/* the files read (the main one,
					 * conf.d, secrets), where each
					 * value came from; NULL: built-in */

	/* [global] */
	char		*state_dir;
	char		*control_socket;
	char		*control_group;	/* "": none */
	char		*control_mode;	/* octal text */
	char		*user;		/* "": stay root */
	enum conf_firewall firewall;
	int		 dry_run;
	int		 log_level;	/* enum log_level */
	int		 logs_mode;	/* enum conf_logs */
	char		*secrets;	/* "": the file secrets beside the
					 * main one, if it exists */

	/* [store] */
	char		*db_path;	/* "" in the file: state_dir/... */
	int64_t		 retention;	/* us; 0 keeps everything */
	uint32_t	 batch_max;	/* rows per transaction at most */

	/* [conntrack] */
	int		 ct_enabled;	/* watch conntrack at all */
	uint64_t	 ct_rcvbuf;	/* netlink receive buffer, bytes */
	uint64_t	 ct_rcvbuf_max;	/* grown up to this on overrun */
	int64_t		 ct_poll;	/* live counter dump interval, us */
	uint32_t	 ct_flows_max;	/* flow table capacity */
	int		 ct_sysctl;	/* turn on acct, timestamps, events */

	/* [track] */
	uint32_t	 track_capacity;	/* addresses and networks */
	uint32_t	 track_known_days;	/* a login within: known */
	int		 track_prefix4;	/* network aggregation, IPv4 */
	int		 track_prefix6;	/* ... IPv6 */
	int64_t		 short_lived;	/* us: shorter connections are
					 * counted as short-lived */

	/* [service NAME], [log NAME], [override NAME] */
	struct conf_service *services;
	int		 nservices;
	struct conf_log	*logs;
	int		 nlogs;
	struct conf_override *overrides;
	int		 noverrides;
	struct conf_alert *alerts;	/* [alert NAME], file order */
	int		 nalerts;

	/* [auth] */
	struct conf_rate auth_max_fail;		/* per address */
	struct conf_rate auth_net_max_fail;	/* per network */
	struct conf_rate auth_max_register;
	struct conf_rate auth_net_max_register;
	uint32_t	 auth_outage_addresses;	/* 0: no outage detection */
	uint32_t	 auth_outage_factor;
	int64_t		 auth_outage_window;	/* us */
	int64_t		 auth_outage_hold;	/* us */
	int64_t		 auth_corroborate;	/* us: a log line is judged
						 * only if conntrack saw a
						 * handshake from its address
						 * this recently (or a live
						 * connection); 0: off */

	/* [ban] */
	int64_t		 ban_duration;		/* us, the first ban */
	int64_t		 ban_rule_duration[6];	/* by enum verdict_rule; 0:
						 * ban_duration */
	uint32_t	 ban_escalate;		/* each repeat: times this */
	int64_t		 ban_max_duration;	/* us */
	int64_t		 ban_memory;		/* us: earlier bans count for
						 * escalation this long */
	int		 ban_prefix4;		/* what one offender's ban */
	int		 ban_prefix6;		/* covers: /32, /64 */
	int		 ban_kill;		/* end live sessions (conntrack) */
	int		 ban_all_ports;		/* drop every port, not only the
						 * services' */
	char		*ban_table;		/* nftables: table (inet) name */
	int		 ban_karma;		/* enum conf_karma_action */
	uint64_t	 ban_throttle;		/* bytes/s for a throttled one */
	char		*ban_command;		/* command backend: argv templates */
	char		*unban_command;
	char		*ban_webhook;		/* webhook backend: URL */
	char		*ban_webhook_auth;	/* its Authorization header's
						 * value (a secret); "": none */
	struct conf_rate ban_cap_persist;	/* refusals by a kernel cap
						 * that ban; count 0: never */
	uint32_t	 ban_cap_group;		/* nflog group of refusals */

	/* [allow] */
	struct prefix	*allow;
	int		 nallow;
	struct prefix	*proxies;	/* never banned either */
	int		 nproxies;
	uint16_t	 proxy_ports[CONF_PORTS_MAX];	/* a ban for what came
					 * through a proxy drops these */
	int		 nproxy_ports;	/* 0: every port */

	/* [metrics] */
	char		*metrics_file;		/* textfile collector; "" */
	int64_t		 metrics_interval;	/* us */
	char		*metrics_listen;	/* "ADDR:PORT"; "" */

	/* [cluster]: bans shared through a CrowdSec Local API */
	char		*cluster_lapi_url;	/* "": no cluster */
	char		*cluster_machine_id;
	char		*cluster_password;	/* secret; read from the file
						 * at load if one is named */
	char		*cluster_password_file;
	char		*cluster_bouncer_key;	/* secret, likewise */
	char		*cluster_bouncer_key_file;
	int		 cluster_push;
	int		 cluster_pull;
	int64_t		 cluster_pull_interval;	/* us */
	int64_t		 cluster_resync_interval;	/* us */
	char		*cluster_origins;	/* "all" or a list */
	char		*cluster_scenario_prefix;
	char		*cluster_ca_file;	/* "": the system's */
	char		*cluster_cert_file;	/* "": none */
	char		*cluster_key_file;
	int64_t		 cluster_timeout;	/* us, each request */
	int64_t		 cluster_down_alert;	/* us; 0: never */
	uint32_t	 cluster_queue_max;

	/* What loaded but goes unseen, said at start and by check-config
	 * only (a server's log left unread, no log at all, a log file
	 * missing): "FILE:LINE: warning: message" or "warning: message"
	 * lines; NULL: none.  (conf_warnings() has the others.) */
	char		*warnings;
};

/*
 * Loads path (NULL: built-in defaults only), then every *.conf of the
 * directory conf.d beside it in name order, then the secrets file (beside
 * it, or [global] secrets).  On success returns 0 and a new configuration
 * in *confp.  On any error returns -1 and in *cause every error found, one
 * "FILE:LINE: message" per line, FILE the one of the error (caller
 * frees); *confp is left untouched.
 */
int	 conf_load(const char *path, struct conf **confp, char **cause);
/*
 * For the commands: loads path, else CONF_DEFAULT_PATH if it exists, else
 * the built-in defaults.  On errors prints them to stderr and returns NULL.
 */
struct conf *conf_load_command(const char *path);
/* The file the commands load: path, else CONF_DEFAULT_PATH if it exists,
 * else NULL (the built-in defaults). */
const char *conf_command_path(const char *path);
/* Logs each of conf->warnings (log_warnx), as the daemon starts; with
 * layers, conf_warnings() first (a reload: nobody saw them on stderr). */
void	 conf_log_warnings(const struct conf *, int layers);
/* Frees a configuration; NULL is a no-op. */
void	 conf_free(struct conf *);
/* What loading found worth saying but not refusing (a secret in a file
 * others may read), one "FILE:LINE: warning: ..." per line; NULL if
 * nothing.  conf_load_command() prints them to stderr. */
const char *conf_warnings(const struct conf *);

/* Writes the effective configuration as a valid INI file. */
void	 conf_print(FILE *, const struct conf *);
/* Writes the directive reference (Markdown) generated from the table. */
void	 conf_reference(FILE *);
/* Writes the manual page xmppguard.conf(5) (roff), from the same table. */
void	 conf_reference_man(FILE *);

/* The service a local port belongs to, or NULL. */
const struct conf_service *conf_service_by_port(const struct conf *,
	    uint16_t port);

/* Parsers for the value syntaxes, shared with the command line.  Each
 * returns 0, or -1 with a short message in *why (static string). */
int	 conf_parse_duration(const char *, int64_t *us, const char **why);
int	 conf_parse_size(const char *, uint64_t *bytes, const char **why);
int	 conf_parse_rate(const char *, struct conf_rate *, const char **why);
int	 conf_parse_karma(const char *, struct conf_karma *, const char **why);
/* Alert event names ("ban", "auth-outage", ...), by enum conf_alert_event,
 * NULL-terminated; severity names likewise. */
extern const char *const conf_alert_event_names[];
extern const char *const conf_severity_names[];
/* A list of alert event names (commas or blanks; "all"; "none") into a
 * mask of (1 << enum conf_alert_event). */
int	 conf_parse_alert_events(const char *, uint32_t *mask,
	    const char **why);
/* Prints a duration in the largest unit that divides it ("90s", "1h"). */
char	*conf_fmt_duration(int64_t us, char *buf, size_t size);
/* Prints a size in the largest binary unit that divides it ("256k"). */
char	*conf_fmt_size(uint64_t bytes, char *buf, size_t size);

#endif /* CONF_H */
