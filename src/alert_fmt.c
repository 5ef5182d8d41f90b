/*
 * The alerts' messages in words and in each chat's dialect.
 *
 * The text for people is built once per event (alert.c, with the helpers
 * here: ordinals, spans, clock times, appending that cuts at the end of
 * a fixed buffer); alert_body() then writes it as one sink's type wants
 * it: Slack-compatible {"text"} (Slack reads <...> as links and
 * mentions, so &, < and > are escaped for it), Discord {"content"} (cut
 * to its 2000 characters on a UTF-8 boundary, mentions disabled), a
 * Matrix m.notice with an HTML rendering, the generic JSON object with
 * every field and a digest's summary, or an operator's template whose
 * $placeholders are replaced (checked when the configuration is loaded,
 * so none is unknown here).  Every string from a ban's reason or the
 * host name goes through json.c's escaping.
 *
 * Secrets never reach a log or status through here: a URL is shown as
 * scheme and host only (alert_url_shown), and libcurl's error texts are
 * scrubbed of the URL and the Matrix token (alert_scrub).
 *
 * Nothing here keeps state or calls back into alert.c; the two static
 * buffers of the Slack and Matrix escapes are only used within one call,
 * on the daemon's single thread.
 */
#include <curl/curl.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "alert.h"
#include "alert_int.h"
#include "clock.h"
#include "conf.h"
#include "dyn.h"
#include "json.h"
#include "verdict.h"

#define ALERT_DISCORD_MAX	2000	/* Discord refuses longer content */

static const char *const alert_placeholders[] = {
	"event", "severity", "text", "host", "time", "address", "rule",
	"reason", "duration", "expires", "count", NULL
};

/*
 * Small text helpers.
 */

/* us to whole seconds, rounded. */
static int64_t
alert_secs(int64_t us)
{
	return (int64_t)((us + CLOCK_US_PER_SEC / 2) / CLOCK_US_PER_SEC);
}

/* "2nd", "11th", "23rd". */
const char *
alert_ordinal(uint64_t n, char *buf, size_t size)
{
	const char	*sfx = "th";

	if (n % 100 < 11 || n % 100 > 13) {
		if (n % 10 == 1)
			sfx = "st";
		else if (n % 10 == 2)
			sfx = "nd";
		else if (n % 10 == 3)
			sfx = "rd";
	}
	snprintf(buf, size, "%" PRIu64 "%s", n, sfx);
	return buf;
}

/* A span for people, rounded to whole seconds (at least 1s), in its two
 * largest units: "10m", "1h30m", "3d2h", "45s". */
const char *
alert_span(int64_t us, char *buf, size_t size)
{
	static const struct {
		const char	*name;
		int64_t		 secs;
	} u[] = { { "w", 604800 }, { "d", 86400 }, { "h", 3600 },
	    { "m", 60 }, { "s", 1 } };
	int64_t	 s = alert_secs(us), n;
	size_t	 i, len = 0;
	int	 shown = 0;

	if (s < 1)
		s = 1;
	buf[0] = '\0';
	for (i = 0; i < sizeof(u) / sizeof(u[0]) && shown < 2; i++) {
		if ((n = s / u[i].secs) == 0) {
			if (shown > 0)
				break;
			continue;
		}
		s -= n * u[i].secs;
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0,
		    "%" PRId64 "%s", n, u[i].name);
		shown++;
	}
	return buf;
}

