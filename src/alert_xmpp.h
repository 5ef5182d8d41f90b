/*
 * Alerts into XMPP: an [alert NAME] of type xmpp is a client of its own
 * (libstrophe) that posts each alert's text to a multi-user chat room and
 * to JIDs.  Queueing never waits; a full queue drops its oldest message.
 */
#ifndef ALERT_XMPP_H
#define ALERT_XMPP_H

#include <stddef.h>
#include <stdint.h>

struct alert_xmpp;
struct conf_alert;
struct loop;

/* Where the client stands (status shows its name). */
enum alert_xmpp_state {
	ALERT_XMPP_IDLE,	/* not started yet */
	ALERT_XMPP_CONNECTING,	/* connecting, TLS, login, joining */
	ALERT_XMPP_ONLINE,	/* logged in (and in the room) */
	ALERT_XMPP_WAITING,	/* disconnected, waiting to try again */
	ALERT_XMPP_STATE_MAX
};

struct alert_xmpp_stats {
	uint64_t	 sent;		/* alerts handed to the server */
	uint64_t	 dropped;	/* oldest dropped: the queue was full */
	uint64_t	 connects;	/* sessions established */
	uint64_t	 failures;	/* attempts or sessions that failed */
	uint32_t	 queued;	/* waiting for a session */
	int		 state;		/* enum alert_xmpp_state */
	char		 last_error[128];
};

/*
 * The client of ca (type xmpp), started on loop's first iteration (after
 * the fork and the privilege drop).  NULL and *cause (caller frees) if ca
 * cannot be used.
 */
struct alert_xmpp *alert_xmpp_new(struct loop *, const struct conf_alert *,
		    char **cause);
/* Stops the client and frees: waits at most 1.5 s for a session's
 * goodbye, else leaves the thread to end (in a name lookup or a TLS
 * handshake) and free on its own; what is still queued is lost.  NULL is
 * a no-op. */
void		 alert_xmpp_free(struct alert_xmpp *);
/* Queues text (copied) for every recipient; never waits for the network.
 * A full queue drops its oldest message, counted. */
void		 alert_xmpp_send(struct alert_xmpp *, const char *text);
/* Messages not yet handed to the server, 0 while there is no session
 * (nothing would take them). */
unsigned int	 alert_xmpp_busy(const struct alert_xmpp *);
void		 alert_xmpp_get_stats(const struct alert_xmpp *,
		    struct alert_xmpp_stats *);
const char	*alert_xmpp_state_name(int);

/* 1 if s is a JID we accept: local@domain, with a /resource unless bare. */
int		 alert_xmpp_jid_ok(const char *s, int bare);
/* [alert] server: "host", "host:port", "[v6]" or "[v6]:port" into host
 * and *port (0: none given).  0, or -1 if malformed. */
int		 alert_xmpp_server_parse(const char *s, char *host,
		    size_t size, unsigned short *port);

#endif /* ALERT_XMPP_H */
