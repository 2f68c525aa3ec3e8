/*
 * spool: the reprint queue behind spool.h. A job file is a 24-byte header (magic "LSPOOL1\n",
 * the add order as a 64-bit little-endian number, the length and an FNV-1a hash of the bytes,
 * 32 bits each) and the printer's bytes. The order number survives restarts (the next one is
 * one past the largest found at open), so "oldest first" does not depend on the clock.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define MAGIC	     "LSPOOL1\n"
#define HEADER_SIZE  24
#define SUFFIX	     ".job"
#define NAME_MAX_LEN (HAL_PRINTER_JOB_NAME_MAX + sizeof(SUFFIX))

struct spool {
	int dirfd;
	uint64_t next_seq;
};

struct entry {
	char name[HAL_PRINTER_JOB_NAME_MAX + 1];
	uint64_t seq;
};

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t) p[i] << (8 * i);
	return v;
}

/* "<job>.job" -> job; false for anything else (temporary files, strays). */
static bool job_of_file(const char *file, char *job)
{
	size_t n = strlen(file);
	if (n <= strlen(SUFFIX) || n - strlen(SUFFIX) > HAL_PRINTER_JOB_NAME_MAX ||
	    strcmp(file + n - strlen(SUFFIX), SUFFIX) != 0)
		return false;
	memcpy(job, file, n - strlen(SUFFIX));
	job[n - strlen(SUFFIX)] = '\0';
	return hal_printer_job_name_valid(job);
}

static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG;
		off += (size_t) n;
	}
	return 0;
}

/*
 * Read a job file's header, and with ret_data its bytes (the caller frees). -EBADMSG when the
 * file is no whole spool job.
 */
