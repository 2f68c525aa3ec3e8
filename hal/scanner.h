/*
 * scanner: 2D barcode scanners that hand up each scanned code as one line of text.
 *
 * A scanner is polled through a file descriptor that stays the same while the driver runs
 * (even when the device goes away and comes back): when it is readable, call
 * hal_scanner_next_event() until it returns 0. Drivers:
 * - "serial": a scanner on a serial port (RS-232, a USB CDC-ACM or serial adapter), set raw,
 *   8N1, at the configured baud;
 * - "hid": a scanner that types like a USB keyboard, read from its evdev node
 *   (/dev/input/by-id/...-event-kbd) as struct input_event records; key codes become
 *   characters through a US keymap with shift (and caps lock), and the device can be grabbed
 *   so its keystrokes do not also reach the console;
 * - "sim": codes scanned through the backend API below.
 *
 * Lines end at CR, LF or CRLF, or after a silence (the timeout) for scanners that send no
 * terminator; empty lines are skipped. A line is at most HAL_SCANNER_LINE_MAX bytes: a longer
 * one is dropped whole and reported as HAL_SCANNER_TOO_LONG, never cut short. The hal hands up
 * bytes: what a line means (a card URL, a coupon, a phone number) is app/scan's business, and a
 * line may carry personal data, so it is never logged in clear.
 *
 * The line framer and the keymap are public so that tests and other drivers share them.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HAL_SCANNER_LINE_MAX	       512  /* bytes of one line, terminator excluded */
#define HAL_SCANNER_TIMEOUT_MS_DEFAULT 100  /* silence that ends a partial line */
#define HAL_SCANNER_RETRY_MS_DEFAULT   1000 /* between attempts to reopen a lost device */
#define HAL_SCANNER_BAUD_DEFAULT       9600

enum hal_scanner_event_kind {
	HAL_SCANNER_LINE,     /* a scanned code: line, len */
	HAL_SCANNER_TOO_LONG, /* a line over HAL_SCANNER_LINE_MAX, dropped whole; len: its bytes */
	HAL_SCANNER_BAD_KEY,  /* "hid": a key the keymap does not know, or a character typed with
				 Ctrl, Alt or Meta held, in this line: the line is dropped whole;
				 key: the first such key code */
	HAL_SCANNER_LOST,     /* the device went away or failed; the driver keeps reopening it */
	HAL_SCANNER_BACK,     /* the device is there again */
	HAL_SCANNER_EVENT_MAX
};

struct hal_scanner_event {
	enum hal_scanner_event_kind kind;
	/* HAL_SCANNER_LINE: the bytes as scanned (any byte but CR and LF, NUL included), then a
	 * NUL; empty on the other kinds. */
	char line[HAL_SCANNER_LINE_MAX + 1];
	size_t len;	/* LINE: bytes in line; TOO_LONG and BAD_KEY: bytes the line had */
	bool timed_out; /* LINE, TOO_LONG, BAD_KEY: ended by silence, not by a terminator */
	unsigned key;	/* BAD_KEY: the Linux key code (linux/input-event-codes.h) */
};

/* Zero in a field means its default; drivers ignore the fields they do not use. */
struct hal_scanner_config {
	const char *path; /* "serial": the tty; "hid": the evdev node */
	unsigned baud;	  /* "serial": 1200 to 115200, default 9600 */
	/* Silence that ends a partial line: default HAL_SCANNER_TIMEOUT_MS_DEFAULT; -1: never (a
	 * line ends at its terminator only). */
	int timeout_ms;
	int retry_ms; /* between attempts to reopen a lost device, default 1000 */
	bool no_grab; /* "hid": do not take the device for ourselves (EVIOCGRAB); for tests and
			 for a device that is not an evdev node */
};

struct hal_scanner;

struct hal_scanner_ops {
	const char *name;
	int (*open)(const struct hal_scanner_config *config, struct hal_scanner **ret_scanner);
	void (*close)(struct hal_scanner *scanner);
	/* A descriptor that is readable while events may be pending; the same for the handle's
	 * whole life. */
	int (*fd)(struct hal_scanner *scanner);
	/* 1 and *ret_event filled, 0 when none is pending, or a negative errno. */
	int (*next_event)(struct hal_scanner *scanner, struct hal_scanner_event *ret_event);
};

struct hal_scanner {
	const struct hal_scanner_ops *ops;
};

extern const struct hal_scanner_ops hal_scanner_sim_ops;
extern const struct hal_scanner_ops hal_scanner_serial_ops;
extern const struct hal_scanner_ops hal_scanner_hid_ops;

/*
 * Open the driver called name. Returns 0, -ENOENT for an unknown name, -EINVAL for a bad
 * configuration (no path, a relative path, an unknown baud), or the errno of opening the device
 * (-ENOTTY: "serial" on something that is not a tty; "hid" on something that is not an evdev
 * node unless no_grab). A device that cannot be opened at start is an error, not a LOST event.
 */
__attribute__((warn_unused_result)) int hal_scanner_open(const char *name,
							 const struct hal_scanner_config *config,
							 struct hal_scanner **ret_scanner);
void hal_scanner_close(struct hal_scanner *scanner);
/* Comma-separated driver names, for messages. */
void hal_scanner_driver_names(char *buf, size_t size);
/* Is this a baud rate the "serial" driver sets (1200, 2400, 4800, 9600, ... 115200)? */
bool hal_scanner_baud_valid(unsigned baud);
/* Short English names for logs ("line", "too long", "bad key", "lost", "back"), never NULL. */
const char *hal_scanner_event_name(enum hal_scanner_event_kind kind);

static inline int hal_scanner_fd(struct hal_scanner *scanner)
{
	return scanner->ops->fd(scanner);
}

static inline int hal_scanner_next_event(struct hal_scanner *scanner,
					 struct hal_scanner_event *ret_event)
{
	return scanner->ops->next_event(scanner, ret_event);
}

/* Backend API of the "sim" driver; each returns -ENOTSUP on another driver. */
bool hal_scanner_is_sim(const struct hal_scanner *scanner);
/* Scan a code: its len bytes and a CR go through the line framer (so a code over the cap comes
 * out as HAL_SCANNER_TOO_LONG, and a CR or LF inside it ends a line there). -ENOBUFS when the
 * event queue is full, -ENODEV while disconnected. */
int hal_scanner_sim_scan(struct hal_scanner *scanner, const void *code, size_t len);
/* Bytes with no terminator: they wait for more, a terminator or hal_scanner_sim_silence(). */
int hal_scanner_sim_type(struct hal_scanner *scanner, const void *bytes, size_t len);
/* The timeout passes: a partial line ends (timed_out set). */
int hal_scanner_sim_silence(struct hal_scanner *scanner);
/* Unplug (false: HAL_SCANNER_LOST, a partial line is lost) or plug back (true: BACK). */
int hal_scanner_sim_set_connected(struct hal_scanner *scanner, bool connected);

/*
 * The line framer every driver feeds: bytes in, events out, time given by the caller (so tests
 * need no clock). Zero-initialise, then hal_scanner_framer_init().
 */
struct hal_scanner_framer {
	char buf[HAL_SCANNER_LINE_MAX + 1];
	size_t len;	  /* bytes of the current line seen, also past the cap */
	bool after_cr;	  /* the last byte was a CR: an LF now is its CRLF */
	unsigned bad_key; /* first bad key code of this line, 0: none */
	bool has_bad_key; /* a bad key was seen in this line */
	int64_t last_us;  /* time of the last byte of a partial line */
	int timeout_ms;	  /* -1: never */
};

void hal_scanner_framer_init(struct hal_scanner_framer *fr, int timeout_ms);
/*
 * One byte at now_us. Returns 1 with *ret_event when it ended a line (LINE, TOO_LONG or
 * BAD_KEY), else 0. A CR or LF ends the line; the LF of a CRLF and empty lines give nothing.
 */
int hal_scanner_framer_byte(struct hal_scanner_framer *fr, uint8_t byte, int64_t now_us,
			    struct hal_scanner_event *ret_event);
/* A key the keymap does not know, at now_us: the line it falls in is dropped (BAD_KEY). */
void hal_scanner_framer_bad_key(struct hal_scanner_framer *fr, unsigned key, int64_t now_us);
/* True while a partial line waits (bytes or a bad key with no terminator yet). */
bool hal_scanner_framer_pending(const struct hal_scanner_framer *fr);
/* When the partial line times out (microseconds, same clock as now_us); INT64_MAX: never. */
int64_t hal_scanner_framer_deadline_us(const struct hal_scanner_framer *fr);
/*
 * End a partial line if its timeout passed by now_us (force: whatever the time). Returns 1 with
 * *ret_event (timed_out set), else 0.
 */
int hal_scanner_framer_expire(struct hal_scanner_framer *fr, int64_t now_us, bool force,
			      struct hal_scanner_event *ret_event);
/* Forget a partial line (the device went away). */
void hal_scanner_framer_reset(struct hal_scanner_framer *fr);

/*
 * The US keyboard layout of a HID scanner: the character of Linux key code key with shift
 * (either shift key, or caps lock for letters) as given, or 0 for a key that types no
 * character (Enter and the keypad's Enter end a line instead: hal_scanner_key_is_enter). Tab
 * types a tab byte. Keypad digits and operators map as with num lock on.
 */
char hal_scanner_keymap_us(unsigned key, bool shift);
/* Enter or the keypad's Enter: the end of a line. */
bool hal_scanner_key_is_enter(unsigned key);
