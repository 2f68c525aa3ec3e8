/*
 * devkey_test: the device key in a temporary state folder: made once at first start (0600, 32
 * bytes, no temporary file left), the same key loaded after, refused when missing without the
 * create flag, open to group or others, of the wrong size, a symlink or a folder; tokens signed
 * with it verify with its public key and id.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "devkey.h"
#include "token.h"

struct fixture {
	char dir[64];
	char keys[96];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/devkey_test.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->dir);
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, DEVKEY_FILE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	int r = system(cmd);
	free(f);
	return r == 0 ? 0 : -1;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	(void) unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t) n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_first_start_then_same_key(void **state)
{
	struct fixture *f = *state;
	struct devkey a, b;
	char err[256];
	mode_t old = umask(0); /* the key must be 0600 whatever the umask */
	assert_int_equal(devkey_load(f->dir, DEVKEY_CREATE, &a, err, sizeof(err)), 0);
	umask(old);
	assert_string_equal(err, "");

	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, DEVKEY_SEED_LEN);
	assert_int_equal(stat(f->keys, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(count_entries(f->keys), 1); /* no temporary file left */
	assert_int_equal(a.key_id, token_key_id(a.public_key));

	/* the next start loads the same key, with or without the create flag */
	assert_int_equal(devkey_load(f->dir, 0, &b, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(devkey_load(f->dir, DEVKEY_CREATE, &b, NULL, 0), 0);
	assert_memory_equal(&a, &b, sizeof(a));

	char hex[2 * TOKEN_PUBLIC_KEY_LEN + 1];
	devkey_public_hex(&a, hex);
	assert_int_equal(strlen(hex), 64);
	char id[9];
	snprintf(id, sizeof(id), "%08x", a.key_id);

	/* another state folder gets another key */
	struct fixture *g;
	void *gs = NULL;
	assert_int_equal(setup(&gs), 0);
	g = gs;
	assert_int_equal(devkey_load(g->dir, DEVKEY_CREATE, &b, err, sizeof(err)), 0);
	assert_memory_not_equal(a.public_key, b.public_key, TOKEN_PUBLIC_KEY_LEN);
	assert_int_equal(teardown(&gs), 0);

	devkey_wipe(&b);
	static const struct devkey zero;
	assert_memory_equal(&b, &zero, sizeof(b));
	devkey_wipe(NULL);
}

static void test_signs_tokens(void **state)
{
	struct fixture *f = *state;
	struct devkey k;
	assert_int_equal(devkey_load(f->dir, DEVKEY_CREATE, &k, NULL, 0), 0);
	struct token t = {.type = TOKEN_CARD, .issued_s = 1767225600, .expires_s = 1798761600};
	strcpy(t.card_code, "0123456789AB");
	char text[TOKEN_TEXT_MAX + 1];
	assert_true(token_sign(&t, k.secret_key, text, sizeof(text)) > 0);
	struct token_key key;
	token_key_init(&key, k.public_key, TOKEN_TYPES_ALL);
	assert_int_equal(key.key_id, k.key_id);
	struct token out;
	enum token_status s;
	assert_int_equal(token_verify(text, strlen(text), &key, 1, 1767225600, &out, &s), 0);
	assert_int_equal(s, TOKEN_OK);
	assert_int_equal(out.key_id, k.key_id);
	devkey_wipe(&k);
}

static void test_missing_without_create(void **state)
{
	struct fixture *f = *state;
	struct devkey k;
	char err[256];
	assert_int_equal(devkey_load(f->dir, 0, &k, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no device key"));
	assert_non_null(strstr(err, f->path));
	struct stat st;
	assert_int_equal(stat(f->keys, &st), -1); /* nothing made */
	assert_int_equal(devkey_load(NULL, 0, &k, err, sizeof(err)), -EINVAL);
	assert_int_equal(devkey_load(f->dir, 0, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(devkey_load(f->dir, 1u << 7, &k, err, sizeof(err)), -EINVAL);
}

static void test_refuses_open_permissions(void **state)
{
	struct fixture *f = *state;
	struct devkey k, before;
	char err[256];
	assert_int_equal(devkey_load(f->dir, DEVKEY_CREATE, &k, NULL, 0), 0);
	static const mode_t bad[] = {0640, 0604, 0660, 0644, 0666, 0610, 0601};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(f->path, bad[i]), 0);
		memset(&k, 0x5a, sizeof(k));
		before = k;
		assert_int_equal(devkey_load(f->dir, DEVKEY_CREATE, &k, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "group or others"));
		char mode[16];
		snprintf(mode, sizeof(mode), "mode %04o", (unsigned) bad[i]);
		assert_non_null(strstr(err, mode));
		assert_memory_equal(&k, &before, sizeof(k)); /* not written on failure */
	}
	/* refused, not repaired: the file is left as it was */
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0601);
	/* 0400 (read-only for the owner) is fine */
	assert_int_equal(chmod(f->path, 0400), 0);
	assert_int_equal(devkey_load(f->dir, 0, &k, err, sizeof(err)), 0);
}

static void test_refuses_wrong_size(void **state)
{
	struct fixture *f = *state;
	struct devkey k;
	char err[256];
	uint8_t data[64];
	memset(data, 7, sizeof(data));
	assert_int_equal(mkdir(f->keys, 0700), 0);
	static const size_t sizes[] = {0, 1, 31, 33, 64};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		write_file(f->path, data, sizes[i], 0600);
		assert_int_equal(devkey_load(f->dir, DEVKEY_CREATE, &k, err, sizeof(err)), -EINVAL);
		char want[48];
		snprintf(want, sizeof(want), "exactly 32 bytes, it has %zu", sizes[i]);
		assert_non_null(strstr(err, want));
		/* never replaced by a fresh key */
		struct stat st;
		assert_int_equal(stat(f->path, &st), 0);
		assert_int_equal(st.st_size, (off_t) sizes[i]);
	}
	/* 32 bytes of anything are a seed */
	write_file(f->path, data, 32, 0600);
	assert_int_equal(devkey_load(f->dir, 0, &k, err, sizeof(err)), 0);
}

static void test_refuses_symlink_and_folder(void **state)
{
	struct fixture *f = *state;
	struct devkey k;
	char err[256], target[160];
	uint8_t data[32] = {1};
	assert_int_equal(mkdir(f->keys, 0700), 0);
	snprintf(target, sizeof(target), "%s/elsewhere.key", f->dir);
	write_file(target, data, sizeof(data), 0600);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(devkey_load(f->dir, DEVKEY_CREATE, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(unlink(f->path), 0);

	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(devkey_load(f->dir, DEVKEY_CREATE, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "regular file"));
	assert_int_equal(rmdir(f->path), 0);

	/* a state folder that does not exist is an error, not a place to make one */
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/nope", f->dir);
	assert_int_equal(devkey_load(missing, DEVKEY_CREATE, &k, err, sizeof(err)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_first_start_then_same_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signs_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_without_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_open_permissions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_wrong_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_symlink_and_folder, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
