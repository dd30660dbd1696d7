// SPDX-License-Identifier: MIT
/* node_filesystem_*: mount table from procfs, sizes from statfs(2) under rootfs. */
#include <errno.h>
#include <string.h>

#include "host.h"

enum { FS_SIZE, FS_FREE, FS_AVAIL, FS_FILES, FS_FILES_FREE, FS_READONLY, FS_DEVICE_ERROR };

int sonde_host_register_filesystem(struct sonde_host *h)
{
	const struct {
		const char *name, *help;
	} t[HOST_FS_FIELDS] = {
		[FS_SIZE] = { "node_filesystem_size_bytes", "Filesystem size in bytes." },
		[FS_FREE] = { "node_filesystem_free_bytes", "Filesystem free space in bytes." },
		[FS_AVAIL] = { "node_filesystem_avail_bytes",
			       "Filesystem space available to non-root users in bytes." },
		[FS_FILES] = { "node_filesystem_files", "Filesystem total file nodes." },
		[FS_FILES_FREE] = { "node_filesystem_files_free",
				    "Filesystem total free file nodes." },
		[FS_READONLY] = { "node_filesystem_readonly", "Filesystem read-only status." },
		[FS_DEVICE_ERROR] = { "node_filesystem_device_error",
				      "Whether an error occurred while getting statistics for the "
				      "given device." },
	};
	int err;

	for (int i = 0; i < HOST_FS_FIELDS; i++) {
		struct sonde_family_desc d = {
			.name = t[i].name,
			.help = t[i].help,
			.type = SONDE_GAUGE,
			.labels = { "device", "fstype", "mountpoint" },
		};

		if ((err = sonde_registry_add(h->reg, &d, &h->fs[i])) < 0)
			return err;
	}
	return 0;
}

/* Mount table fields escape ' ', '\t', '\n' and '\\' as \ooo octal. */
static bool unescape(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= outlen)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

static bool has_option(const char *opts, size_t len, const char *want)
{
	size_t wl = strlen(want);
	const char *p = opts, *end = opts + len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t l = comma ? (size_t)(comma - p) : (size_t)(end - p);

		if (l == wl && memcmp(p, want, wl) == 0)
			return true;
		p += l + 1;
	}
	return false;
}

/* node_exporter labels mount points relative to rootfs when it runs with the host under a prefix. */
static const char *strip_rootfs(const char *rootfs, const char *mp)
{
	size_t rl = strlen(rootfs);

	while (rl > 0 && rootfs[rl - 1] == '/')
		rl--;
	if (rl == 0 || strncmp(mp, rootfs, rl) != 0)
		return mp;
	if (mp[rl] == '\0')
		return "/";
	if (mp[rl] != '/')
		return mp;
	return mp + rl;
}

static void one_mount(struct sonde_host *h, const char *dev, const char *mp,
		      const char *fstype, bool ro)
{
	const char *lv[3] = { dev, fstype, mp };
	char path[4096];
	struct statfs st;
	double bsize;
	int err;

	err = sonde_path_join(path, sizeof(path), h->cfg.rootfs, mp);
	if (err == 0)
		err = sonde_host_statfs(h, mp, path, &st);
	sonde_gauge_set(sonde_family_series(h->fs[FS_DEVICE_ERROR], lv), err < 0 ? 1 : 0);
	if (err < 0)
		return;
	bsize = (double)st.f_bsize;
	sonde_gauge_set(sonde_family_series(h->fs[FS_SIZE], lv), (double)st.f_blocks * bsize);
	sonde_gauge_set(sonde_family_series(h->fs[FS_FREE], lv), (double)st.f_bfree * bsize);
	sonde_gauge_set(sonde_family_series(h->fs[FS_AVAIL], lv), (double)st.f_bavail * bsize);
	sonde_gauge_set(sonde_family_series(h->fs[FS_FILES], lv), (double)st.f_files);
	sonde_gauge_set(sonde_family_series(h->fs[FS_FILES_FREE], lv), (double)st.f_ffree);
	sonde_gauge_set(sonde_family_series(h->fs[FS_READONLY], lv), ro ? 1 : 0);
}

int sonde_host_collect_filesystem(struct sonde_host *h, unsigned *parse_errors)
{
	const char *pos, *end, *line;
	size_t ll;
	int err;

	for (int i = 0; i < HOST_FS_FIELDS; i++)
		sonde_family_mark(h->fs[i]);
	/* PID 1's view, as node_exporter: the agent may run in its own mount namespace. */
	err = sonde_host_buf_read(&h->buf, h->cfg.procfs, "1/mounts");
	if (err == -ENOENT)
		err = sonde_host_buf_read(&h->buf, h->cfg.procfs, "mounts");
	if (err < 0)
		goto out;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll, *tok[4];
		size_t tl[4];
		char dev[512], mpraw[1024], fstype[64];
		const char *mp;
		int n = 0;

		while (n < 4 && sonde_host_tok_next(&lp, le, &tok[n], &tl[n]))
			n++;
		if (n == 0)
			continue;
		if (n < 4 || !unescape(tok[0], tl[0], dev, sizeof(dev)) ||
		    !unescape(tok[1], tl[1], mpraw, sizeof(mpraw)) ||
		    !unescape(tok[2], tl[2], fstype, sizeof(fstype)) || mpraw[0] != '/') {
			(*parse_errors)++;
			continue;
		}
		mp = strip_rootfs(h->cfg.rootfs, mpraw);
		if (regexec(&h->mp_re, mp, 0, NULL, 0) == 0 ||
		    regexec(&h->fstype_re, fstype, 0, NULL, 0) == 0)
			continue;
		one_mount(h, dev, mp, fstype, has_option(tok[3], tl[3], "ro"));
	}
out:
	for (int i = 0; i < HOST_FS_FIELDS; i++)
		sonde_family_sweep(h->fs[i]);
	sonde_gauge_set(sonde_family_solo(h->stuck_mounts), (double)sonde_host_statfs_stuck(h));
	return err;
}
