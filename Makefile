# SPDX-License-Identifier: GPL-2.0
#
# magalloc: out-of-tree kernel module.
#
#   make            build mod/magalloc.ko against KDIR
#   make run        build, boot stock Debian 6.12 in QEMU, show magalloc working
#   make check      every test on stock 6.12, stock 6.1 and the KUnit kernel
#   make shell      the `make run` guest with an interactive shell
#   make lint       checkpatch --strict and sparse; fails on any finding
#   make bench      magbench.ko in QEMU: magalloc against SLUB, one table
#                   (build/bench/table.txt); not part of `make check`
#   make clean
#   make dkms-install   copy the module's sources to /usr/src/magalloc-<version>
#                   and DKMS-build and install magalloc.ko for every kernel
#                   whose headers are installed (DKMS_KERNELS="<ver>..." to
#                   choose); root
#   make dkms-remove    undo it: every kernel's magalloc.ko and the sources
#   make package-check  build the Debian packages, lintian, install them,
#                   boot the DKMS-built module on 6.12 and 6.1, purge
#
# KDIR defaults to the running kernel's build tree, else the newest
# installed plain Debian -amd64 headers (make check installs the -rt
# flavour too, which sort -V would put last).

RUNNING := $(shell uname -r)
KDIR_WHY := KDIR as given
ifeq ($(origin KDIR),undefined)
KDIR_WHY := $(if $(wildcard /lib/modules/$(RUNNING)/build),the running kernel's build tree,no build tree for the running kernel ($(RUNNING)): the newest plain -amd64 headers)
endif
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
		    $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | \
			    grep -v -e '-rt-amd64$$' -e '-cloud-amd64$$' | sort -V | tail -n1))

all: modules

modules:
	@echo "magalloc: building against $(KDIR) ($(KDIR_WHY))"
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf build

check:
	scripts/check.sh

run:
	scripts/run.sh

shell:
	scripts/run.sh --shell

lint:
	scripts/lint.sh

bench:
	scripts/bench.sh

# DKMS: the version is dkms.conf's.  dkms-src is also debian/rules' way of
# filling the magalloc-dkms package (DESTDIR): Kbuild, mod/ and uapi/, no
# samples/ and no build products.
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="*\([^"]*\)"*$$/\1/p' $(CURDIR)/dkms.conf)
DKMS_SRC = $(DESTDIR)/usr/src/magalloc-$(DKMS_VERSION)
# Every kernel with a build tree: dkms is always given -k, as the running
# kernel may have no headers at all.
DKMS_KERNELS ?= $(patsubst /lib/modules/%/build,%,$(wildcard /lib/modules/*/build))

dkms-src:
	rm -rf $(DKMS_SRC)
	install -d $(DKMS_SRC)/mod $(DKMS_SRC)/uapi/linux
	install -m 644 dkms.conf Kbuild $(DKMS_SRC)/
	install -m 644 mod/Kbuild $(filter-out %.mod.c,$(wildcard mod/*.c)) \
		$(wildcard mod/*.h) $(DKMS_SRC)/mod/
	install -m 644 uapi/linux/magalloc.h $(DKMS_SRC)/uapi/linux/

dkms-install:
	@if dpkg-query -S /usr/src/magalloc-$(DKMS_VERSION)/dkms.conf >/dev/null 2>&1; then \
		echo "/usr/src/magalloc-$(DKMS_VERSION) belongs to the magalloc-dkms package: remove it first" >&2; \
		exit 1; fi
	@[ -n "$(DKMS_KERNELS)" ] || { echo "no kernel headers in /lib/modules/*/build" >&2; exit 1; }
	if [ -n "$$(dkms status -m magalloc -v $(DKMS_VERSION))" ]; then \
		dkms remove -m magalloc -v $(DKMS_VERSION) --all; fi
	$(MAKE) dkms-src DESTDIR=
	dkms add -m magalloc -v $(DKMS_VERSION)
	for k in $(DKMS_KERNELS); do \
		dkms install -m magalloc -v $(DKMS_VERSION) -k $$k || exit 1; done
	dkms status -m magalloc

dkms-remove:
	@if dpkg-query -S /usr/src/magalloc-$(DKMS_VERSION)/dkms.conf >/dev/null 2>&1; then \
		echo "/usr/src/magalloc-$(DKMS_VERSION) belongs to the magalloc-dkms package: apt remove magalloc-dkms" >&2; \
		exit 1; fi
	if [ -n "$$(dkms status -m magalloc -v $(DKMS_VERSION))" ]; then \
		dkms remove -m magalloc -v $(DKMS_VERSION) --all; fi
	rm -rf /usr/src/magalloc-$(DKMS_VERSION)

package-check:
	scripts/package-check.sh

.PHONY: all modules modules_install clean check run shell lint bench \
	dkms-src dkms-install dkms-remove package-check
