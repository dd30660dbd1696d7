/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_DECODE_H
#define SONDE_EBPF_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"
#include "transaction.h"

/*
 * Ring-buffer record -> typed view. The kernel is trusted to write what
 * events.h says, but a mismatch between a stale BPF object and this build
 * must be a counted error, not a read past the record.
 */
struct sonde_ebpf_record {
	uint8_t type; /* enum sonde_ebpf_ev_type */
	const struct sonde_ebpf_hdr *hdr;
	union {
		const struct sonde_ebpf_data *data;
		const struct sonde_ebpf_open *open;
		const struct sonde_ebpf_close *close;
		const struct sonde_ebpf_connect *connect;
		const struct sonde_ebpf_ssl_pair *pair;
	} u;
	const uint8_t *payload; /* DATA: captured bytes */
	size_t payload_len;
	/* DATA with SONDE_EBPF_F_FRAMED: the segment table after the payload
	 * (checked: the copies add up to payload_len, copies and skips to
	 * total), not necessarily aligned: read it with sonde_ebpf_segs */
	const uint8_t *segs;
	size_t n_segs;
};

/* Copies a frame-walked record's segment table into out (n_segs entries). */
void sonde_ebpf_segs(const struct sonde_ebpf_record *r, struct sonde_ebpf_seg *out);

/* 0, or -EINVAL when the record is short, of unknown type, or inconsistent. */
int sonde_ebpf_decode(const void *buf, size_t size,
		      struct sonde_ebpf_record *ret_rec);

/* IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) come out as AF_INET. */
void sonde_ebpf_addr_convert(const struct sonde_ebpf_addr *in,
			     struct sonde_addr *out);

/* An orphan's SSL object (SONDE_EBPF_F_ORPHAN: in its local address). */
uint64_t sonde_ebpf_orphan_ssl(const struct sonde_ebpf_data *d);

/* A unix socket's end identity: the first 8 bytes of its address. */
uint64_t sonde_ebpf_unix_id(const struct sonde_addr *a);

/*
 * A unix socket's name as text for a label: a path as it is (to its NUL),
 * an abstract name as "@name" (as ss prints it); bytes outside printable
 * ASCII become '?'. "" when there is none. out must hold len >= 2.
 */
void sonde_ebpf_unix_name_string(const struct sonde_ebpf_unix_name *n, char *out, size_t len);

#endif
