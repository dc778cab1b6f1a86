/* SPDX-License-Identifier: MIT */
/*
 * The daemon's decoding of a request message (request_parse): what it
 * accepts, what it drops, and that it never reads or writes outside the
 * message.  Each case is a message built here and the result it must get.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "daemon/request.h"

struct msg {
	unsigned char b[4096];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* A request with nsegs segments of 8 data bytes each at uptr 0x1000*i. */
static void build(struct msg *m, uint32_t nsegs_said, uint32_t nsegs_made)
{
	struct ioasid_wire_req req = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = IOASID_WIRE_IOCTL,
		.version = IOASID_WIRE_VERSION,
		.nsegs = nsegs_said,
		.fd = -1,
	};

	m->n = 0;
	put(m, &req, sizeof(req));
	for (uint32_t i = 0; i < nsegs_made; i++) {
		struct ioasid_wire_seg seg = {
			.uptr = 0x1000ull * (i + 1), .len = 8,
			.flags = IOASID_SEG_DATA,
		};
		uint64_t data = i;

		put(m, &seg, sizeof(seg));
		put(m, &data, sizeof(data));
	}
}

static int parse(struct msg *m, size_t n, const struct ucred *cred,
		 struct request *r)
{
	memset(r, 0, sizeof(*r));
	r->w.fd = -1;
	r->w.cb_sock = -1;
	r->w.pidfd = -1;
	return request_parse(r, m->b, n, cred, -1, "test");
}

int main(void)
{
	struct ucred me = { .pid = getpid(), .uid = getuid(), .gid = getgid() };
	struct ucred nobody = { .pid = 0 };
	struct request r;
	struct msg m;

	/* As many segments as a request may carry: each one decoded. */
	build(&m, WIRE_UACCESS_MAX_SEGS, WIRE_UACCESS_MAX_SEGS);
	CHECK_CASE("the most segments", parse(&m, m.n, &me, &r), 0);
	CHECK_EQ(r.w.nsegs, WIRE_UACCESS_MAX_SEGS);
	for (unsigned int i = 0; i < r.w.nsegs; i++) {
		uint64_t v;

		CHECK_EQ(r.w.segs[i].seg.uptr, 0x1000ull * (i + 1));
		memcpy(&v, r.w.segs[i].data, sizeof(v));
		CHECK_EQ(v, i);
	}
	CHECK_EQ(r.caller.pid, me.pid);

	build(&m, WIRE_UACCESS_MAX_SEGS + 1, WIRE_UACCESS_MAX_SEGS + 1);
	CHECK_CASE("one segment too many", parse(&m, m.n, &me, &r), -EPROTO);
	build(&m, 2, 1);
	CHECK_CASE("fewer segments than said", parse(&m, m.n, &me, &r),
		   -EPROTO);
	build(&m, 1, 2);
	CHECK_CASE("bytes after the last segment", parse(&m, m.n, &me, &r),
		   -EPROTO);
	build(&m, 1, 1);
	CHECK_CASE("data cut short", parse(&m, m.n - 1, &me, &r), -EPROTO);
	CHECK_CASE("no credentials", parse(&m, m.n, &nobody, &r), -EPROTO);
	CHECK_CASE("no credentials at all", parse(&m, m.n, NULL, &r), -EPROTO);
	CHECK_CASE("a header cut short",
		   parse(&m, sizeof(struct ioasid_wire_req) - 1, &me, &r),
		   -EPROTO);
	m.b[0] ^= 1;
	CHECK_CASE("a wrong magic", parse(&m, m.n, &me, &r), -EPROTO);
	m.b[0] ^= 1;
	{
		struct ioasid_wire_seg wrap = {
			.uptr = UINT64_MAX - 3, .len = 8,
		};

		build(&m, 1, 0);
		put(&m, &wrap, sizeof(wrap));
		CHECK_CASE("a segment wrapping the address space",
			   parse(&m, m.n, &me, &r), -EPROTO);
	}
	return check_finish("wire");
}
