# chaintop - build, test, demo, install.
#   make                 build ./chaintop
#   make check           build and run every test (unit, simulator, integration, UI)
#   make check SANITIZE=1  the same under AddressSanitizer and UndefinedBehaviorSanitizer
#   make demo            install missing packages, build, start two simulated pools, open the console
#   make install PREFIX=/usr/local DESTDIR=
#   make bench           benchmark scripts (print figures)
#   make fuzz            build the libFuzzer harnesses (clang) and run each FUZZ_SECONDS (60)

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
TEST_JOBS ?= 6
PKGS      := ncursesw libcurl libconfig sqlite3 jansson libssl libcrypto zlib libzstd libxxhash
TEST_PKGS := check

ifeq ($(SANITIZE),1)
BUILD     := build-san
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT       := -O1
BIN       := $(BUILD)/chaintop
else ifeq ($(FUZZ),1)
# the core built for libFuzzer: clang, coverage instrumentation, ASan + UBSan
BUILD     := build-fuzz
CC        := clang
SANFLAGS  := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
OPT       := -O1
BIN       := $(BUILD)/chaintop
else
BUILD     := build
SANFLAGS  :=
OPT       := -O2
BIN       := chaintop
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
XMLRPC_CFLAGS := $(shell xmlrpc-c-config client --cflags 2>/dev/null)
XMLRPC_LIBS   := $(shell xmlrpc-c-config client --libs 2>/dev/null)
CHECK_CFLAGS  := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
CHECK_LIBS    := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

# As git does: CFLAGS is the packager's (make CFLAGS=-O0 still builds); what the code needs
# is in BASIC_CFLAGS. DEVELOPER=1 (CI, and what we build with) turns warnings into errors.
CFLAGS  ?= $(OPT) -g
BASIC_CFLAGS := -std=c11 -D_GNU_SOURCE -DCT_VERSION=\"$(VERSION)\" -Wall -Wextra \
           -Wshadow -Wformat=2 -Wno-format-nonliteral -pthread $(SANFLAGS) \
           -I. -Isrc -Iui $(PKG_CFLAGS) $(XMLRPC_CFLAGS)
ifeq ($(DEVELOPER),1)
BASIC_CFLAGS += -Werror
endif
ALL_CFLAGS = $(CFLAGS) $(BASIC_CFLAGS)
LDFLAGS += -pthread $(SANFLAGS)
LIBS    := $(PKG_LIBS) $(XMLRPC_LIBS) -lm

CORE_SRCS := $(wildcard src/*/*.c)
UI_SRCS   := $(wildcard ui/*.c)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
UI_OBJS   := $(UI_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ  := $(BUILD)/src/main.o
CORE_LIB  := $(BUILD)/libchaintop.a
UI_LIB    := $(BUILD)/libchaintop-ui.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# C tests that start the simulator: run with the integration suite (unit tests need no server)
INTEG_SRCS := $(wildcard tests/integration/test_*.c)
INTEG_BINS := $(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
FUZZ_SRCS  := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS  := $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

.PHONY: all check unit-tests sim-tests integration-tests ui-tests check-layering check-ui-calls demo deps \
        install uninstall clean bench tests-build fuzz fuzz-build
all: $(BIN)

-include $(CORE_OBJS:.o=.d) $(UI_OBJS:.o=.d) $(MAIN_OBJ:.o=.d)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(CORE_LIB): $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(UI_LIB): $(UI_OBJS)
	@rm -f $@
	ar rcs $@ $^ $(if $(UI_OBJS),,)

$(BIN): $(MAIN_OBJ) $(UI_LIB) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(UI_LIB) $(CORE_LIB) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Itests/unit -o $@ $< $(CORE_LIB) $(LIBS) $(CHECK_LIBS) $(LDFLAGS)

# rows.c and list.c are the console's curses-free row model and list state: their test
# links them beside the core
$(BUILD)/tests/test_rows: tests/unit/test_rows.c $(BUILD)/ui/rows.o $(BUILD)/ui/list.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/ui/rows.o $(BUILD)/ui/list.o $(CORE_LIB) $(LIBS) $(CHECK_LIBS) $(LDFLAGS)

$(BUILD)/tests/integration/%: tests/integration/%.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Itests/unit -o $@ $< $(CORE_LIB) $(LIBS) $(CHECK_LIBS) $(LDFLAGS)

$(BUILD)/bench/%: bench/%.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(CORE_LIB) $(LIBS) $(LDFLAGS)

$(BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz_common.h $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(CORE_LIB) $(LIBS) -lexpat $(LDFLAGS)

tests-build: $(BIN) $(UNIT_BINS) $(INTEG_BINS) $(BENCH_BINS)

# libFuzzer harnesses (fuzz/README.md): built with clang into build-fuzz/, each run for
# FUZZ_SECONDS from the seed corpus in fuzz/corpus/; new inputs go to a temporary directory
# (FUZZ_OUT keeps them). Fails when a harness finds a crash, a leak or a timeout.
fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) BUILD=build-fuzz fuzz/run.sh

fuzz-build: $(FUZZ_BINS)

# Every test suite runs even when an earlier one fails; the summary says which failed.
check: check-layering check-ui-calls tests-build
	@CHAINTOP=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) TEST_JOBS=$(TEST_JOBS) tests/run-all.sh

unit-tests: tests-build
	@CHAINTOP=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) tests/run-all.sh unit
sim-tests:
	@tests/run-all.sh sim
integration-tests: tests-build
	@CHAINTOP=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) tests/run-all.sh integration
ui-tests: tests-build
	@CHAINTOP=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) tests/run-all.sh ui

# Who may include whom: src/lib <- model <- config <- xapi <- engine <- watch <- jobs <- output
# <- cli, ui/ beside cli, src/main.c on top; no curses outside ui/ (docs/architecture.md).
check-layering:
	@scripts/check-layering.sh

# No circle of calls between the console's files: views call down, app.c wires them.
check-ui-calls: $(UI_OBJS)
	@scripts/check-ui-calls.py $(BUILD)/ui

deps:
	@scripts/deps.sh

demo: deps
	@$(MAKE) --no-print-directory $(BIN)
	@scripts/demo.sh

bench: tests-build
	@bench/run.sh

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	           $(DESTDIR)$(PREFIX)/share/doc/chaintop
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/chaintop
	install -m 0644 docs/chaintop.1 $(DESTDIR)$(PREFIX)/share/man/man1/chaintop.1
	install -m 0644 conf/chaintop.conf.example $(DESTDIR)$(PREFIX)/share/doc/chaintop/chaintop.conf.example
	install -m 0644 docs/chaintop-alerts.yml docs/prometheus-chaintop.yml \
	           $(DESTDIR)$(PREFIX)/share/doc/chaintop/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|@BINDIR@|$(PREFIX)/bin|' docs/chaintop-serve.service \
	    >$(DESTDIR)$(PREFIX)/lib/systemd/system/chaintop-serve.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/chaintop-serve.service

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/chaintop $(DESTDIR)$(PREFIX)/share/man/man1/chaintop.1
	rm -f $(DESTDIR)$(PREFIX)/lib/systemd/system/chaintop-serve.service
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/chaintop

clean:
	rm -rf build build-san build-fuzz chaintop
