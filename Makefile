# upager - plain make.  Targets: all check demo bench install clean fuzz.
# SANITIZE=address,undefined or SANITIZE=thread builds everything with
# that sanitizer; WERROR=1 adds -Werror.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
O ?= build

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifneq ($(SANITIZE),)
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
endif
# The compressed store needs libzstd (apt-get install libzstd-dev); built
# without it, its calls return -EOPNOTSUPP.
HAVE_ZSTD := $(shell echo '\#include <zstd.h>' | $(CC) -E - >/dev/null 2>&1 && echo 1)
ifeq ($(HAVE_ZSTD),1)
LIBS_DEF := -DUP_HAVE_ZSTD
LIBS_LIB := -lzstd
endif
# The direct store batches its read-ahead through io_uring with liburing
# (apt-get install liburing-dev); built without it, it reads on demand.
HAVE_URING := $(shell echo '\#include <liburing.h>' | $(CC) -E - >/dev/null 2>&1 && echo 1)
ifeq ($(HAVE_URING),1)
LIBS_DEF += -DUP_HAVE_URING
LIBS_LIB += -luring
endif
# The RADOS store needs librados's header to build (apt-get install
# librados-dev) and loads librados.so.2 when a store is opened; built
# without it, its calls return -EOPNOTSUPP.
HAVE_RADOS := $(shell echo '\#include <rados/librados.h>' | $(CC) -E - >/dev/null 2>&1 && echo 1)
ifeq ($(HAVE_RADOS),1)
LIBS_DEF += -DUP_HAVE_RADOS
endif
BASE := -std=gnu11 -D_GNU_SOURCE -pthread -Iinclude $(WARN) $(SANFLAGS) \
	$(LIBS_DEF)
LIBFLAGS := $(BASE) $(CFLAGS) -fPIC -fvisibility=hidden
PROGFLAGS := $(BASE) $(CFLAGS)
LDLIBS := -pthread $(LIBS_LIB)

