// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "decode.h"

static bool addr_ok(const struct sonde_ebpf_addr *a)
{
	return a->family == 0 || a->family == AF_INET || a->family == AF_INET6 ||
	       a->family == AF_UNIX;
}

void sonde_ebpf_segs(const struct sonde_ebpf_record *r, struct sonde_ebpf_seg *out)
{
	if (r->n_segs)
		memcpy(out, r->segs, r->n_segs * sizeof(*out));
}

/* The segment table after a frame-walked record's payload, checked. */
static int decode_segs(struct sonde_ebpf_record *r, size_t size)
{
	const struct sonde_ebpf_data *d = r->u.data;
	size_t room = size - sizeof(*d) - d->len;
	uint64_t copied = 0, moved = 0;
	struct sonde_ebpf_seg sg;

	if (d->segs == 0 || d->segs > SONDE_EBPF_SEGS_MAX ||
	    (size_t)d->segs * sizeof(sg) > room)
		return -EINVAL;
	r->segs = d->data + d->len;
	r->n_segs = d->segs;
	for (size_t i = 0; i < r->n_segs; i++) {
		memcpy(&sg, r->segs + i * sizeof(sg), sizeof(sg));
		copied += sg.copy;
		moved += (uint64_t)sg.copy + sg.skip;
	}
	if (copied != d->len || moved != d->total)
		return -EINVAL;
	return 0;
}

int sonde_ebpf_decode(const void *buf, size_t size,
		      struct sonde_ebpf_record *ret_rec)
{
	struct sonde_ebpf_record r = { 0 };

	if (!buf || size < sizeof(struct sonde_ebpf_hdr))
		return -EINVAL;
	r.hdr = buf;
	r.type = r.hdr->type;
	switch (r.type) {
	case SONDE_EBPF_EV_DATA:
		if (size < sizeof(*r.u.data))
			return -EINVAL;
		r.u.data = buf;
		if (r.u.data->len > r.u.data->total ||
		    r.u.data->len > SONDE_EBPF_CAPTURE_MAX ||
		    r.u.data->len > size - sizeof(*r.u.data) ||
		    r.hdr->dir > SONDE_EBPF_DIR_SEND ||
		    (r.hdr->flags & ~(SONDE_EBPF_F_PLAIN | SONDE_EBPF_F_CIPHER |
				      SONDE_EBPF_F_AFTER_LOSS | SONDE_EBPF_F_FRAMED |
				      SONDE_EBPF_F_ORPHAN | SONDE_EBPF_F_HTTP_CTL)) ||
		    (r.hdr->flags & SONDE_EBPF_F_PLAIN && r.hdr->flags & SONDE_EBPF_F_CIPHER) ||
		    /* an orphan is plaintext, whole, of no known socket */
		    ((r.hdr->flags & SONDE_EBPF_F_ORPHAN) &&
		     (r.hdr->flags != (SONDE_EBPF_F_PLAIN | SONDE_EBPF_F_ORPHAN) ||
		      r.u.data->local.family != 0)) ||
		    !addr_ok(&r.u.data->local) || !addr_ok(&r.u.data->peer))
			return -EINVAL;
		r.payload = r.u.data->data;
		r.payload_len = r.u.data->len;
		if ((r.hdr->flags & SONDE_EBPF_F_FRAMED) && decode_segs(&r, size) < 0)
			return -EINVAL;
		break;
	case SONDE_EBPF_EV_OPEN:
		if (size < sizeof(*r.u.open))
			return -EINVAL;
		r.u.open = buf;
		if (!addr_ok(&r.u.open->local) || !addr_ok(&r.u.open->peer))
			return -EINVAL;
		break;
	case SONDE_EBPF_EV_SSL_PAIR:
		if (size < sizeof(*r.u.pair))
			return -EINVAL;
		r.u.pair = buf;
		if (!addr_ok(&r.u.pair->local) || !addr_ok(&r.u.pair->peer) || r.hdr->fd < 0)
			return -EINVAL;
		break;
	case SONDE_EBPF_EV_EXEC:
		break; /* the header, checked above */
	case SONDE_EBPF_EV_CLOSE:
		if (size < sizeof(*r.u.close))
			return -EINVAL;
		r.u.close = buf;
		break;
	case SONDE_EBPF_EV_CONNECT:
		if (size < sizeof(*r.u.connect))
			return -EINVAL;
		r.u.connect = buf;
		if (!addr_ok(&r.u.connect->local) || !addr_ok(&r.u.connect->peer))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (r.hdr->role > SONDE_EBPF_ROLE_CLIENT)
		return -EINVAL;
	*ret_rec = r;
	return 0;
}

void sonde_ebpf_addr_convert(const struct sonde_ebpf_addr *in,
			     struct sonde_addr *out)
{
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(out, 0, sizeof(*out));
	out->family = in->family;
	out->port = in->port;
	if (in->family == AF_INET) {
		memcpy(out->addr, in->addr, 4);
	} else if (in->family == AF_INET6 && memcmp(in->addr, v4_mapped, 12) == 0) {
		/* dual-stack sockets (Node, Java): IPv4 peers as IPv4 */
		out->family = AF_INET;
		memcpy(out->addr, in->addr + 12, 4);
	} else if (in->family == AF_INET6 || in->family == AF_UNIX) {
		/* a unix socket's: its end's identity or its peer's */
		memcpy(out->addr, in->addr, 16);
	}
}

uint64_t sonde_ebpf_unix_id(const struct sonde_addr *a)
{
	uint64_t id;

	memcpy(&id, a->addr, sizeof(id));
	return id;
}

void sonde_ebpf_unix_name_string(const struct sonde_ebpf_unix_name *n, char *out, size_t len)
{
	size_t i = 0, o = 0, end = n->len < sizeof(n->name) ? n->len : sizeof(n->name);
	bool abstract = end && n->name[0] == '\0';

	if (abstract) {
		out[o++] = '@';
		i = 1;
	}
	for (; i < end && o + 1 < len; i++) {
		unsigned char c = (unsigned char)n->name[i];

		if (c == '\0' && !abstract)
			break; /* a path's end */
		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[abstract && o == 1 ? 0 : o] = '\0'; /* an empty abstract name: none */
}

uint64_t sonde_ebpf_orphan_ssl(const struct sonde_ebpf_data *d)
{
	uint64_t ssl;

	memcpy(&ssl, d->local.addr, sizeof(ssl));
	return ssl;
}
