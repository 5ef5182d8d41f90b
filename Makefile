# xmppguard - build, test, install.
#
#   make                 build ./xmppguard
#   make demo            see it work in a sandbox (root; contrib/demo.sh)
#   make check           unit tests (plain, then ASan+UBSan), system tests
#   make bench           benchmarks against peers (root; BENCHMARKS.md)
#   make unit            unit tests only (plain)
#   make install         PREFIX=/usr/local DESTDIR= (make uninstall)
#   make man             the manual pages, into $(BUILD)
#   make deb             the Debian package, into build/deb (dpkg-buildpackage)
#   make clean
#
# Knobs: CC, CFLAGS, LDFLAGS (appended after the project's own flags, so the
# warnings cannot be dropped), SANITIZE=address,undefined, V=1.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
DATADIR   ?= $(PREFIX)/share/xmppguard
SYSCONFDIR ?= /etc
MANDIR    ?= $(PREFIX)/share/man
DOCDIR    ?= $(PREFIX)/share/doc/xmppguard
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR   ?= /lib/systemd/system
CC        ?= cc
PKG_CONFIG ?= pkg-config

LIBS_PC   := libnetfilter_conntrack libpcre2-8 sqlite3 libcurl libmnl \
	libnftnl libsystemd jansson libstrophe
STD_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wcast-qual \
	-Wwrite-strings -Wformat=2 -Wno-format-nonliteral
HARDEN_CFLAGS := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
HARDEN_LDFLAGS := -pie -Wl,-z,relro,-z,now
# The Debian package of each library (contrib/deps.sh --build installs
# them all): a plain `make` names what is missing instead of failing on a
# header.
DEB_libnetfilter_conntrack := libnetfilter-conntrack-dev
DEB_libpcre2-8 := libpcre2-dev
DEB_sqlite3    := libsqlite3-dev
DEB_libcurl    := libcurl4-openssl-dev
DEB_libmnl     := libmnl-dev
DEB_libnftnl   := libnftnl-dev
DEB_libsystemd := libsystemd-dev
DEB_jansson    := libjansson-dev
DEB_libstrophe := libstrophe-dev
MISSING_PC := $(strip $(foreach p,$(LIBS_PC),$(if $(shell \
	$(PKG_CONFIG) --exists $(p) 2>/dev/null && echo y),,$(p))))
PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
# libcurl and libstrophe are compiled against but not linked: dyn.c loads
# them when a configuration needs them (38 libraries less at each start).
LIBS_DYN  := libcurl libstrophe
PC_LIBS   := $(shell $(PKG_CONFIG) --libs $(filter-out $(LIBS_DYN), \
	$(LIBS_PC)) 2>/dev/null) -lm
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

ifneq ($(SANITIZE),)
HARDEN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) \
	-fno-sanitize-recover=all
HARDEN_LDFLAGS := -fsanitize=$(SANITIZE)
BUILD     ?= build/san
else
BUILD     ?= build/plain
endif

FINAL_CFLAGS  = $(STD_CFLAGS) $(HARDEN_CFLAGS) -DXG_VERSION=\"$(VERSION)\" \
	-DXG_SYSCONFDIR=\"$(SYSCONFDIR)\" -DXG_DATADIR=\"$(DATADIR)\" \
	-I src -I $(BUILD) $(PC_CFLAGS) $(CFLAGS)
