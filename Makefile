# cldyn - build, test, demo, install.  `make demo` and `make test` first
# check the Debian packages (tools/deps.sh installs them as root).
PREFIX ?= /usr/local
BUILD ?= build
CC ?= gcc
VERSION := 0.1.0

PKGS := gsl jansson openblas zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lgsl -lgslcblas -ljansson -lopenblas -lz)
# GSL's own CBLAS is not linked: OpenBLAS provides cblas_* for GSL too.
LIBS := $(filter-out -lgslcblas,$(PKG_LIBS)) -lm

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -fPIC -ffp-contract=off -fopenmp \
              -Iinclude $(PKG_CFLAGS)
LDFLAGS ?=

SRC := $(wildcard src/*.c)
OBJ := $(SRC:src/%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/*.c)
HDR := $(wildcard include/cldyn/*.h)

# MPI: `make MPI=1` (or automatically when mpicc is found) also builds
# build/cldyn-mpi, whose `sweep` spreads the grid over MPI ranks.  The plain
# build/cldyn never links MPI.
MPICC ?= mpicc
MPI ?= $(if $(shell command -v $(MPICC) 2>/dev/null),1,0)
MPI_BIN := $(if $(filter 1,$(MPI)),$(BUILD)/cldyn-mpi,)

.PHONY: all deps demo test test-asan check bench fuzz install uninstall clean
all: $(BUILD)/libcldyn.a $(BUILD)/libcldyn.so $(BUILD)/cldyn $(MPI_BIN)

$(BUILD)/cldyn-mpi: cli/main.c $(BUILD)/libcldyn.a $(HDR)
	OMPI_CC=$(CC) $(MPICC) -DCL_MPI $(ALL_CFLAGS) $(LDFLAGS) -o $@ cli/main.c $(BUILD)/libcldyn.a $(LIBS)

deps:
	@tools/deps.sh build

$(BUILD)/obj/%.o: src/%.c $(HDR) | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj $(BUILD)/asan:
	@mkdir -p $@

$(BUILD)/libcldyn.a: $(OBJ)
	ar rcs $@ $^

$(BUILD)/libcldyn.so: $(OBJ)
	$(CC) -shared -fopenmp -Wl,-soname,libcldyn.so.0 $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/cldyn: cli/main.c $(BUILD)/libcldyn.a $(HDR)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ cli/main.c $(BUILD)/libcldyn.a $(LIBS)

$(BUILD)/cldyn_tests: $(TEST_SRC) $(BUILD)/libcldyn.a $(HDR) tests/testutil.h
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(TEST_SRC) $(BUILD)/libcldyn.a $(LIBS) -lcriterion

# Allocation-failure tests: the library linked with counting malloc hooks.
$(BUILD)/cldyn_oomtests: tests/oom/test_oom.c $(BUILD)/libcldyn.a $(HDR)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free -o $@ \
	  tests/oom/test_oom.c $(BUILD)/libcldyn.a $(LIBS) -lcriterion

# Sanitizer build: the library, CLI and tests again with ASan and UBSan.
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
$(BUILD)/asan/cldyn $(BUILD)/asan/cldyn_tests: $(SRC) $(TEST_SRC) cli/main.c $(HDR) | $(BUILD)/asan
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -o $(BUILD)/asan/cldyn cli/main.c $(SRC) $(LIBS)
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -o $(BUILD)/asan/cldyn_tests $(TEST_SRC) $(SRC) $(LIBS) -lcriterion

# The whole suite: the Criterion tests (they also drive the CLI).
test: deps
	@$(MAKE) --no-print-directory all $(BUILD)/cldyn_tests $(BUILD)/cldyn_oomtests
	$(BUILD)/cldyn_oomtests --jobs 2
	CLDYN_BIN=$(BUILD)/cldyn CLDYN_PLAIN_BIN=$(BUILD)/cldyn CLDYN_MPI_BIN=$$(command -v $(MPICC) >/dev/null && echo $(BUILD)/cldyn-mpi) \
	  $(BUILD)/cldyn_tests --jobs 2

test-asan: deps
	@$(MAKE) --no-print-directory $(BUILD)/asan/cldyn_tests
	@$(MAKE) --no-print-directory all
	CLDYN_BIN=$(BUILD)/asan/cldyn CLDYN_PLAIN_BIN=$(BUILD)/cldyn CLDYN_MPI_BIN=$$(command -v $(MPICC) >/dev/null && echo $(BUILD)/cldyn-mpi) ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(BUILD)/asan/cldyn_tests --jobs 2 --filter '!(validation/*)' >$(BUILD)/asan/test.log 2>&1; \
	  st=$$?; cat $(BUILD)/asan/test.log; \
	  if grep -q 'ERROR: LeakSanitizer' $(BUILD)/asan/test.log; then \
	    echo "test-asan: a test process leaked memory (LeakSanitizer report above)" >&2; exit 1; fi; \
	  exit $$st
# A leak in a Criterion worker is printed when the worker exits, after its
# result was sent, and does not change the exit status: the log is checked
# for LeakSanitizer reports.  (tests/main.c keeps the runner process's own
# allocations out of leak checking: Criterion's runner leaks.)
# (the statistical validation suite is left out of the sanitizer run for
# time; test_smoke.c runs the same code paths there on small problems)

check: test test-asan

# libFuzzer (clang): the config parser, the checkpoint reader and the CSV
# readers, FUZZ_SECS seconds each (bench/fuzz/run).
FUZZ_SECS ?= 60
fuzz:
	@$(MAKE) --no-print-directory all
	bench/fuzz/run $(FUZZ_SECS)

# The main job with its embedded defaults.
demo: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p demo-out
	$(BUILD)/cldyn simulate --runs 8 --out demo-out/simulate.csv --summary demo-out/summary.csv
	$(BUILD)/cldyn reproduce --quick --out demo-out/reproduce
	@echo "demo: outputs in $(CURDIR)/demo-out: simulate.csv (8 runs), summary.csv (mean, sd)," \
	      "their .json metadata, and reproduce/report.md with its data and figures"

bench:
	@tools/deps.sh bench
	@$(MAKE) --no-print-directory all
	bench/simulate

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/cldyn $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(BUILD)/libcldyn.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libcldyn.so $(DESTDIR)$(PREFIX)/lib/libcldyn.so.$(VERSION)
	ln -sf libcldyn.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libcldyn.so.0
	ln -sf libcldyn.so.0 $(DESTDIR)$(PREFIX)/lib/libcldyn.so
	install -m 644 $(HDR) $(DESTDIR)$(PREFIX)/include/cldyn/
	install -m 755 $(BUILD)/cldyn $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' cldyn.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/cldyn.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libcldyn.* $(DESTDIR)$(PREFIX)/bin/cldyn \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/cldyn.pc
	rm -rf $(DESTDIR)$(PREFIX)/include/cldyn

clean:
	rm -rf $(BUILD) demo-out