static int load(struct spool *s, const char *job, uint64_t *ret_seq, uint8_t **ret_data,
		size_t *ret_len)
{
	char file[NAME_MAX_LEN + 1];
	uint8_t h[HEADER_SIZE];
	struct stat st;
	int r;

	snprintf(file, sizeof(file), "%s" SUFFIX, job);
	int fd = openat(s->dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	r = -EBADMSG;
	if (!S_ISREG(st.st_mode) || st.st_size < HEADER_SIZE + 1 ||
	    st.st_size > HEADER_SIZE + SPOOL_JOB_MAX || read_full(fd, h, sizeof(h)) < 0 ||
	    memcmp(h, MAGIC, 8) != 0 || get_le(h + 16, 4) != (uint64_t) st.st_size - HEADER_SIZE)
		goto out;
	size_t len = (size_t) get_le(h + 16, 4);
	if (ret_data) {
		uint8_t *data = malloc(len);
		if (!data) {
			r = -ENOMEM;
			goto out;
		}
		if (read_full(fd, data, len) < 0 || fnv1a(data, len) != get_le(h + 20, 4)) {
			free(data);
			goto out;
		}
		*ret_data = data;
		*ret_len = len;
	}
	*ret_seq = get_le(h + 8, 8);
	r = 0;
out:
	close(fd);
	return r;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * The jobs held, oldest first (the caller frees *ret_entries), the count of files that are no
 * job, and with clean set, leftover temporary files removed.
 */
static int scan(struct spool *s, bool clean, struct entry **ret_entries, size_t *ret_n,
		int *ret_unreadable)
{
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	int unreadable = 0, fd = dup(s->dirfd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	rewinddir(d);
	for (struct dirent *de; (de = readdir(d));) {
		struct entry e;
		if (de->d_name[0] == '.') {
			size_t l = strlen(de->d_name);
			if (clean && l > 4 && strcmp(de->d_name + l - 4, ".tmp") == 0)
				(void) unlinkat(s->dirfd, de->d_name, 0);
			continue;
		}
		if (!job_of_file(de->d_name, e.name) || load(s, e.name, &e.seq, NULL, NULL) < 0) {
			unreadable++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct entry *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = e;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_entry);
	*ret_entries = v;
	*ret_n = n;
	if (ret_unreadable)
		*ret_unreadable = unreadable;
	return 0;
}

int spool_open(const char *dir, struct spool **ret_spool)
{
	struct entry *v;
	size_t n;
	int r;

	if (!dir || !*dir)
		return -EINVAL;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	struct spool *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		r = -errno;
		free(s);
		return r;
	}
	if ((r = scan(s, true, &v, &n, NULL)) < 0) {
		spool_close(s);
		return r;
	}
	s->next_seq = n ? v[n - 1].seq + 1 : 1;
	free(v);
	*ret_spool = s;
	return 0;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	close(s->dirfd);
	free(s);
}

int spool_contains(struct spool *s, const char *job_name)
{
	uint64_t seq;
	if (!hal_printer_job_name_valid(job_name))
		return -EINVAL;
	return load(s, job_name, &seq, NULL, NULL) == 0;
}

int spool_count(struct spool *s)
{
	struct entry *v;
	size_t n;
	int r = scan(s, false, &v, &n, NULL);
	if (r < 0)
		return r;
	free(v);
	return (int) n;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

int spool_add(struct spool *s, const char *job_name, const void *data, size_t len)
{
	char file[NAME_MAX_LEN + 1], tmp[NAME_MAX_LEN + 8];
	uint8_t h[HEADER_SIZE];
	int r;

	if (!s || !hal_printer_job_name_valid(job_name) || !data || len == 0)
		return -EINVAL;
	if (len > SPOOL_JOB_MAX)
		return -EFBIG;
	r = spool_contains(s, job_name);
	if (r != 0)
		return r;
	if ((r = spool_count(s)) < 0)
		return r;
	if (r >= SPOOL_JOBS_MAX)
		return -EDQUOT;

	memcpy(h, MAGIC, 8);
	put_le(h + 8, s->next_seq, 8);
	put_le(h + 16, len, 4);
	put_le(h + 20, fnv1a(data, len), 4);
	snprintf(file, sizeof(file), "%s" SUFFIX, job_name);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", job_name);
	int fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if ((r = write_full(fd, h, sizeof(h))) < 0 || (r = write_full(fd, data, len)) < 0 ||
	    (fsync(fd) < 0 && (r = -errno))) {
		close(fd);
		(void) unlinkat(s->dirfd, tmp, 0);
		return r;
	}
	if (close(fd) < 0 || renameat(s->dirfd, tmp, s->dirfd, file) < 0) {
		r = -errno;
		(void) unlinkat(s->dirfd, tmp, 0);
		return r;
	}
	if (fsync(s->dirfd) < 0)
		return -errno;
	s->next_seq++;
	return 0;
}

int spool_drain(struct spool *s, struct hal_printer *printer, struct spool_drain_result *ret)
{
	struct spool_drain_result res = {0};
	struct entry *v;
	size_t n, i;
	int r;

	if (!s || !printer)
		return -EINVAL;
	if ((r = scan(s, false, &v, &n, &res.unreadable)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		char file[NAME_MAX_LEN + 1];
		uint8_t *data;
		size_t len;
		uint64_t seq;
		if (load(s, v[i].name, &seq, &data, &len) < 0) {
			res.unreadable++;
			continue;
		}
		int pr = hal_printer_print(printer, v[i].name, data, len);
		free(data);
		if (pr < 0) {
			res.error = pr;
			memcpy(res.failed, v[i].name, strlen(v[i].name) + 1);
			break;
		}
		snprintf(file, sizeof(file), "%s" SUFFIX, v[i].name);
		if (unlinkat(s->dirfd, file, 0) < 0 || fsync(s->dirfd) < 0) {
			r = -errno;
			free(v);
			return r;
		}
		res.printed++;
	}
	res.left = (int) (n - (size_t) res.printed);
	free(v);
	if (ret)
		*ret = res;
	return res.printed;
}