/* "12:34 UTC" on now's day, else "2026-11-30 12:34 UTC". */
const char *
alert_clock(int64_t t, int64_t now, char *buf, size_t size)
{
	struct tm	tm, tn;
	time_t		s = (time_t)(t / CLOCK_US_PER_SEC);
	time_t		n = (time_t)(now / CLOCK_US_PER_SEC);

	gmtime_r(&s, &tm);
	gmtime_r(&n, &tn);
	if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
		strftime(buf, size, "%H:%M UTC", &tm);
	else
		strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

/* Appends to a fixed buffer, cutting (never overrunning) at its end. */
void
alert_cat(char *buf, size_t size, const char *fmt, ...)
{
	va_list	ap;
	size_t	len = strlen(buf);

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* JSON string contents (no quotes) of s, appended to fp. */
static void
alert_json_inner(FILE *fp, const char *s)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*mem;

	if ((mem = open_memstream(&buf, &len)) == NULL)
		return;
	json_string(mem, s);
	if (fclose(mem) == 0 && len >= 2)
		fwrite(buf + 1, 1, len - 2, fp);
	free(buf);
}

/* s with &, < and > escaped (Slack's rule; HTML for Matrix adds quotes
 * and turns line breaks into <br>). */
static void
alert_escape(char *dst, size_t size, const char *s, int html)
{
	const char	*rep;
	char		 one[2];
	size_t		 len = 0, n;

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = html ? "&quot;" : "\"";
			break;
		case '\n':
			rep = html ? "<br>" : "\n";
			break;
		default:
			one[0] = *s;
			one[1] = '\0';
			rep = one;
			break;
		}
		n = strlen(rep);
		if (len + n + 1 > size)
			break;
		memcpy(dst + len, rep, n);
		len += n;
	}
	dst[len] = '\0';
}

/* Cuts s to at most max bytes on a UTF-8 boundary, marking the cut. */
static void
alert_cut(char *s, size_t max)
{
	size_t	n;

	if (strlen(s) <= max)
		return;
	n = max - 3;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(s + n, "...", 4);
}

/* Replaces each occurrence of secret in s by "***" (s has room: the
 * replacement is never longer than a secret of 3 bytes or more). */
void
alert_scrub(char *s, const char *secret)
{
	char	*p;
	size_t	 n;

	if (secret == NULL || (n = strlen(secret)) < 3)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + n, strlen(p + n) + 1);
	}
}

