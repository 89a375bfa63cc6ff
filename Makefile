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

.PHONY: all modules modules_install clean check run shell lint bench
