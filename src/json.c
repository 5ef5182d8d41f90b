/*
 * JSON output.  Everything xmppguard prints for scripts goes through these
 * few functions, so escaping is done right once: control characters as
 * \u escapes, and invalid UTF-8 (log lines are attacker-controlled bytes)
 * replaced rather than passed through to break a consumer's parser.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "json.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one. */
size_t
json_utf8_len(const unsigned char *s)
{
	uint32_t	cp;
	size_t		n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void
json_string(FILE *fp, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	fputc('"', fp);
	while (*p != '\0') {
		switch (*p) {
		case '"':
			fputs("\\\"", fp);
			break;
		case '\\':
			fputs("\\\\", fp);
			break;
		case '\n':
			fputs("\\n", fp);
			break;
		case '\r':
			fputs("\\r", fp);
			break;
		case '\t':
			fputs("\\t", fp);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				fprintf(fp, "\\u%04x", *p);
				break;
			}
			if ((n = json_utf8_len(p)) == 0) {
				fputs("\\ufffd", fp);
				break;
			}
			fwrite(p, 1, n, fp);
			p += n;
			continue;
		}
		p++;
	}
	fputc('"', fp);
}

char *
json_fmt_time(int64_t t, char *buf, size_t size)
{
	struct tm	tm;
	time_t		sec;
	int64_t		us;

	sec = (time_t)(t >= 0 ? t / CLOCK_US_PER_SEC :
	    (t - CLOCK_US_PER_SEC + 1) / CLOCK_US_PER_SEC);
	us = t - (int64_t)sec * CLOCK_US_PER_SEC;
	if (gmtime_r(&sec, &tm) == NULL) {
		snprintf(buf, size, "?");
		return buf;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long long)us);
	return buf;
}

void
json_time(FILE *fp, int64_t t)
{
	char	buf[40];

	fprintf(fp, "\"%s\"", json_fmt_time(t, buf, sizeof(buf)));
}