/* The URL as status and logs show it: scheme and host, no path. */
void
alert_url_shown(const char *url, char *buf, size_t size)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL, *port = NULL;

	snprintf(buf, size, "(url)");
	if ((u = curl_url()) == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
		snprintf(buf, size, "%s://%s%s%s/...", scheme, host,
		    port != NULL ? ":" : "", port != NULL ? port : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

/* The placeholder t starts with (t is just past its '$'): its name, *len
 * set to its length, or NULL. */
static const char *
alert_placeholder(const char *t, size_t *len)
{
	size_t	i;

	for (i = 0; alert_placeholders[i] != NULL; i++) {
		*len = strlen(alert_placeholders[i]);
		if (strncmp(t, alert_placeholders[i], *len) == 0)
			return alert_placeholders[i];
	}
	return NULL;
}

int
alert_template_check(const char *t, const char **why)
{
	size_t	n;

	for (; (t = strchr(t, '$')) != NULL; t += n + 1) {
		n = 0;
		if (t[1] == '$') {
			n = 1;
			continue;
		}
		if (alert_placeholder(t + 1, &n) == NULL) {
			*why = "unknown placeholder (use $event, $severity, "
			    "$text, $host, $time, $address, $rule, $reason, "
			    "$duration, $expires, $count, or $$ for $)";
			return -1;
		}
	}
	return 0;
}

/*
 * Bodies, one dialect each.  Every builder writes into fp; the caller
 * checks the stream.
 */

/* The generic object: every field, and a digest's summary. */
static void
alert_body_json(FILE *fp, const struct alerts *as, const struct alert_msg *m)
{
	const struct alert_sink	*sk = m->digest;
	char			 pfx[ADDR_PREFIX_STRLEN];
	int			 i, k, first;

	fputs("{\"event\":", fp);
	json_string(fp, m->name);
	fprintf(fp, ",\"severity\":\"%s\",\"host\":",
	    conf_severity_names[m->sev]);
	json_string(fp, as->host);
	fputs(",\"time\":", fp);
	json_time(fp, m->time);
	fputs(",\"text\":", fp);
	json_string(fp, m->text);
	if (m->has_ban) {
		fputs(",\"address\":", fp);
		json_string(fp, addr_prefix_ntop(&m->prefix, pfx,
		    sizeof(pfx)));
		fputs(",\"rule\":", fp);
		json_string(fp, m->rule);
		fputs(",\"reason\":", fp);
		json_string(fp, m->reason);
		if (m->duration > 0)
			fprintf(fp, ",\"duration\":%" PRId64,
			    alert_secs(m->duration));
		if (m->expires > 0) {
			fputs(",\"expires\":", fp);
			json_time(fp, m->expires);
		}
		fprintf(fp, ",\"count\":%" PRIu64, m->count);
		if (m->scope != NULL)
			fprintf(fp, ",\"scope\":\"%s\",\"ports\":\"%s\"",
			    m->scope, m->ports);
	}
	if (sk != NULL) {
		fprintf(fp, ",\"count\":%" PRIu64 ",\"bans\":%" PRIu32
		    ",\"escalations\":%" PRIu32 ",\"extended\":%" PRIu32
		    ",\"unbans\":%" PRIu32 ",\"expired\":%" PRIu32
		    ",\"held\":%" PRIu32 ",\"by_rule\":{", m->count,
		    sk->kinds[ALERT_K_BAN], sk->kinds[ALERT_K_ESCALATION],
		    sk->kinds[ALERT_K_EXTENDED], sk->kinds[ALERT_K_UNBAN],
		    sk->kinds[ALERT_K_EXPIRED], sk->win_held);
		for (k = 0, first = 1; k < VERDICT_RULE_MAX; k++) {
			if (sk->rules[k] == 0)
				continue;
			fprintf(fp, "%s\"%s\":%" PRIu32, first ? "" : ",",
			    verdict_rule_name((enum verdict_rule)k),
			    sk->rules[k]);
			first = 0;
		}
		fputs("},\"top\":[", fp);
		for (i = 0; i < sk->ntop && i < ALERT_TOP_SHOWN; i++) {
			fprintf(fp, "%s{\"address\":", i > 0 ? "," : "");
			json_string(fp, addr_prefix_ntop(&sk->top[i].prefix,
			    pfx, sizeof(pfx)));
			fprintf(fp, ",\"count\":%" PRIu32 ",\"rule\":\"%s\","
			    "\"reason\":", sk->top[i].count - sk->top[i].err,
			    verdict_rule_name(sk->top[i].rule));
			json_string(fp, sk->top[i].reason);
			fputc('}', fp);
		}
		fputc(']', fp);
	}
	fputc('}', fp);
}

/* An operator's template, placeholders replaced. */
static void
alert_body_template(FILE *fp, const struct alerts *as, const char *t,
    const struct alert_msg *m)
{
	char		 v[64];
	const char	*p;
	size_t		 n;

	for (; *t != '\0'; t++) {
		if (*t != '$') {
			fputc(*t, fp);
			continue;
		}
		if (t[1] == '$') {
			fputc('$', fp);
			t++;
			continue;
		}
		if ((p = alert_placeholder(t + 1, &n)) == NULL) {
			fputc('$', fp);		/* checked at load: not here */
			continue;
		}
		t += n;
		if (strcmp(p, "event") == 0)
			alert_json_inner(fp, m->name);
		else if (strcmp(p, "severity") == 0)
			fputs(conf_severity_names[m->sev], fp);
		else if (strcmp(p, "text") == 0)
			alert_json_inner(fp, m->text);
		else if (strcmp(p, "host") == 0)
			alert_json_inner(fp, as->host);
		else if (strcmp(p, "time") == 0)
			fputs(json_fmt_time(m->time, v, sizeof(v)), fp);
		else if (strcmp(p, "address") == 0)
			fputs(m->has_ban ? addr_prefix_ntop(&m->prefix, v,
			    sizeof(v)) : "", fp);
		else if (strcmp(p, "rule") == 0)
			fputs(m->has_ban ? m->rule : "", fp);
		else if (strcmp(p, "reason") == 0)
			alert_json_inner(fp, m->has_ban ? m->reason : "");
		else if (strcmp(p, "duration") == 0)
			fprintf(fp, "%" PRId64, alert_secs(m->duration));
		else if (strcmp(p, "expires") == 0)
			fputs(m->expires > 0 ? json_fmt_time(m->expires, v,
			    sizeof(v)) : "", fp);
		else if (strcmp(p, "count") == 0)
			fprintf(fp, "%" PRIu64, m->count);
	}
}

/* Slack, Mattermost, Rocket.Chat: {"text": ...} and the sender's look. */
static void
alert_body_slack(FILE *fp, const struct conf_alert *ca, const char *text)
{
	static char	 esc[ALERT_TEXT_MAX * 2];
	const char	*name, *icon;
	int		 url = strncmp(ca->icon, "http", 4) == 0;

	fputs("{\"text\":", fp);
	if (ca->type == CONF_ALERT_SLACK) {
		/* Slack reads <...> as links and mentions (<!channel>). */
		alert_escape(esc, sizeof(esc), text, 0);
		json_string(fp, esc);
	} else
		json_string(fp, text);
	if (ca->type == CONF_ALERT_ROCKETCHAT) {
		name = "alias";
		icon = url ? "avatar" : "emoji";
	} else {
		name = "username";
		icon = url ? "icon_url" : "icon_emoji";
	}
	if (ca->username[0] != '\0') {
		fprintf(fp, ",\"%s\":", name);
		json_string(fp, ca->username);
	}
	if (ca->icon[0] != '\0') {
		fprintf(fp, ",\"%s\":", icon);
		json_string(fp, ca->icon);
	}
	fputc('}', fp);
}

/* Discord: {"content": ...}, 2000 characters at most, pinging nobody. */
static void
alert_body_discord(FILE *fp, const struct conf_alert *ca, const char *text)
{
	char	cut[ALERT_TEXT_MAX];

	snprintf(cut, sizeof(cut), "%s", text);
	alert_cut(cut, ALERT_DISCORD_MAX);
	fputs("{\"content\":", fp);
	json_string(fp, cut);
	if (ca->username[0] != '\0') {
		fputs(",\"username\":", fp);
		json_string(fp, ca->username);
	}
	if (strncmp(ca->icon, "http", 4) == 0) {
		fputs(",\"avatar_url\":", fp);
		json_string(fp, ca->icon);
	}
	fputs(",\"allowed_mentions\":{\"parse\":[]}}", fp);
}

/* Matrix: an m.notice (bots' messages) with an HTML rendering. */
static void
alert_body_matrix(FILE *fp, const char *text)
{
	static char	html[ALERT_TEXT_MAX * 6];

	alert_escape(html, sizeof(html), text, 1);
	fputs("{\"msgtype\":\"m.notice\",\"body\":", fp);
	json_string(fp, text);
	fputs(",\"format\":\"org.matrix.custom.html\",\"formatted_body\":",
	    fp);
	json_string(fp, html);
	fputc('}', fp);
}

/* The dialect of sk's type. */
void
alert_body(FILE *fp, const struct alert_sink *sk, const struct alert_msg *m)
{
	const struct conf_alert	*ca = sk->ca;

	switch (ca->type) {
	case CONF_ALERT_SLACK:
	case CONF_ALERT_MATTERMOST:
	case CONF_ALERT_ROCKETCHAT:
		alert_body_slack(fp, ca, m->text);
		break;
	case CONF_ALERT_DISCORD:
		alert_body_discord(fp, ca, m->text);
		break;
	case CONF_ALERT_MATRIX:
		alert_body_matrix(fp, m->text);
		break;
	default:
		if (ca->tmpl[0] != '\0')
			alert_body_template(fp, sk->alerts, ca->tmpl, m);
		else
			alert_body_json(fp, sk->alerts, m);
		break;
	}
}
