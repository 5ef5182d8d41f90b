/*
 * Small helpers for writing JSON output (one object per line for streams):
 * strings escaped per RFC 8259, times as RFC 3339 UTC.
 */
#ifndef JSON_H
#define JSON_H

#include <stdint.h>
#include <stdio.h>

/* Writes s as a JSON string, quotes included.  Bytes that are not valid
 * UTF-8 are written as U+FFFD, so hostile input always gives valid JSON. */
void	json_string(FILE *, const char *s);
/* Length of the valid UTF-8 sequence at s (NUL-terminated: a cut one is
 * invalid), 1 to 4, or 0 if it is not one. */
size_t	json_utf8_len(const unsigned char *s);
/* Writes t (us since epoch) as a JSON string "2026-11-29T02:28:21.123456Z". */
void	json_time(FILE *, int64_t t);
/* Formats t like json_time, without quotes, into buf (32 bytes). */
char	*json_fmt_time(int64_t t, char *buf, size_t size);

#endif /* JSON_H */
