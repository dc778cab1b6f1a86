/* SPDX-License-Identifier: MIT */
/*
 * In the guest (tests/qemu), with no driver bound: program the I/OAT
 * model through its BAR as the test's own CPU, the way qtest would if
 * Debian's QEMU had it.  Bus mastering and MSI-X vector 0 on, the vector
 * aimed at a word of guest RAM (an MSI is a DMA write of its data to its
 * address, so QEMU's delivery of the device's interrupt lands there),
 * then one page copied with an interrupt and a completion asked for, then
 * a descriptor whose source is an IOVA nothing maps.
 *
 *     guest-ioat PHYS
 *
 * PHYS is guest RAM the kernel does not use (past its mem=): buffers and
 * descriptors live there, reached through /dev/mem, and QEMU maps it for
 * DMA at IOVA = PHYS like the rest of guest RAM.  Prints one line per
 * check, "guest-ioat: ok ..." or "guest-ioat: FAIL ...", and exits 1 on
 * any failure.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Facts of the device (the model's src/models/ioat.c names them). */
enum {
	BAR_SIZE = 16 << 10,
	CHAN = 0x80,
	CHANCTRL = CHAN + 0x00, CHANCMD = CHAN + 0x04, DMACOUNT = CHAN + 0x06,
	CHANSTS = CHAN + 0x08, CHAINADDR = CHAN + 0x10, CHANCMP = CHAN + 0x18,
	CHANERR = CHAN + 0x28,
	CTRL_REARM_ERRINT = 0x0011,
	CMD_RESET = 0x20,
	STS_DONE = 1, STS_HALTED = 3,
	ERR_SRC = 1,
	CTL_INT_EN = 1 << 0, CTL_COMPL_WRITE = 1 << 3,
};

struct desc {
	uint32_t size, ctl;
	uint64_t src, dst, next, rsv[2], user[2];
};

/* Where things go in the RAM we were given. */
enum {
	DESC = 0x0, SRC = 0x1000, DST = 0x2000, COMPL = 0x3000, MSI_AT = 0x3800,
	RAM_LEN = 0x4000,
};
#define MSI_DATA 0x4f4bu
#define UNMAPPED 0x40000000ull /* past the guest's RAM: no IOVA there */

static int failures;

static void check(int ok, const char *what)
{
	printf("guest-ioat: %s %s\n", ok ? "ok" : "FAIL", what);
	failures += !ok;
}

static volatile uint8_t *bar;
static volatile uint8_t *ram;
static uint64_t ram_phys;
static int cfg;

#define REG(type, off) (*(volatile type *)(bar + (off)))
#define RAM(type, off) (*(volatile type *)(ram + (off)))

static uint32_t cfg_read(unsigned int off, unsigned int len)
{
	uint32_t v = 0;

	if (pread(cfg, &v, len, off) != (ssize_t)len)
		return ~0u;
	return v;
}

static void cfg_write(unsigned int off, uint32_t v, unsigned int len)
{
	if (pwrite(cfg, &v, len, off) != (ssize_t)len)
		check(0, "a configuration write");
}

