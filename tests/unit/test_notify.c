/*
 * notify.c against a fake service manager: a datagram socket of our own in
 * a temporary directory, named by NOTIFY_SOCKET, read back after each
 * call.  READY=1, RELOADING=1 (with MONOTONIC_USEC), STOPPING=1, the
 * status line and the watchdog's keep-alives from a real loop; and with
 * NOTIFY_SOCKET unset, nothing sent and nothing failing.
 */
#include "unit.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/notify.c"

struct fake {
	char		 dir[64];
	char		 path[96];
	int		 fd;
	struct loop	*loop;
	uint64_t	 bans;
};

static int
fake_setup(void **state)
{
	struct fake		*f;
	struct sockaddr_un	 sun;
	char			*cause;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/xg-notify.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/notify", f->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (f->fd == -1 ||
	    bind(f->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return -1;
	if ((f->loop = loop_new(&cause)) == NULL)
		return -1;
	setenv("NOTIFY_SOCKET", f->path, 1);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	/* Each test starts from a process that has told nothing yet. */
	memset(&notify, 0, sizeof(notify));
	notify.rl.interval_us = 60 * CLOCK_US_PER_SEC;
	*state = f;
	return 0;
}

static int
fake_teardown(void **state)
{
	struct fake	*f = *state;

	notify_stopping();
	loop_free(f->loop);
	close(f->fd);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return 0;
}

/* The next datagram, without waiting; NULL if there is none. */
static const char *
fake_recv(struct fake *f)
{
	static char	buf[1024];
	ssize_t		n;

	n = recv(f->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static void
fake_summary(struct notify_summary *s, void *arg)
{
	struct fake	*f = arg;

	s->services = 3;
	s->logs = 2;
	s->bans = f->bans;
	s->tracked = 312;
}

static void
test_status_text(void **state)
{
	struct notify_summary	s = { .services = 1, .logs = 0, .bans = 1,
	    .tracked = 7 };
	char			buf[160];

	(void)state;
	notify_status_text(buf, sizeof(buf), &s);
	assert_string_equal(buf,
	    "defending: 1 service, 0 logs, 1 ban, 7 tracked");
	s.dry_run = 1;
	s.bans = 14;
	notify_status_text(buf, sizeof(buf), &s);
	assert_string_equal(buf,
	    "dry run: 1 service, 0 logs, 14 would-be bans, 7 tracked");
}

static void
test_ready_reload_stop(void **state)
{
	struct fake	*f = *state;
	const char	*m;
	long long	 usec, before;

	assert_int_equal(notify_enabled(), 1);
	assert_int_equal(notify_start(f->loop, fake_summary, f), 0);
	/* No keep-alive without WATCHDOG_USEC. */
	assert_null(notify.watchdog);

	notify_ready();
	assert_non_null(m = fake_recv(f));
	assert_string_equal(m, "READY=1\nSTATUS=defending: 3 services, "
	    "2 logs, 0 bans, 312 tracked");
	assert_null(fake_recv(f));

	before = clock_monotonic();
	notify_reloading();
	assert_non_null(m = fake_recv(f));
	assert_true(strncmp(m, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	usec = strtoll(m + 27, NULL, 10);
	assert_true(usec >= before && usec <= clock_monotonic());
	assert_non_null(strstr(m, "\nSTATUS=reloading"));
	f->bans = 1;
	notify_ready();
	assert_non_null(m = fake_recv(f));
	assert_string_equal(m, "READY=1\nSTATUS=defending: 3 services, "
	    "2 logs, 1 ban, 312 tracked");

	notify_stopping();
	assert_non_null(m = fake_recv(f));
	assert_true(strncmp(m, "STOPPING=1\n", 11) == 0);
	assert_null(notify.status);
	/* After STOPPING=1, silence. */
	notify_ready();
	notify_reloading();
	assert_null(fake_recv(f));
}

/* Without a summary: READY=1 alone; a reload before start-up is over is
 * not announced. */
static void
test_ready_plain(void **state)
{
	struct fake	*f = *state;

	notify_reloading();
	assert_null(fake_recv(f));
	notify_ready();
	assert_string_equal(fake_recv(f), "READY=1");
}

static int64_t
work_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	(void)arg;
	return LOOP_TIMER_DONE;
}

/*
 * The status line goes out from the loop when it changed, not before; its
 * timer then sleeps until the loop has done work (notify_poke() from the
 * before-sleep hook), so an idle daemon is not woken for it.
 */
static void
test_status_refresh(void **state)
{
	struct fake	*f = *state;
	const char	*m;

	assert_int_equal(notify_start(f->loop, fake_summary, f), 0);
	notify_ready();
	assert_non_null(fake_recv(f));
	assert_int_equal(notify_status_cb(f->loop, notify.status, NULL),
	    LOOP_TIMER_DONE);
	assert_null(fake_recv(f));
	assert_null(notify.status);
	/* No work since: it stays asleep. */
	notify_poke();
	assert_null(notify.status);
	/* Work (a timer that is not a chore) wakes it. */
	assert_non_null(loop_timer_add(f->loop, 0, work_cb, NULL));
	assert_int_equal(loop_run_once(f->loop, 1000), 1);
	f->bans = 14;
	notify_poke();
	assert_non_null(notify.status);
	assert_int_equal(notify_status_cb(f->loop, notify.status, NULL),
	    LOOP_TIMER_DONE);
	assert_non_null(m = fake_recv(f));
	assert_string_equal(m, "STATUS=defending: 3 services, 2 logs, "
	    "14 bans, 312 tracked");
	assert_null(fake_recv(f));
}

/* WATCHDOG_USEC for us: WATCHDOG=1 from the loop at half the interval. */
static void
test_watchdog(void **state)
{
	struct fake	*f = *state;
	char		 pid[32];
	int		 i, n = 0;
	int64_t		 t0;
	const char	*m;

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	setenv("WATCHDOG_USEC", "40000", 1);
	assert_int_equal(notify_start(f->loop, fake_summary, f), 0);
	assert_non_null(notify.watchdog);
	assert_int_equal(notify.watchdog_ms, 20);
	notify_ready();
	assert_non_null(fake_recv(f));
	/* Three keep-alives: 60 ms of timers; bounded at 2 s. */
	t0 = clock_monotonic();
	for (i = 0; i < 400 && n < 3; i++) {
		(void)loop_run_once(f->loop, 10);
		while ((m = fake_recv(f)) != NULL) {
			assert_string_equal(m, "WATCHDOG=1");
			n++;
		}
		if (clock_monotonic() - t0 > 2 * CLOCK_US_PER_SEC)
			break;
	}
	assert_int_equal(n, 3);
	/* 3 at 20 ms apart: not sooner than 60 ms after the start. */
	assert_true(clock_monotonic() - t0 >= 55 * CLOCK_US_PER_MS);
	notify_stopping();
	assert_non_null(fake_recv(f));
	assert_null(notify.watchdog);
	(void)loop_run_once(f->loop, 50);
	assert_null(fake_recv(f));
}

/* A WATCHDOG_PID that is not ours (inherited): no keep-alive. */
static void
test_watchdog_other_pid(void **state)
{
	struct fake	*f = *state;
	char		 pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	setenv("WATCHDOG_USEC", "40000", 1);
	assert_int_equal(notify_start(f->loop, fake_summary, f), 0);
	assert_null(notify.watchdog);
}

/* No NOTIFY_SOCKET: no timer, nothing sent, nothing fails. */
static void
test_no_socket(void **state)
{
	struct fake	*f = *state;

	unsetenv("NOTIFY_SOCKET");
	setenv("WATCHDOG_PID", "1", 1);
	setenv("WATCHDOG_USEC", "40000", 1);
	assert_int_equal(notify_enabled(), 0);
	assert_int_equal(notify_start(f->loop, fake_summary, f), 0);
	assert_null(notify.status);
	assert_null(notify.watchdog);
	notify_ready();
	notify_reloading();
	notify_ready();
	notify_stopping();
	assert_int_equal(notify_send("READY=1"), 0);
	assert_null(fake_recv(f));
	assert_int_equal(loop_run_once(f->loop, 0), 0);
}

/* A manager gone away: a warning, the daemon carries on. */
static void
test_socket_gone(void **state)
{
	struct fake	*f = *state;

	setenv("NOTIFY_SOCKET", "/nonexistent/xg-notify", 1);
	assert_int_equal(notify_send("READY=1"), -1);
	notify_ready();
	assert_null(fake_recv(f));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_text),
		cmocka_unit_test_setup_teardown(test_ready_reload_stop,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_ready_plain,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_status_refresh,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_watchdog,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_other_pid,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_no_socket,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_socket_gone,
		    fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