LIB_SRC := $(wildcard src/*.c)
LIB_OBJ := $(LIB_SRC:src/%.c=$(O)/src/%.o)
LIB_HDR := include/upager.h $(wildcard src/*.h)
TEST_SRC := $(wildcard tests/*.c)
TESTS := $(TEST_SRC:tests/%.c=$(O)/tests/%)
# Shell tests of the tool, installed as executables for tests/run.sh.
TESTS += $(patsubst tests/%.sh,$(O)/tests/%,$(wildcard tests/tool-*.sh))
EXAMPLE_SRC := $(wildcard examples/*.c)
EXAMPLES := $(EXAMPLE_SRC:examples/%.c=$(O)/examples/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCHES := $(BENCH_SRC:bench/%.c=$(O)/bench/%)
TOOL := $(O)/upager

PRELOAD := $(O)/libupager-preload.so

all: $(O)/libupager.a $(O)/libupager.so $(PRELOAD) $(TOOL) $(EXAMPLES) \
	$(BENCHES)

$(O)/src/%.o: src/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(LIBFLAGS) -c -o $@ $<

$(O)/libupager.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(O)/libupager.so: $(LIB_OBJ) src/upager.map
	$(CC) $(LIBFLAGS) -shared -Wl,--version-script=src/upager.map \
		-Wl,-soname,libupager.so.0 -o $@ $(LIB_OBJ) $(LDLIBS)

# The whole library again, with the preload's choice of mappings.  Its
# symbols carry no version, so that they take the place of libc's for
# every reference (a versioned definition would not).
$(PRELOAD): preload/preload.c $(LIB_OBJ) $(LIB_HDR)
	$(CC) $(LIBFLAGS) -Isrc -shared -o $@ preload/preload.c $(LIB_OBJ) \
		$(LDLIBS)

# Tests and benchmarks link the static library, so they may reach the
# internal fault-injection seam in src/sys.c.
$(O)/tests/%: tests/%.c tests/harness.h tests/check.h $(O)/libupager.a
	@mkdir -p $(@D)
	$(CC) $(PROGFLAGS) -Isrc -o $@ $< $(O)/libupager.a $(LDLIBS)

$(O)/tests/%: tests/%.sh
	@mkdir -p $(@D)
	install -m 755 $< $@

$(O)/examples/%: examples/%.c $(O)/libupager.a
	@mkdir -p $(@D)
	$(CC) $(PROGFLAGS) -o $@ $< $(O)/libupager.a $(LDLIBS)

$(O)/bench/%: bench/%.c $(wildcard bench/*.h) $(O)/libupager.a
	@mkdir -p $(@D)
	$(CC) $(PROGFLAGS) -Isrc -o $@ $< $(O)/libupager.a $(LDLIBS) -lm

$(TOOL): $(wildcard tools/*.c tools/*.h) $(O)/libupager.a
	@mkdir -p $(@D)
	$(CC) $(PROGFLAGS) -o $@ $(wildcard tools/*.c) $(O)/libupager.a $(LDLIBS) -lm

check: all $(TESTS)
	@sh tests/run.sh $(O)/tests

# The test programs again as an ordinary user (nobody), where
# vm.unprivileged_userfaultfd is 0: AUTO gives the signals backend.
check-user: all $(TESTS)
	@UPAGER_TEST_USER=nobody sh tests/run.sh $(O)/tests

# The differential tester against the kernel, as long as asked:
# make fuzz N=5000 SEED=1 [CLASSES=map,mem,...] [LEN=40]
N ?= 1000
SEED ?= 1
CLASSES ?= all
LEN ?= 40
# The RADOS store against a one-node cluster (ceph, librados-dev).
RADOS_TESTS := $(O)/rados/store-rados $(O)/rados/full-pool \
	$(O)/rados/tool-rados $(O)/rados-last/lost-osd

$(O)/rados/% $(O)/rados-last/%: tests/rados/%.c tests/rados/rados.h \
		tests/harness.h tests/check.h $(O)/libupager.a
	@mkdir -p $(@D)
	$(CC) $(PROGFLAGS) -Isrc -o $@ $< $(O)/libupager.a $(LDLIBS)

$(O)/rados/%: tests/rados/%.sh
	@mkdir -p $(@D)
	install -m 755 $< $@

check-rados: all $(RADOS_TESTS)
	@sh tests/rados-run.sh $(O)

# Windows (x86-64): the library, the tests that apply there and the tool
# (cp and scan), cross-built with mingw-w64 into $(O)/windows, the tests
# run under wine (apt-get install gcc-mingw-w64-x86-64-win32 wine wine64).
# Each test tests/windows/NAME.c is $(WO)/bin/NAME.exe, run by the script
# $(WO)/tests/NAME, so that tests/run.sh runs them as it runs the rest.
WIN_CC ?= x86_64-w64-mingw32-gcc
WINE ?= wine
WO := $(O)/windows
WIN_FLAGS := -std=gnu11 -D_FILE_OFFSET_BITS=64 -Iinclude $(WARN) $(CFLAGS)
WIN_LIB_OBJ := $(patsubst src/win/%.c,$(WO)/src/%.o,$(wildcard src/win/*.c)) \
	$(WO)/src/config.o
WIN_TESTS := $(patsubst tests/windows/%.c,$(WO)/tests/%,\
	$(wildcard tests/windows/*.c)) $(patsubst tests/windows/%.sh,\
	$(WO)/tests/%,$(wildcard tests/windows/tool-*.sh))
WIN_TOOL_SRC := $(addprefix tools/,upager.c common.c cmd-cp.c cmd-scan.c \
	win.c)
# Files open in binary mode, as on POSIX systems (mingw-w64's binmode.o).
WIN_LDLIBS = -static $(shell $(WIN_CC) -print-file-name=binmode.o) -lpthread

$(WO)/src/%.o: src/win/%.c $(wildcard src/win/*.h) src/up-config.h \
		include/upager.h
	@mkdir -p $(@D)
	$(WIN_CC) $(WIN_FLAGS) -c -o $@ $<

$(WO)/src/config.o: src/config.c src/up-config.h include/upager.h
	@mkdir -p $(@D)
	$(WIN_CC) $(WIN_FLAGS) -c -o $@ $<

$(WO)/libupager.a: $(WIN_LIB_OBJ)
	rm -f $@
	$(WIN_CC:gcc=ar) rcs $@ $^

$(WO)/bin/%.exe: tests/windows/%.c tests/windows/harness.h tests/check.h \
		$(WO)/libupager.a
	@mkdir -p $(@D)
	$(WIN_CC) $(WIN_FLAGS) -o $@ $< $(WO)/libupager.a $(WIN_LDLIBS)

$(WO)/tests/%: $(WO)/bin/%.exe
	@mkdir -p $(@D)
	printf '#!/bin/sh\nexec $(WINE) %s "$$@"\n' $< >$@
	chmod 755 $@

$(WO)/tests/%: tests/windows/%.sh
	@mkdir -p $(@D)
	install -m 755 $< $@

$(WO)/upager.exe: $(WIN_TOOL_SRC) $(wildcard tools/*.h) $(WO)/libupager.a
	$(WIN_CC) $(WIN_FLAGS) -o $@ $(WIN_TOOL_SRC) $(WO)/libupager.a \
		$(WIN_LDLIBS)

windows: $(WO)/libupager.a $(WO)/upager.exe

check-windows: windows $(WIN_TESTS)
	@WINE=$(WINE) sh tests/windows/run.sh $(WO)

fuzz: $(O)/tests/oracle-diff
	$(O)/tests/oracle-diff -q -n $(N) -s $(SEED) -c $(CLASSES) -l $(LEN)

demo: $(O)/examples/demo
	$(O)/examples/demo

bench: $(BENCHES)
	@sh bench/run.sh $(O)/bench

install: $(O)/libupager.a $(O)/libupager.so $(PRELOAD) $(TOOL)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man3 \
		$(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(O)/libupager.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(O)/libupager.so $(DESTDIR)$(PREFIX)/lib/libupager.so.0
	ln -sf libupager.so.0 $(DESTDIR)$(PREFIX)/lib/libupager.so
	install -m 755 $(PRELOAD) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/upager.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(TOOL) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/*.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	-install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	sed -e 's|@PREFIX@|$(PREFIX)|' upager.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/upager.pc

clean:
	rm -rf $(O)

.PHONY: all check check-user check-rados check-windows windows demo bench install \
	clean fuzz
.SECONDARY:
