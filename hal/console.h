/*
 * console: the cashier's display and keypad.
 *
 * The display shows a few short lines (UTF-8); the keypad delivers keys through a pollable fd.
 * Drivers: "stdio" (the process's terminal: typed lines become keys, the display is printed),
 * and "sim" (keys fed and the display read through the backend API, for tests and headless
 * runs).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HAL_CONSOLE_LINES    4
#define HAL_CONSOLE_LINE_MAX 64 /* bytes of UTF-8 per line, including the NUL */

/* Keys: printable ASCII is the character itself; the rest are these. */
enum hal_key { HAL_KEY_ENTER = 0x100, HAL_KEY_CANCEL, HAL_KEY_BACKSPACE, HAL_KEY_MAX };

struct hal_console;

struct hal_console_ops {
	const char *name;
	int (*open)(struct hal_console **ret_console);
	void (*close)(struct hal_console *console);
	/* A descriptor that is readable while keys are pending; -1 when there is no keypad. */
	int (*fd)(struct hal_console *console);
	/* 1 and *ret_key set, 0 when none is pending, -EPIPE when the keypad is gone for good. */
	int (*next_key)(struct hal_console *console, int *ret_key);
	/* Replace the display with n lines (n <= HAL_CONSOLE_LINES; longer lines are cut). */
	int (*show)(struct hal_console *console, const char *const *lines, size_t n);
};

struct hal_console {
	const struct hal_console_ops *ops;
};

extern const struct hal_console_ops hal_console_stdio_ops;
extern const struct hal_console_ops hal_console_sim_ops;

__attribute__((warn_unused_result)) int hal_console_open(const char *name,
							 struct hal_console **ret_console);
void hal_console_close(struct hal_console *console);
void hal_console_driver_names(char *buf, size_t size);

static inline int hal_console_fd(struct hal_console *console)
{
	return console->ops->fd(console);
}

static inline int hal_console_next_key(struct hal_console *console, int *ret_key)
{
	return console->ops->next_key(console, ret_key);
}

static inline int hal_console_show(struct hal_console *console, const char *const *lines, size_t n)
{
	return console->ops->show(console, lines, n);
}

/* Backend API of the "sim" driver; each returns -ENOTSUP on another driver. */
bool hal_console_is_sim(const struct hal_console *console);
/* Queue keys: each byte of text is a key, '\n' is Enter, '\x1b' is Cancel, '\b' is Backspace. */
int hal_console_sim_feed(struct hal_console *console, const char *text);
/* The display's current lines joined with '\n' (valid until the next show). */
const char *hal_console_sim_display(struct hal_console *console);