FINAL_LDFLAGS = $(HARDEN_LDFLAGS) $(LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

SRCS     := $(sort $(wildcard src/*.c))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
OBJS     := $(SRCS:src/%.c=$(BUILD)/%.o) $(BUILD)/sql_migrations.o
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/%.o) $(BUILD)/sql_migrations.o
SQL      := $(sort $(wildcard sql/[0-9]*.sql))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps deps-run run demo check bench unit unit-san filters system system-san tools install uninstall clean
.PHONY: man deb FORCE
all: xmppguard

xmppguard: $(BUILD)/xmppguard
	$(Q)cp $< $@

$(BUILD)/xmppguard: $(OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(FINAL_CFLAGS) -o $@ $(OBJS) $(FINAL_LDFLAGS) $(PC_LIBS)

# DATADIR and SYSCONFDIR are compiled in (where filters and the
# configuration are looked for): $(BUILD)/paths changes when they do, so
# that "make install PREFIX=/usr" after a plain "make" builds again.
$(BUILD)/paths: FORCE
ifneq ($(MISSING_PC),)
	@echo "xmppguard: cannot build: missing $(MISSING_PC) (pkg-config)" >&2
	@echo "xmppguard: install with: sudo apt-get install pkg-config" \
	    "$(foreach p,$(MISSING_PC),$(DEB_$(p)))" >&2
	@echo "xmppguard: or everything make needs: sudo sh" \
	    "contrib/deps.sh --build" >&2
	@exit 1
endif
	@mkdir -p $(@D)
	$(Q)echo '$(SYSCONFDIR) $(DATADIR)' | cmp -s - $@ || \
	    echo '$(SYSCONFDIR) $(DATADIR)' > $@

$(OBJS): $(BUILD)/paths

$(BUILD)/%.o: src/%.c | $(BUILD)/sql_migrations.h
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(FINAL_CFLAGS) -MMD -MP -c -o $@ $<

# The numbered migrations in sql/ are compiled into the binary (sql/
# itself too: a migration deleted or renamed changes only the folder).
$(BUILD)/sql_migrations.c $(BUILD)/sql_migrations.h &: $(SQL) sql sql/embed.sh
	@mkdir -p $(BUILD)
	@echo "  GEN     $(BUILD)/sql_migrations.c"
	$(Q)sh sql/embed.sh $(BUILD) $(SQL)

$(BUILD)/sql_migrations.o: $(BUILD)/sql_migrations.c
	$(Q)$(CC) $(FINAL_CFLAGS) -c -o $@ $<

# Unit tests #include the module under test (to reach its statics) and link
# against every other object.
$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS) tests/unit/unit.h \
    tests/unit/unit_db.h
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(FINAL_CFLAGS) -Wno-missing-prototypes -MMD -MP -o $@ $< \
	    $(filter-out $(BUILD)/$*.o,$(LIB_OBJS)) $(FINAL_LDFLAGS) \
	    $(PC_LIBS) $(CMOCKA_LIBS)

# Test tools: ctwatch runs the conntrack source alone, benchpipe times the
# detection path; xgload is the load generator and TCP sink of the system
# tests and benchmarks (libc only).
TOOLS := $(BUILD)/tests/ctwatch $(BUILD)/tests/benchpipe \
    $(BUILD)/tests/fwctl $(BUILD)/tests/hookctl build/xgload

$(BUILD)/tests/%: tests/tools/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	@echo "  TOOL    $@"
	$(Q)$(CC) $(FINAL_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) \
	    $(FINAL_LDFLAGS) $(PC_LIBS)

build/xgload: tests/tools/xgload.c
	@mkdir -p $(@D)
	@echo "  TOOL    $@"
	$(Q)$(CC) $(STD_CFLAGS) -O2 -o $@ $<

tools: $(TOOLS)

unit: $(UNIT_BINS)
	@sh tests/unit/run.sh $(UNIT_BINS)

# The sanitized run uses clang when there is one, so every change is built
# warning-free by both compilers.
SAN_CC := $(shell command -v clang >/dev/null 2>&1 && echo clang || echo $(CC))
unit-san:
	$(Q)$(MAKE) --no-print-directory CC=$(SAN_CC) \
	    SANITIZE=address,undefined unit

system: xmppguard tools
	@sh tests/system/run.sh

# The system tests against a daemon built with ASan and UBSan (any report
# ends it, and so fails its test).  Slower; not part of check.
system-san: tools
	+$(Q)$(MAKE) --no-print-directory CC=$(SAN_CC) \
	    SANITIZE=address,undefined BUILD=build/san build/san/xmppguard
	@# Filters are found beside the binary, as for ./xmppguard.
	@ln -sfn ../../filters build/san/filters
	@XG=$(CURDIR)/build/san/xmppguard \
	    ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    sh tests/system/run.sh

# Every filter over the real log lines in tests/filters/ (see its README).
filters: xmppguard
	@sh tests/filters/run.sh

# Replay over generated hours of traffic (tests/replay/run.sh; no root).
replay-hour: xmppguard
	@sh tests/replay/run.sh

# On a fresh Debian machine (as root) the first build installs what it needs.
# What the tests need (servers included, disabled and masked if new);
# make run needs only the build and the runtime.
deps:
	$(Q)sh contrib/deps.sh --check --test 2>/dev/null || \
	    sh contrib/deps.sh --test
deps-run:
	$(Q)sh contrib/deps.sh --check --build --runtime 2>/dev/null || \
	    sh contrib/deps.sh --build --runtime

# The daemon on its built-in defaults, in the foreground (Ctrl-C stops it).
run: deps-run
	$(Q)$(MAKE) --no-print-directory xmppguard
	./xmppguard run --foreground

# A demonstration in a sandbox against a real Prosody (root, Debian 12):
# installs what it needs, builds, shows two attacks banned while real
# users chat, and removes everything it made (contrib/demo.sh).
demo:
	@bash contrib/demo.sh

# Benchmarks against peers (ulogd2), as root; see BENCHMARKS.md.
bench: xmppguard tools
	@bash contrib/bench/run.sh

# The stress scenarios (root, namespaces, minutes; tests/stress/README).
stress: xmppguard tools
	@sh tests/stress/run.sh

check: deps
	$(Q)$(MAKE) --no-print-directory xmppguard
	@echo "== unit tests (plain) =="
	$(Q)$(MAKE) --no-print-directory unit
	@echo "== unit tests (AddressSanitizer + UndefinedBehaviorSanitizer) =="
	$(Q)$(MAKE) --no-print-directory unit-san
	@echo "== filter fixtures =="
	$(Q)$(MAKE) --no-print-directory filters
	@echo "== replay of generated hours =="
	$(Q)$(MAKE) --no-print-directory replay-hour
	@echo "== fuzz targets, 5 s each (make fuzz: longer) =="
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	@echo "== system tests =="
	$(Q)$(MAKE) --no-print-directory system

# The manual pages: xmppguard(8) is written by hand, xmppguard.conf(5) is
# generated from the directive table (tests/system/04 checks that both,
# the sample configuration and the README's command table agree with the
# binary).
MANPAGES := $(BUILD)/xmppguard.8 $(BUILD)/xmppguard.conf.5
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' \
	    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g'

$(BUILD)/xmppguard.8: contrib/xmppguard.8.in $(BUILD)/paths
	$(Q)$(SUBST) contrib/xmppguard.8.in > $@

$(BUILD)/xmppguard.conf.5: $(BUILD)/xmppguard
	$(Q)$(BUILD)/xmppguard check-config --reference=man > $@.tmp && \
	    mv $@.tmp $@

$(BUILD)/xmppguard.service: contrib/xmppguard.service.in $(BUILD)/paths
	$(Q)$(SUBST) contrib/xmppguard.service.in > $@

$(BUILD)/xmppguard.bash: contrib/xmppguard.bash-completion $(BUILD)/paths
	$(Q)$(SUBST) contrib/xmppguard.bash-completion > $@

man: $(MANPAGES)

# Everything goes under DESTDIR.  The operator's configuration is never
# overwritten: the shipped one is always DATADIR/xmppguard.conf.sample.
# The sample configurations of contrib/ go to DOCDIR/examples, the notes
# on conntrack accounting and other firewalls to DOCDIR.
EXAMPLES := $(sort $(wildcard contrib/examples/*))
install: $(BUILD)/xmppguard $(MANPAGES) $(BUILD)/xmppguard.service \
    $(BUILD)/xmppguard.bash
	install -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DATADIR)/filters \
	    $(DESTDIR)$(DATADIR)/sql $(DESTDIR)$(SYSCONFDIR)/xmppguard \
	    $(DESTDIR)$(SYSCONFDIR)/xmppguard/filters $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(BUILD)/xmppguard $(DESTDIR)$(SBINDIR)/xmppguard
	install -m 0644 filters/*.conf $(DESTDIR)$(DATADIR)/filters/
	install -m 0644 $(SQL) $(DESTDIR)$(DATADIR)/sql/
	install -m 0644 contrib/xmppguard.conf \
	    $(DESTDIR)$(DATADIR)/xmppguard.conf.sample
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/xmppguard/xmppguard.conf ]; then \
	    echo "$(DESTDIR)$(SYSCONFDIR)/xmppguard/xmppguard.conf exists:" \
	        "left as it is (the new sample is" \
	        "$(DESTDIR)$(DATADIR)/xmppguard.conf.sample)"; \
	else \
	    echo install -m 0640 contrib/xmppguard.conf \
	        $(DESTDIR)$(SYSCONFDIR)/xmppguard/xmppguard.conf; \
	    install -m 0640 contrib/xmppguard.conf \
	        $(DESTDIR)$(SYSCONFDIR)/xmppguard/xmppguard.conf; \
	fi
	install -m 0644 $(BUILD)/xmppguard.service \
	    $(DESTDIR)$(UNITDIR)/xmppguard.service
	install -m 0644 $(BUILD)/xmppguard.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(BUILD)/xmppguard.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(BUILD)/xmppguard.bash \
	    $(DESTDIR)$(BASHCOMPDIR)/xmppguard
	install -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 contrib/conntrack.md contrib/firewalls.md \
	    $(DESTDIR)$(DOCDIR)/

# The configuration in SYSCONFDIR/xmppguard and the state in
# /var/lib/xmppguard are the operator's: they stay.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/xmppguard \
	    $(DESTDIR)$(UNITDIR)/xmppguard.service \
	    $(DESTDIR)$(MANDIR)/man8/xmppguard.8 \
	    $(DESTDIR)$(MANDIR)/man5/xmppguard.conf.5 \
	    $(DESTDIR)$(BASHCOMPDIR)/xmppguard
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)
	@echo "left in place: $(DESTDIR)$(SYSCONFDIR)/xmppguard" \
	    "(configuration), /var/lib/xmppguard (state)"

# The Debian package (debian/), built by dpkg-buildpackage in a copy of
# the tree under build/deb, so nothing is written in the checkout outside
# build/ and its own build/ is not shipped.  The copy is what git tracks
# plus untracked files it does not ignore (every file but build/ and .git
# outside a git checkout).  The .deb, .changes and .buildinfo land beside
# it in build/deb; lintian then checks the .deb, and fails on an error.
DEB_SRC := build/deb/xmppguard-$(VERSION)
deb:
	$(Q)sh contrib/deps.sh --check --package
	@v=$$(dpkg-parsechangelog -S Version); [ "$$v" = $(VERSION) ] || { \
	    echo "xmppguard: debian/changelog is at $$v, the Makefile at" \
	    "$(VERSION): add a changelog entry (dch -v $(VERSION))" >&2; \
	    exit 1; }
	$(Q)rm -rf build/deb && mkdir -p $(DEB_SRC)
	$(Q)if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = \
	    "$(CURDIR)" ]; then \
		git ls-files -z -co --exclude-standard | \
		    tar --null -T - --ignore-failed-read -cf -; \
	else \
		tar --exclude=./build --exclude=./.git --exclude=./xmppguard \
		    -cf - .; \
	fi | tar -xf - -C $(DEB_SRC)
	$(Q)cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc -Jauto
	@ls -l build/deb/*.deb
	@if command -v lintian >/dev/null 2>&1; then \
		echo "lintian build/deb/xmppguard_$(VERSION)_*.deb"; \
		lintian --fail-on error build/deb/xmppguard_$(VERSION)_*.deb; \
	else \
		echo "xmppguard: lintian is not installed: not checked"; \
	fi

clean:
	rm -rf build xmppguard

# Fuzzing (clang's libFuzzer; see tests/fuzz/README): every
# tests/fuzz/fuzz_*.c is linked against the project's objects built with
# ASan+UBSan and fuzzer coverage into build/fuzz/.  A fuzzer that #includes
# a module's .c is linked without that module's object.  make fuzz runs
# each for FUZZ_SECONDS, make fuzz-smoke for 5.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/bin/%)

build/fuzz/bin/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	@echo "  FUZZ    $@"
	$(Q)$(CC) $(FINAL_CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< \
	    $(filter-out $(patsubst %,$(BUILD)/%.o,$(shell sed -n \
	    's|^#include "\.\./\.\./src/\(.*\)\.c"$$|\1|p' $<)),$(LIB_OBJS)) \
	    $(FINAL_LDFLAGS) -fsanitize=fuzzer $(PC_LIBS)

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-bins
fuzz-bins: $(FUZZ_BINS)

# The generated header first, alone (older makes ran its rule twice).
FUZZ_MAKE = $(MAKE) --no-print-directory CC=$(FUZZ_CC) \
	    SANITIZE=address,undefined BUILD=build/fuzz \
	    CFLAGS="$(CFLAGS) -fsanitize=fuzzer-no-link"
fuzz-build:
	+$(Q)$(FUZZ_MAKE) build/fuzz/sql_migrations.h
	+$(Q)$(FUZZ_MAKE) fuzz-bins

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-smoke: fuzz-build
	@sh tests/fuzz/run.sh 5 $(FUZZ_BINS)

-include $(wildcard build/*/*.d build/*/tests/*.d build/fuzz/bin/*.d)