/* The device's sysfs directory: 8086:2021, our model. */
static int find_device(char *dir, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	int found = -1;

	while (d && (e = readdir(d)) && found) {
		char path[300], id[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(id, sizeof(id), f) && !strncmp(id, "0x2021", 6)) {
			snprintf(dir, len, "/sys/bus/pci/devices/%s", e->d_name);
			found = 0;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

/* Wait (bounded) until the 64-bit channel status has the given state. */
static uint64_t wait_status(unsigned int state)
{
	struct timespec t = { 0, 1000000 };
	uint64_t sts = 0;

	for (int i = 0; i < 20000; i++) {
		sts = REG(uint64_t, CHANSTS);
		if ((sts & 7) == state)
			break;
		nanosleep(&t, NULL);
	}
	return sts;
}

static int msix_to_ram(void)
{
	unsigned int cap = cfg_read(0x34, 1), table;
	volatile uint32_t *entry;

	while (cap && cfg_read(cap, 1) != 0x11)
		cap = cfg_read(cap + 1, 1);
	if (!cap)
		return -1;
	table = cfg_read(cap + 4, 4);
	if (table & 7)
		return -1; /* the table in another BAR than 0 */
	entry = (volatile uint32_t *)(bar + (table & ~7u));
	entry[0] = (uint32_t)(ram_phys + MSI_AT);
	entry[1] = (uint32_t)((ram_phys + MSI_AT) >> 32);
	entry[2] = MSI_DATA;
	entry[3] = 0; /* unmasked */
	/* Enabled, the function unmasked. */
	cfg_write(cap + 2, (cfg_read(cap + 2, 2) | 0x8000) & ~0x4000u, 2);
	return 0;
}

static void copy_page(void)
{
	struct desc *d = (struct desc *)(ram + DESC);
	struct timespec t = { 0, 1000000 };
	int i, same = 1;

	for (i = 0; i < 4096; i++) {
		RAM(uint8_t, SRC + i) = (uint8_t)(i * 7 + 3);
		RAM(uint8_t, DST + i) = 0;
	}
	RAM(uint32_t, MSI_AT) = 0;
	RAM(uint64_t, COMPL) = 0;
	*d = (struct desc){ .size = 4096, .ctl = CTL_INT_EN | CTL_COMPL_WRITE,
			    .src = ram_phys + SRC, .dst = ram_phys + DST,
			    .next = ram_phys + DESC };
	REG(uint8_t, CHANCMD) = CMD_RESET;
	REG(uint64_t, CHANCMP) = ram_phys + COMPL;
	REG(uint64_t, CHAINADDR) = ram_phys + DESC;
	REG(uint16_t, CHANCTRL) = CTRL_REARM_ERRINT;
	REG(uint16_t, DMACOUNT) = 1;

	check(wait_status(STS_DONE) == ((ram_phys + DESC) | STS_DONE),
	      "the copy is done at its descriptor (CHANSTS)");
	for (i = 0; i < 20000 && RAM(uint32_t, MSI_AT) != MSI_DATA; i++)
		nanosleep(&t, NULL);
	check(RAM(uint32_t, MSI_AT) == MSI_DATA,
	      "its MSI-X message reached guest RAM");
	check(RAM(uint64_t, COMPL) == ((ram_phys + DESC) | STS_DONE),
	      "its completion was written to guest RAM");
	for (i = 0; i < 4096; i++)
		same &= RAM(uint8_t, DST + i) == (uint8_t)(i * 7 + 3);
	check(same, "the destination page is the source's");
}

static void unmapped_source(void)
{
	struct desc *d = (struct desc *)(ram + DESC + 64);
	uint64_t sts;

	RAM(uint8_t, DST) = 0xee;
	*d = (struct desc){ .size = 64, .ctl = CTL_COMPL_WRITE,
			    .src = UNMAPPED, .dst = ram_phys + DST,
			    .next = ram_phys + DESC + 64 };
	REG(uint64_t, CHAINADDR) = ram_phys + DESC + 64;
	REG(uint16_t, DMACOUNT) = 1;
	sts = wait_status(STS_HALTED);
	check((sts & 7) == STS_HALTED, "an unmapped source halts the channel");
	check(REG(uint32_t, CHANERR) == ERR_SRC, "with a source error (CHANERR)");
	check(RAM(uint8_t, DST) == 0xee, "and writes nothing");
}

int main(int argc, char **argv)
{
	char dir[280], path[300];
	int res, mem;
	void *b, *r;

	if (argc != 2)
		return 2;
	ram_phys = strtoull(argv[1], NULL, 0);
	if (find_device(dir, sizeof(dir))) {
		check(0, "the device is on the guest's bus");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/config", dir);
	cfg = open(path, O_RDWR);
	snprintf(path, sizeof(path), "%s/resource0", dir);
	res = open(path, O_RDWR | O_SYNC);
	mem = open("/dev/mem", O_RDWR | O_SYNC);
	if (cfg < 0 || res < 0 || mem < 0) {
		check(0, "its config, resource0 and /dev/mem open");
		return 1;
	}
	b = mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, res, 0);
	r = mmap(NULL, RAM_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, mem,
		 (off_t)ram_phys);
	if (b == MAP_FAILED || r == MAP_FAILED) {
		check(0, "BAR0 and the RAM map");
		return 1;
	}
	bar = b;
	ram = r;
	/* Memory decode and bus mastering: nothing turned them on. */
	cfg_write(0x04, cfg_read(0x04, 2) | 0x6, 2);
	check(msix_to_ram() == 0, "MSI-X vector 0 aimed at guest RAM");
	copy_page();
	unmapped_source();
	return failures ? 1 : 0;
}
