/*
 * devkey: load or make the device's Ed25519 key in the state folder. The file holds only the
 * seed; the key pair is derived from it on each load.
 */
#include "devkey.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "random.h"

static int fail(char *err, size_t err_size, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t err_size, int r, const char *fmt, ...)
{
	if (err && err_size > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return r;
}

static int keypair_from_seed(const uint8_t seed[DEVKEY_SEED_LEN], struct devkey *ret_key)
{
	struct devkey k;
	if (crypto_sign_seed_keypair(k.public_key, k.secret_key, seed) != 0)
		return -EIO;
	k.key_id = token_key_id(k.public_key);
	*ret_key = k;
	sodium_memzero(&k, sizeof(k));
	return 0;
}

/* Read the seed from an open key file after checking what the file is. */
static int read_key(int fd, const char *path, struct devkey *ret_key, char *err, size_t err_size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fail(err, err_size, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, err_size, -EINVAL,
			    "%s: the device key must be a regular file; move it away and restore "
			    "the key from the backup",
			    path);
	if (st.st_uid != geteuid())
		return fail(
		    err, err_size, -EPERM,
		    "%s: the device key belongs to uid %u, not to this user (uid %u); chown "
		    "it to the daemon's user",
		    path, (unsigned) st.st_uid, (unsigned) geteuid());
	if (st.st_mode & 077)
		return fail(
		    err, err_size, -EPERM,
		    "%s: the device key is open to group or others (mode %04o, must be "
		    "0600); chmod 600 it, and treat the key as exposed if others could read "
		    "it",
		    path, (unsigned) (st.st_mode & 07777));
	if (st.st_size != DEVKEY_SEED_LEN)
		return fail(
		    err, err_size, -EINVAL,
		    "%s: the device key must hold exactly %d bytes, it has %lld; restore it "
		    "from the backup",
		    path, DEVKEY_SEED_LEN, (long long) st.st_size);

	uint8_t seed[DEVKEY_SEED_LEN], extra;
	size_t got = 0;
	while (got < sizeof(seed)) {
		ssize_t n = read(fd, seed + got, sizeof(seed) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			sodium_memzero(seed, sizeof(seed));
			return fail(err, err_size, r, "%s: read: %s", path, strerror(-r));
		}
		if (n == 0)
			break;
		got += (size_t) n;
	}
	ssize_t more = read(fd, &extra, 1);
	if (got != sizeof(seed) || more != 0) {
		sodium_memzero(seed, sizeof(seed));
		return fail(err, err_size, -EINVAL,
			    "%s: the device key must hold exactly %d bytes (it changed while read)",
			    path, DEVKEY_SEED_LEN);
	}
	int r = keypair_from_seed(seed, ret_key);
	sodium_memzero(seed, sizeof(seed));
	return r < 0 ? fail(err, err_size, r, "%s: cannot derive the key pair", path) : 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t) w;
	}
	return 0;
}

/*
 * Write a new seed to a temporary file, then put it in place unless a key appeared meanwhile.
 * Returns 0 when the new key is in place, -EEXIST when another key won (the caller loads it).
 */
static int create_key(const char *dir, const char *path, char *err, size_t err_size)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int) sizeof(tmp))
		return fail(err, err_size, -ENAMETOOLONG, "%s: path too long", path);
	uint8_t seed[DEVKEY_SEED_LEN];
	int r = hal_random_bytes(seed, sizeof(seed));
	if (r < 0)
		return fail(err, err_size, r, "random source: %s", strerror(-r));

	int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 whatever the umask */
	if (fd < 0) {
		r = -errno;
		sodium_memzero(seed, sizeof(seed));
		return fail(err, err_size, r, "create %s: %s", tmp, strerror(-r));
	}
	r = write_all(fd, seed, sizeof(seed));
	sodium_memzero(seed, sizeof(seed));
	if (r == 0 && fchmod(fd, 0600) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		(void) unlink(tmp);
		return fail(err, err_size, r, "write %s: %s", tmp, strerror(-r));
	}

	/* never replace a key that another process put there since we looked */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		r = -errno;
		if (r == -EINVAL || r == -ENOSYS) {
			/* a file system without RENAME_NOREPLACE: link() does not replace either */
			r = link(tmp, path) < 0 ? -errno : 0;
		}
		(void) unlink(tmp);
		if (r == -EEXIST)
			return r;
		if (r < 0)
			return fail(err, err_size, r, "rename %s to %s: %s", tmp, path,
				    strerror(-r));
	}

	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		r = -errno;
		if (dfd >= 0)
			close(dfd);
		return fail(err, err_size, r, "fsync %s: %s", dir, strerror(-r));
	}
	close(dfd);
	return 0;
}

int devkey_load(const char *state_dir, unsigned flags, struct devkey *ret_key, char *err,
		size_t err_size)
{
	if (err && err_size > 0)
		err[0] = '\0';
	if (!state_dir || !*state_dir || !ret_key || (flags & ~DEVKEY_CREATE))
		return fail(err, err_size, -EINVAL, "devkey_load: bad arguments");
	if (sodium_init() < 0)
		return fail(err, err_size, -EIO, "libsodium cannot start");

	/* room for the temporary file's ".XXXXXX" after the path */
	char dir[PATH_MAX], path[PATH_MAX - 8];
	if (snprintf(dir, sizeof(dir), "%s/keys", state_dir) >= (int) sizeof(dir) ||
	    snprintf(path, sizeof(path), "%s/%s", state_dir, DEVKEY_FILE) >= (int) sizeof(path))
		return fail(err, err_size, -ENAMETOOLONG, "%s: state folder path too long",
			    state_dir);

	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd >= 0) {
			int r = read_key(fd, path, ret_key, err, err_size);
			close(fd);
			return r;
		}
		if (errno == ELOOP)
			return fail(err, err_size, -EINVAL,
				    "%s: the device key is a symbolic link; put the key file "
				    "itself there",
				    path);
		if (errno != ENOENT)
			return fail(err, err_size, -errno, "open %s: %s", path, strerror(errno));
		if (!(flags & DEVKEY_CREATE))
			return fail(err, err_size, -ENOENT,
				    "%s: no device key; provision the terminal (or restore the key "
				    "from the backup)",
				    path);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return fail(err, err_size, -errno, "create %s: %s", dir, strerror(errno));
		int r = create_key(dir, path, err, err_size);
		if (r < 0 && r != -EEXIST)
			return r;
		/* load what is now there: ours, or the one that won the race */
	}
	return fail(err, err_size, -EIO, "%s: the device key vanished while it was made", path);
}

void devkey_wipe(struct devkey *key)
{
	if (key)
		sodium_memzero(key, sizeof(*key));
}

void devkey_public_hex(const struct devkey *key, char buf[2 * TOKEN_PUBLIC_KEY_LEN + 1])
{
	sodium_bin2hex(buf, 2 * TOKEN_PUBLIC_KEY_LEN + 1, key->public_key, TOKEN_PUBLIC_KEY_LEN);
}
