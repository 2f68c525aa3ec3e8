/*
 * pn532-emu: the PN532 emulator behind pn532-emu.h. The frame layer (wake-up, start code, ACK
 * and NACK, checksums, normal and extended frames) feeds a table of command handlers over a
 * small chip state: a CIU and SFR register map, the RF settings libnfc changes, the selected
 * target and the card in the field (an NTAG21x page memory or an NTAG 424 DNA's NDEF file), plus
 * the armed fault and a reply held back for a slow answer. The scenario language is at the end.
 * Not a timing model and not for target (card) mode.
 */
#include "pn532-emu.h"

#include "hex.h"
#include "ndef.h"
#include "sun.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define TFI_HOST 0xd4
#define TFI_EMU	 0xd5

/* TFI, command code and parameters: the largest extended frame a PN532 takes. */
#define FRAME_DATA_MAX 265
/* Bytes from the host not yet parsed: one whole extended frame and some noise. */
#define RX_MAX 512
/* Parameters of one reply. */
#define REPLY_MAX (FRAME_DATA_MAX - 2)

/* A passive activation attempt with no card in the field, as the host waits for it. */
#define MS_PER_TRY 2

enum {
	CMD_DIAGNOSE = 0x00,
	CMD_GET_FIRMWARE_VERSION = 0x02,
	CMD_GET_GENERAL_STATUS = 0x04,
	CMD_READ_REGISTER = 0x06,
	CMD_WRITE_REGISTER = 0x08,
	CMD_SET_PARAMETERS = 0x12,
	CMD_SAM_CONFIGURATION = 0x14,
	CMD_POWER_DOWN = 0x16,
	CMD_RF_CONFIGURATION = 0x32,
	CMD_IN_DATA_EXCHANGE = 0x40,
	CMD_IN_COMMUNICATE_THRU = 0x42,
	CMD_IN_DESELECT = 0x44,
	CMD_IN_LIST_PASSIVE_TARGET = 0x4a,
	CMD_IN_RELEASE = 0x52,
};

/* Status byte of the In* commands (PN532 user manual, "Error handling"). */
enum {
	ST_OK = 0x00,
	ST_TIMEOUT = 0x01,     /* the target did not answer */
	ST_CRC = 0x02,	       /* CRC error in the target's answer */
	ST_BAD_CONTEXT = 0x27, /* command not acceptable in the current context */
};

/* What a command handler asks the frame layer to do. */
enum reply_kind {
	REPLY_NOW,    /* send the reply built in out */
	REPLY_LATER,  /* InListPassiveTarget waits for a card */
	REPLY_SYNTAX, /* send the syntax error frame */
};

#define NTAG_PAGES_MAX 231 /* NTAG216 */
#define T4_FILE_SIZE   256 /* the NTAG 424 DNA's NDEF file (E104) */

struct model {
	const char *name;
	size_t pages;	 /* NTAG21x: all pages; user memory is 4 .. pages - 6 */
	uint8_t storage; /* GET_VERSION storage size byte */
	uint8_t cc_size; /* capability container: data area size / 8 */
};

static const struct model models[] = {
    [PN532_EMU_NTAG213] = {"ntag213", 45, 0x0f, 0x12},
    [PN532_EMU_NTAG215] = {"ntag215", 135, 0x11, 0x3e},
    [PN532_EMU_NTAG216] = {"ntag216", 231, 0x13, 0x6d},
    [PN532_EMU_NTAG424DNA] = {"ntag424", 0, 0x11, 0},
};

struct card {
	enum pn532_emu_card_type type;
	uint8_t uid[PN532_EMU_UID_MAX];
	size_t uid_len;
	size_t pages;			 /* NTAG21x */
	uint8_t mem[NTAG_PAGES_MAX * 4]; /* NTAG21x pages; the 424's NDEF file */
	unsigned serial; /* new with every pn532_emu_present(), so a new card is not selected */
	bool idle;	 /* an NTAG after an RF error: silent until selected again */
	/* NTAG 424 DNA, ISO 7816-4 state */
	bool app_selected;
	bool file_selected;
	unsigned version_part; /* GetVersion frames sent so far */
	/* A SUN card (pn532_emu_sun_keys): the URL before '?', made anew at each selection of the
	 * NDEF file, as a card set up for SUN mirroring does */
	bool sun;
	char sun_base[T4_FILE_SIZE];
};

/* The chain's SUN keys and the read counter of the emulator's SUN cards (one for them all). */
struct sun_state {
	bool on;
	uint8_t meta_key[SUN_KEY_LEN], file_key[SUN_KEY_LEN];
	uint32_t read_ctr; /* the next read's */
};

struct pending_list {
	bool active;
	bool forever; /* MxRtyPassiveActivation 0xff: wait until a card comes */
	int64_t deadline_ms;
	uint8_t brty;
	uint8_t init[12];
	size_t init_len;
};

struct pn532_emu {
	int master;
	int slave; /* kept open so the master never sees a hangup between host sessions */
	char path[64];
	char *link;
	void (*trace)(void *userdata, const char *line);
	void *userdata;
	int wake[2];
	pthread_t thread;
	pthread_mutex_t lock;

	/* Guarded by lock. */
	bool stop;
	bool mute;
	struct pn532_emu_fault_spec fault;
	unsigned fault_left;
	unsigned fault_skip;
	bool card_present;
	struct card card;
	struct sun_state sun;
	unsigned next_serial;
	unsigned counts[256];
	bool selected;
	unsigned selected_serial;

	/* Emulator thread only. */
	uint8_t rx[RX_MAX];
	size_t rx_len;
	bool asleep;
	bool sleep_after_reply;
	uint8_t last_reply[FRAME_DATA_MAX + 16];
	size_t last_reply_len;
	bool delayed; /* last_reply goes out at delayed_due_ms unless the host moves on */
	int64_t delayed_due_ms;
	struct pending_list pending;
	uint8_t ciu[256]; /* 0x63xx */
	uint8_t sfr[256]; /* 0xffxx */
	uint8_t max_rty_passive;
	bool field;
	uint8_t parameters;
	uint8_t sam_mode;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void emu_trace(struct pn532_emu *e, const char *who, const char *what, const uint8_t *data,
		      size_t len)
{
	char line[64 + 3 * (FRAME_DATA_MAX + 8)];
	size_t off;

	if (!e->trace)
		return;
	off = (size_t) snprintf(line, sizeof(line), "%s:%s%s", who, what ? " " : "",
				what ? what : "");
	for (size_t i = 0; i < len && off + 4 < sizeof(line); i++)
		off += (size_t) snprintf(line + off, sizeof(line) - off, " %02x", data[i]);
	e->trace(e->userdata, line);
}

/* ---- the card ---- */

static uint8_t *card_page(struct card *c, size_t page)
{
	return c->mem + page * 4;
}

static bool is_ntag21x(const struct card *c)
{
	return c->type != PN532_EMU_NTAG424DNA;
}

/* Fill the card's memory: layout of the model and the NDEF message of uri (NULL: blank). */
static int card_init(struct card *c, const struct pn532_emu_card *card, unsigned serial)
{
	const enum pn532_emu_card_type type = card->type;
	const struct model *m = &models[type];
	const uint8_t *uid = card->uid;
	const size_t uid_len = card->uid_len;
	const char *uri = card->uri;
	int n;

	memset(c, 0, sizeof(*c));
	c->type = type;
	memcpy(c->uid, uid, uid_len);
	c->uid_len = uid_len;
	c->serial = serial;
	if (type == PN532_EMU_NTAG424DNA) {
		if (card->raw) {
			if (card->raw_len > T4_FILE_SIZE)
				return -ENOSPC;
			memcpy(c->mem, card->raw, card->raw_len);
			return 0;
		}
		if (!uri)
			uri = PN532_EMU_SUN_URI;
		n = ndef_message_encode_uri(uri, strlen(uri), c->mem + 2, T4_FILE_SIZE - 2);
		if (n < 0)
			return n;
		c->mem[0] = (uint8_t) (n >> 8);
		c->mem[1] = (uint8_t) n;
		return 0;
	}
	c->pages = m->pages;
	if (uid_len == 7) {
		/* UID with its check bytes, static lock, capability container. */
		memcpy(c->mem, uid, 3);
		c->mem[3] = 0x88 ^ uid[0] ^ uid[1] ^ uid[2];
		memcpy(card_page(c, 1), uid + 3, 4);
		c->mem[8] = uid[3] ^ uid[4] ^ uid[5] ^ uid[6];
		c->mem[9] = 0x48;
	} else {
		/* No NTAG has such a UID; keep it readable in the first pages all the same. */
		memcpy(c->mem, uid, uid_len);
	}
	memcpy(card_page(c, 3), (const uint8_t[]){0xe1, 0x10, m->cc_size, 0x00}, 4);
	/* Dynamic lock bytes, CFG0 (AUTH0 ff: no password), CFG1, then PWD and PACK read as 0. */
	memcpy(card_page(c, m->pages - 5),
	       (const uint8_t[]){0x00, 0x00, 0x00, 0xbd, 0x04, 0x00, 0x00, 0xff, 0x00, 0x05, 0x00,
				 0x00},
	       12);
	if (card->raw) {
		if (card->raw_len > (m->pages - 9) * 4)
			return -ENOSPC;
		memcpy(card_page(c, 4), card->raw, card->raw_len);
		return 0;
	}
	if (!uri) {
		memcpy(card_page(c, 4), (const uint8_t[]){0x03, 0x00, 0xfe, 0x00}, 4);
		return 0;
	}
	n = ndef_t2_encode_uri(uri, strlen(uri), card_page(c, 4), (m->pages - 9) * 4);
	return n < 0 ? n : 0;
}

/*
 * One command to an NTAG21x (CRC handled by the chip). Fills out and returns the answer
 * length, 0 for a bare ACK, or -1 when the card stays silent (unknown command, bad address).
 */
static int card_command(struct card *c, const uint8_t *cmd, size_t n, uint8_t *out)
{
	const uint8_t version[] = {0x00, 0x04, 0x04, 0x02, 0x01, 0x00, models[c->type].storage,
				   0x03};

	if (n == 0 || c->idle)
		return -1;
	switch (cmd[0]) {
	case 0x30: /* READ: four pages, rolling over at the end */
		if (n != 2 || cmd[1] >= c->pages)
			return -1;
		for (size_t i = 0; i < 16; i++)
			out[i] = c->mem[((size_t) cmd[1] * 4 + i) % (c->pages * 4)];
		return 16;
	case 0x3a: /* FAST_READ start end, as much as one PN532 frame holds */
		if (n != 3 || cmd[1] > cmd[2] || cmd[2] >= c->pages ||
		    (size_t) (cmd[2] - cmd[1] + 1) * 4 > REPLY_MAX - 1)
			return -1;
		memcpy(out, card_page(c, cmd[1]), (size_t) (cmd[2] - cmd[1] + 1) * 4);
		return (cmd[2] - cmd[1] + 1) * 4;
	case 0x60: /* GET_VERSION */
		if (n != 1)
			return -1;
		memcpy(out, version, sizeof(version));
		return sizeof(version);
	case 0xa2: /* WRITE: user memory only */
		if (n != 6 || cmd[1] < 4 || cmd[1] > c->pages - 6)
			return -1;
		memcpy(card_page(c, cmd[1]), cmd + 2, 4);
		return 0;
	default:
		return -1;
	}
}

static int apdu_status(uint8_t *out, size_t len, uint16_t sw)
{
	out[len] = (uint8_t) (sw >> 8);
	out[len + 1] = (uint8_t) sw;
	return (int) len + 2;
}

/*
 * A SUN card's NDEF file at a selection: the URL with fresh PICC data (the UID and the next read
 * counter, with random pad) and its SDMMAC, as the card writes it. -ERANGE once the 24-bit
 * counter is spent (the card stops mirroring), other errors as sun_url_make.
 */
static int card_sun_refresh(struct card *c, struct sun_state *s)
{
	struct sun_tap tap = {.read_ctr = s->read_ctr};
	uint8_t pad[5];
	char url[T4_FILE_SIZE];
	int n;

	if (c->uid_len != SUN_UID_LEN)
		return -EINVAL;
	memcpy(tap.uid, c->uid, SUN_UID_LEN);
	randombytes_buf(pad, sizeof(pad));
	if ((n = sun_url_make(s->meta_key, s->file_key, &tap, pad, c->sun_base, url, sizeof(url))) <
	    0)
		return n;
	if ((n = ndef_message_encode_uri(url, (size_t) n, c->mem + 2, T4_FILE_SIZE - 2)) < 0)
		return n;
	c->mem[0] = (uint8_t) (n >> 8);
	c->mem[1] = (uint8_t) n;
	s->read_ctr++;
	return 0;
}

/*
 * One ISO 7816-4 APDU to the NTAG 424 DNA (ISO-DEP framing is the chip's business): SELECT the
 * NDEF application by name and the NDEF file by id, READ BINARY, and the native GetVersion in
 * its ISO wrapping. Fills out with the response and its status word; returns the length.
 */
static int card_apdu(struct card *c, struct sun_state *sun, const uint8_t *a, size_t n,
		     uint8_t *out)
{
	static const uint8_t ndef_app[] = {0xd2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01};
	static const uint8_t version[3][14] = {
	    {0x04, 0x04, 0x02, 0x30, 0x00, 0x11, 0x05},
	    {0x04, 0x04, 0x02, 0x01, 0x00, 0x11, 0x05},
	    {0, 0, 0, 0, 0, 0, 0, 0xba, 0x5e, 0xba, 0x11, 0x01, 0x21, 0x26},
	};

	if (n < 4)
		return apdu_status(out, 0, 0x6700);
	if (a[0] == 0x90 && (a[1] == 0x60 || a[1] == 0xaf)) {
		unsigned part = a[1] == 0x60 ? 0 : c->version_part;
		if (part > 2)
			return apdu_status(out, 0, 0x91ca);
		size_t len = part == 2 ? 14 : 7;
		memcpy(out, version[part], len);
		if (part == 2)
			memcpy(out, c->uid, c->uid_len < 7 ? c->uid_len : 7);
		c->version_part = part + 1;
		return apdu_status(out, len, part == 2 ? 0x9100 : 0x91af);
	}
	c->version_part = 3;
	if (a[0] != 0x00)
		return apdu_status(out, 0, 0x6e00);
	if (a[1] == 0xa4) { /* SELECT */
		size_t lc = n > 4 ? a[4] : 0;
		if (n < 5 + lc)
			return apdu_status(out, 0, 0x6700);
		if (a[2] == 0x04 && lc == sizeof(ndef_app) && memcmp(a + 5, ndef_app, lc) == 0) {
			c->app_selected = true;
			c->file_selected = false;
			return apdu_status(out, 0, 0x9000);
		}
		if (a[2] == 0x00 && lc == 2 && c->app_selected && a[5] == 0xe1 && a[6] == 0x04) {
			if (c->sun && card_sun_refresh(c, sun) < 0)
				return apdu_status(out, 0, 0x6a82); /* no message to give */
			c->file_selected = true;
			return apdu_status(out, 0, 0x9000);
		}
		return apdu_status(out, 0, 0x6a82);
	}
	if (a[1] == 0xb0) { /* READ BINARY offset Le */
		size_t off = (size_t) a[2] << 8 | a[3];
		size_t le = n > 4 ? a[4] : 0;
		if (!c->file_selected)
			return apdu_status(out, 0, 0x6982);
		if (a[2] & 0x80 || off > T4_FILE_SIZE)
			return apdu_status(out, 0, 0x6b00);
		if (le == 0)
			le = 256;
		if (le > T4_FILE_SIZE - off)
			le = T4_FILE_SIZE - off;
		if (le > REPLY_MAX - 3)
			le = REPLY_MAX - 3;
		memcpy(out, c->mem + off, le);
		return apdu_status(out, le, 0x9000);
	}
	return apdu_status(out, 0, 0x6d00);
}

/* The cascade form of the UID a host puts in InListPassiveTarget to pick one card. */
static bool card_matches(const struct card *c, const uint8_t *init, size_t init_len)
{
	uint8_t cascade[12];
	size_t len = 0;

	if (init_len == 0 || (init_len == c->uid_len && memcmp(init, c->uid, init_len) == 0))
		return true;
	for (size_t i = 0; i < c->uid_len; i++) {
		if ((c->uid_len == 7 && i == 0) || (c->uid_len == 10 && (i == 0 || i == 3)))
			cascade[len++] = 0x88;
		cascade[len++] = c->uid[i];
	}
	return init_len == len && memcmp(init, cascade, len) == 0;
}

/* ---- commands (run with e->lock held) ---- */

static bool target_answers(const struct pn532_emu *e)
{
	return e->selected && e->card_present && e->card.serial == e->selected_serial;
}

static uint8_t *reg_at(struct pn532_emu *e, uint16_t addr)
{
	if ((addr >> 8) == 0x63)
		return &e->ciu[addr & 0xff];
	if ((addr >> 8) == 0xff)
		return &e->sfr[addr & 0xff];
	return NULL;
}

static enum reply_kind cmd_diagnose(struct pn532_emu *e, const uint8_t *p, size_t n, uint8_t *out,
				    size_t *out_len)
{
	if (n < 1)
		return REPLY_SYNTAX;
	switch (p[0]) {
	case 0x00: /* communication line test: echo */
		memcpy(out, p, n);
		*out_len = n;
		return REPLY_NOW;
	case 0x01: /* ROM test */
	case 0x02: /* RAM test */
	case 0x07: /* antenna test */
		out[0] = 0x00;
		*out_len = 1;
		return REPLY_NOW;
	case 0x06: /* card presence */
		out[0] = target_answers(e) ? ST_OK : ST_TIMEOUT;
		*out_len = 1;
		return REPLY_NOW;
	default:
		return REPLY_SYNTAX;
	}
}

static enum reply_kind cmd_get_firmware_version(struct pn532_emu *e, const uint8_t *p, size_t n,
						uint8_t *out, size_t *out_len)
{
	static const uint8_t version[] = {0x32, 0x01, 0x06, 0x07}; /* PN532 v1.6, A, B, 18092 */

	(void) e;
	(void) p;
	(void) n;
	memcpy(out, version, sizeof(version));
	*out_len = sizeof(version);
	return REPLY_NOW;
}

static enum reply_kind cmd_get_general_status(struct pn532_emu *e, const uint8_t *p, size_t n,
					      uint8_t *out, size_t *out_len)
{
	size_t len = 0;

	(void) p;
	(void) n;
	out[len++] = 0x00;
	out[len++] = e->field;
	out[len++] = e->selected;
	if (e->selected) {
		static const uint8_t tg[] = {0x01, 0x00, 0x00, 0x00}; /* Tg, BrRx, BrTx, type A */
		memcpy(out + len, tg, sizeof(tg));
		len += sizeof(tg);
	}
	out[len++] = 0x00; /* SAM status */
	*out_len = len;
	return REPLY_NOW;
}

static enum reply_kind cmd_read_register(struct pn532_emu *e, const uint8_t *p, size_t n,
					 uint8_t *out, size_t *out_len)
{
	if (n < 2 || n % 2)
		return REPLY_SYNTAX;
	for (size_t i = 0; i < n; i += 2) {
		const uint8_t *reg = reg_at(e, (uint16_t) (p[i] << 8 | p[i + 1]));
		out[i / 2] = reg ? *reg : 0x00;
	}
	*out_len = n / 2;
	return REPLY_NOW;
}

static enum reply_kind cmd_write_register(struct pn532_emu *e, const uint8_t *p, size_t n,
					  uint8_t *out, size_t *out_len)
{
	(void) out;
	if (n < 3 || n % 3)
		return REPLY_SYNTAX;
	for (size_t i = 0; i < n; i += 3) {
		uint8_t *reg = reg_at(e, (uint16_t) (p[i] << 8 | p[i + 1]));
		if (reg)
			*reg = p[i + 2];
	}
	*out_len = 0;
	return REPLY_NOW;
}

static enum reply_kind cmd_set_parameters(struct pn532_emu *e, const uint8_t *p, size_t n,
					  uint8_t *out, size_t *out_len)
{
	(void) out;
	if (n != 1)
		return REPLY_SYNTAX;
	e->parameters = p[0];
	*out_len = 0;
	return REPLY_NOW;
}

static enum reply_kind cmd_sam_configuration(struct pn532_emu *e, const uint8_t *p, size_t n,
					     uint8_t *out, size_t *out_len)
{
	(void) out;
	if (n < 1 || n > 3 || p[0] < 1 || p[0] > 4)
		return REPLY_SYNTAX;
	e->sam_mode = p[0];
	*out_len = 0;
	return REPLY_NOW;
}

static enum reply_kind cmd_power_down(struct pn532_emu *e, const uint8_t *p, size_t n, uint8_t *out,
				      size_t *out_len)
{
	(void) p;
	if (n < 1 || n > 2)
		return REPLY_SYNTAX;
	e->selected = false;
	e->sleep_after_reply = true;
	out[0] = ST_OK;
	*out_len = 1;
	return REPLY_NOW;
}

static enum reply_kind cmd_rf_configuration(struct pn532_emu *e, const uint8_t *p, size_t n,
					    uint8_t *out, size_t *out_len)
{
	static const uint8_t item_len[] = {[0x01] = 1,	[0x02] = 3, [0x04] = 1, [0x05] = 3,
					   [0x0a] = 11, [0x0b] = 8, [0x0c] = 3, [0x0d] = 9};

	(void) out;
	if (n < 1 || p[0] >= sizeof(item_len) || !item_len[p[0]] || n - 1 != item_len[p[0]])
		return REPLY_SYNTAX;
	if (p[0] == 0x01) {
		e->field = p[1] & 0x01;
		if (!e->field)
			e->selected = false;
	} else if (p[0] == 0x05) {
		e->max_rty_passive = p[3];
	}
	*out_len = 0;
	return REPLY_NOW;
}

static void list_answer(struct pn532_emu *e, uint8_t *out, size_t *out_len)
{
	/* The NTAG 424 DNA's ATS, its length byte first, as the chip passes it on after RATS. */
	static const uint8_t ats[] = {0x06, 0x77, 0x77, 0x71, 0x02, 0x80};
	const bool iso_dep = e->card.type == PN532_EMU_NTAG424DNA;
	size_t len = 0;

	out[len++] = 1;			    /* NbTg */
	out[len++] = 1;			    /* Tg */
	out[len++] = iso_dep ? 0x03 : 0x00; /* SENS_RES (ATQA) */
	out[len++] = 0x44;
	out[len++] = iso_dep ? 0x20 : 0x00; /* SEL_RES (SAK) */
	out[len++] = (uint8_t) e->card.uid_len;
	memcpy(out + len, e->card.uid, e->card.uid_len);
	len += e->card.uid_len;
	if (iso_dep) {
		memcpy(out + len, ats, sizeof(ats));
		len += sizeof(ats);
	}
	e->card.idle = false;
	e->card.app_selected = e->card.file_selected = false;
	e->card.version_part = 3;
	e->selected = true;
	e->selected_serial = e->card.serial;
	*out_len = len;
}

static bool list_finds_card(const struct pn532_emu *e, const struct pending_list *l)
{
	return l->brty == 0x00 && e->card_present && card_matches(&e->card, l->init, l->init_len);
}

static enum reply_kind cmd_in_list_passive_target(struct pn532_emu *e, const uint8_t *p, size_t n,
						  uint8_t *out, size_t *out_len)
{
	struct pending_list *l = &e->pending;

	if (n < 2 || p[0] < 1 || p[0] > 2 || n - 2 > sizeof(l->init))
		return REPLY_SYNTAX;
	e->selected = false;
	l->brty = p[1];
	l->init_len = n - 2;
	memcpy(l->init, p + 2, n - 2);
	if (list_finds_card(e, l)) {
		list_answer(e, out, out_len);
		return REPLY_NOW;
	}
	l->active = true;
	l->forever = e->max_rty_passive == 0xff;
	l->deadline_ms = now_ms() + (int64_t) (e->max_rty_passive + 1) * MS_PER_TRY;
	return REPLY_LATER;
}

/* Bytes for the card in the field: an APDU (InDataExchange to an ISO-DEP card), a raw ISO-DEP
 * block (InCommunicateThru: libnfc's presence check sends R(NAK)) or an NTAG command. */
static enum reply_kind card_exchange(struct pn532_emu *e, bool raw, const uint8_t *p, size_t n,
				     uint8_t *out, size_t *out_len)
{
	int r = -1;

	if (!target_answers(e)) {
		r = -1;
	} else if (is_ntag21x(&e->card)) {
		r = card_command(&e->card, p, n, out + 1);
	} else if (!raw) {
		r = card_apdu(&e->card, &e->sun, p, n, out + 1);
	} else if (n == 1 && (p[0] & 0xf6) == 0xb2) {
		out[1] = (uint8_t) (0xa2 | (p[0] & 0x01)); /* R(ACK) */
		r = 1;
	}

	out[0] = r < 0 ? ST_TIMEOUT : ST_OK;
	*out_len = r < 0 ? 1 : (size_t) r + 1;
	return REPLY_NOW;
}

static enum reply_kind cmd_in_data_exchange(struct pn532_emu *e, const uint8_t *p, size_t n,
					    uint8_t *out, size_t *out_len)
{
	if (n < 1)
		return REPLY_SYNTAX;
	if ((p[0] & 0x3f) != 1 || !e->selected) {
		out[0] = ST_BAD_CONTEXT;
		*out_len = 1;
		return REPLY_NOW;
	}
	return card_exchange(e, false, p + 1, n - 1, out, out_len);
}

static enum reply_kind cmd_in_communicate_thru(struct pn532_emu *e, const uint8_t *p, size_t n,
					       uint8_t *out, size_t *out_len)
{
	return card_exchange(e, true, p, n, out, out_len);
}

/* InDeselect and InRelease: the emulator keeps no state that tells them apart. */
static enum reply_kind cmd_in_release(struct pn532_emu *e, const uint8_t *p, size_t n, uint8_t *out,
				      size_t *out_len)
{
	if (n != 1)
		return REPLY_SYNTAX;
	if (p[0] == 0 || p[0] == 1) {
		e->selected = false;
		out[0] = ST_OK;
	} else {
		out[0] = ST_BAD_CONTEXT;
	}
	*out_len = 1;
	return REPLY_NOW;
}

struct command {
	uint8_t code;
	const char *name;
	enum reply_kind (*run)(struct pn532_emu *e, const uint8_t *p, size_t n, uint8_t *out,
			       size_t *out_len);
};

static const struct command commands[] = {
    {CMD_DIAGNOSE, "Diagnose", cmd_diagnose},
    {CMD_GET_FIRMWARE_VERSION, "GetFirmwareVersion", cmd_get_firmware_version},
    {CMD_GET_GENERAL_STATUS, "GetGeneralStatus", cmd_get_general_status},
    {CMD_READ_REGISTER, "ReadRegister", cmd_read_register},
    {CMD_WRITE_REGISTER, "WriteRegister", cmd_write_register},
    {CMD_SET_PARAMETERS, "SetParameters", cmd_set_parameters},
    {CMD_SAM_CONFIGURATION, "SAMConfiguration", cmd_sam_configuration},
    {CMD_POWER_DOWN, "PowerDown", cmd_power_down},
    {CMD_RF_CONFIGURATION, "RFConfiguration", cmd_rf_configuration},
    {CMD_IN_DATA_EXCHANGE, "InDataExchange", cmd_in_data_exchange},
    {CMD_IN_COMMUNICATE_THRU, "InCommunicateThru", cmd_in_communicate_thru},
    {CMD_IN_DESELECT, "InDeselect", cmd_in_release},
    {CMD_IN_LIST_PASSIVE_TARGET, "InListPassiveTarget", cmd_in_list_passive_target},
    {CMD_IN_RELEASE, "InRelease", cmd_in_release},
};

/* ---- frame layer (emulator thread) ---- */

static void emu_write(struct pn532_emu *e, const uint8_t *bytes, size_t len)
{
	while (len > 0) {
		ssize_t w = write(e->master, bytes, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* Nobody reads the line (host gone or stuck): drop, never block. */
			emu_trace(e, "emu", "output dropped", NULL, 0);
			return;
		}
		bytes += w;
		len -= (size_t) w;
	}
}

static void emu_send_ack(struct pn532_emu *e)
{
	static const uint8_t ack[] = {0x00, 0x00, 0xff, 0x00, 0xff, 0x00};
	emu_write(e, ack, sizeof(ack));
}

static void emu_send_syntax_error(struct pn532_emu *e)
{
	static const uint8_t error[] = {0x00, 0x00, 0xff, 0x01, 0xff, 0x7f, 0x81, 0x00};

	emu_trace(e, "emu", "syntax error frame", NULL, 0);
	memcpy(e->last_reply, error, sizeof(error));
	e->last_reply_len = sizeof(error);
	emu_write(e, error, sizeof(error));
}

/* Build the reply frame in e->last_reply; emu_send_reply() sends it, fault or not. */
static void emu_build_reply(struct pn532_emu *e, uint8_t cmd, const uint8_t *data, size_t len)
{
	uint8_t *f = e->last_reply;
	size_t flen = 0, dlen = len + 2, start;
	uint8_t dcs = 0;

	f[flen++] = 0x00;
	f[flen++] = 0x00;
	f[flen++] = 0xff;
	if (dlen <= 0xff) {
		f[flen++] = (uint8_t) dlen;
		f[flen++] = (uint8_t) -dlen;
	} else {
		f[flen++] = 0xff;
		f[flen++] = 0xff;
		f[flen++] = (uint8_t) (dlen >> 8);
		f[flen++] = (uint8_t) dlen;
		f[flen] = (uint8_t) - (f[flen - 2] + f[flen - 1]);
		flen++;
	}
	start = flen;
	f[flen++] = TFI_EMU;
	f[flen++] = (uint8_t) (cmd + 1);
	memcpy(f + flen, data, len);
	flen += len;
	for (size_t i = start; i < flen; i++)
		dcs = (uint8_t) (dcs + f[i]);
	f[flen++] = (uint8_t) -dcs;
	f[flen++] = 0x00;
	e->last_reply_len = flen;
	emu_trace(e, "emu", NULL, f + start, dlen);
}

static void emu_send_reply(struct pn532_emu *e, uint8_t cmd, const uint8_t *data, size_t len,
			   enum pn532_emu_fault fault, unsigned delay_ms)
{
	emu_build_reply(e, cmd, data, len);
	switch (fault) {
	case PN532_EMU_BAD_CHECKSUM:
		emu_trace(e, "emu", "(fault: data checksum spoilt)", NULL, 0);
		e->last_reply[e->last_reply_len - 2] ^= 0x5a;
		break;
	case PN532_EMU_LOST_REPLY:
		emu_trace(e, "emu", "(fault: reply lost)", NULL, 0);
		return;
	case PN532_EMU_SLOW_REPLY:
		emu_trace(e, "emu", "(fault: reply held back)", NULL, 0);
		e->delayed = true;
		e->delayed_due_ms = now_ms() + delay_ms;
		return;
	case PN532_EMU_FAULT_NONE:
	case PN532_EMU_RF_TIMEOUT:
	case PN532_EMU_CRC_ERROR:
	case PN532_EMU_FAULT_MAX:
		break;
	}
	emu_write(e, e->last_reply, e->last_reply_len);
}

/* A reply held back is lost once the host sends anything: it gave up on it. */
static void emu_drop_delayed(struct pn532_emu *e)
{
	if (!e->delayed)
		return;
	e->delayed = false;
	emu_trace(e, "emu", "(late reply dropped: the host moved on)", NULL, 0);
}

static bool is_rf_fault(enum pn532_emu_fault f)
{
	return f == PN532_EMU_RF_TIMEOUT || f == PN532_EMU_CRC_ERROR;
}

/* Does the armed fault hit this command (code cmd, parameters p)? Takes one hit if so. With
 * e->lock held. */
static enum pn532_emu_fault fault_take(struct pn532_emu *e, uint8_t cmd, const uint8_t *p, size_t n,
				       bool rf)
{
	const struct pn532_emu_fault_spec *f = &e->fault;

	if (e->fault_left == 0 || is_rf_fault(f->fault) != rf)
		return PN532_EMU_FAULT_NONE;
	if (rf) {
		const size_t at = cmd == CMD_IN_DATA_EXCHANGE ? 1 : 0; /* after Tg */
		if (cmd != CMD_IN_DATA_EXCHANGE && cmd != CMD_IN_COMMUNICATE_THRU)
			return PN532_EMU_FAULT_NONE;
		if (f->card_cmd > 0 && (n <= at || p[at] != f->card_cmd))
			return PN532_EMU_FAULT_NONE;
	} else if (f->cmd >= 0 && f->cmd != cmd) {
		return PN532_EMU_FAULT_NONE;
	}
	if (e->fault_skip > 0) {
		e->fault_skip--;
		return PN532_EMU_FAULT_NONE;
	}
	e->fault_left--;
	return f->fault;
}

static void emu_command(struct pn532_emu *e, const uint8_t *d, size_t len)
{
	uint8_t out[REPLY_MAX];
	size_t out_len = 0;
	enum reply_kind kind = REPLY_SYNTAX;
	enum pn532_emu_fault fault;
	unsigned delay_ms = 0;
	const uint8_t cmd = d[0];

	emu_trace(e, "host", NULL, d - 1, len + 1);
	/* A new command ends one still waiting for a card, as on the chip. */
	e->pending.active = false;
	emu_send_ack(e);
	pthread_mutex_lock(&e->lock);
	e->counts[cmd]++;
	fault = fault_take(e, cmd, d + 1, len - 1, true);
	if (fault != PN532_EMU_FAULT_NONE && len >= 1) {
		/* The card's answer never came or came spoilt; an NTAG falls back to idle. */
		emu_trace(e, "emu",
			  fault == PN532_EMU_RF_TIMEOUT ? "(fault: rf timeout)"
							: "(fault: crc error)",
			  NULL, 0);
		if (e->card_present && is_ntag21x(&e->card))
			e->card.idle = true;
		out[0] = fault == PN532_EMU_RF_TIMEOUT ? ST_TIMEOUT : ST_CRC;
		out_len = 1;
		kind = REPLY_NOW;
		fault = PN532_EMU_FAULT_NONE;
	} else {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
			if (commands[i].code == cmd)
				kind = commands[i].run(e, d + 1, len - 1, out, &out_len);
		}
		if (kind == REPLY_NOW) {
			fault = fault_take(e, cmd, d + 1, len - 1, false);
			delay_ms = e->fault.delay_ms;
		}
	}
	pthread_mutex_unlock(&e->lock);

	switch (kind) {
	case REPLY_NOW:
		emu_send_reply(e, cmd, out, out_len, fault, delay_ms);
		break;
	case REPLY_LATER:
		break;
	case REPLY_SYNTAX:
		emu_send_syntax_error(e);
		break;
	}
	if (e->sleep_after_reply) {
		e->sleep_after_reply = false;
		e->asleep = true;
		emu_trace(e, "emu", "asleep", NULL, 0);
	}
}

/* Answer an InListPassiveTarget that waits, once a card came or its retries ran out. */
static void emu_check_pending(struct pn532_emu *e)
{
	uint8_t out[REPLY_MAX];
	size_t out_len = 0;
	bool found, expired;
	enum pn532_emu_fault fault = PN532_EMU_FAULT_NONE;
	unsigned delay_ms = 0;

	if (!e->pending.active)
		return;
	pthread_mutex_lock(&e->lock);
	found = list_finds_card(e, &e->pending);
	if (found)
		list_answer(e, out, &out_len);
	expired = !e->pending.forever && now_ms() >= e->pending.deadline_ms;
	if (found || expired) {
		fault = fault_take(e, CMD_IN_LIST_PASSIVE_TARGET, NULL, 0, false);
		delay_ms = e->fault.delay_ms;
	}
	pthread_mutex_unlock(&e->lock);
	if (!found && !expired)
		return;
	e->pending.active = false;
	if (!found) {
		out[0] = 0; /* NbTg */
		out_len = 1;
	}
	emu_send_reply(e, CMD_IN_LIST_PASSIVE_TARGET, out, out_len, fault, delay_ms);
}

/*
 * Take one frame, ACK or NACK off the front of e->rx. Returns the bytes used (noise before a
 * start code included), 0 when more bytes are needed.
 */
static size_t emu_parse(struct pn532_emu *e)
{
	const uint8_t *b = e->rx, *f, *d;
	size_t n = e->rx_len, i = 0, avail, hdr, len, used;
	uint8_t sum = 0;

	while (i + 1 < n && !(b[i] == 0x00 && b[i + 1] == 0xff))
		i++;
	if (i + 1 >= n)
		return i;
	f = b + i + 2;
	avail = n - i - 2;
	if (avail < 2)
		return i;
	if (f[0] == 0x00 && f[1] == 0xff) {
		emu_drop_delayed(e);
		emu_trace(e, "host", e->pending.active ? "ack (abort)" : "ack", NULL, 0);
		e->pending.active = false;
		return i + 4;
	}
	if (f[0] == 0xff && f[1] == 0x00) {
		emu_drop_delayed(e);
		emu_trace(e, "host", "nack (send again)", NULL, 0);
		emu_write(e, e->last_reply, e->last_reply_len);
		return i + 4;
	}
	if (f[0] == 0xff && f[1] == 0xff) {
		if (avail < 5)
			return i;
		if ((uint8_t) (f[2] + f[3] + f[4]) != 0) {
			emu_trace(e, "host", "bad length checksum", f, 5);
			return i + 2;
		}
		len = (size_t) f[2] << 8 | f[3];
		hdr = 5;
	} else {
		if ((uint8_t) (f[0] + f[1]) != 0) {
			emu_trace(e, "host", "bad length checksum", f, 2);
			return i + 2;
		}
		len = f[0];
		hdr = 2;
	}
	if (len > FRAME_DATA_MAX) {
		emu_trace(e, "host", "frame too long", NULL, 0);
		return i + 2;
	}
	if (avail < hdr + len + 1)
		return i;
	d = f + hdr;
	for (size_t k = 0; k <= len; k++)
		sum = (uint8_t) (sum + d[k]);
	used = i + 2 + hdr + len + 1;
	if (avail > hdr + len + 1 && f[hdr + len + 1] == 0x00)
		used++; /* postamble */
	if (sum != 0) {
		/* The chip stays silent; the host times out waiting for the ACK. */
		emu_trace(e, "host", "bad data checksum", d, len + 1);
		return used;
	}
	emu_drop_delayed(e);
	if (len < 2 || d[0] != TFI_HOST) {
		emu_trace(e, "host", "not a host command", d, len);
		emu_send_ack(e);
		emu_send_syntax_error(e);
		return used;
	}
	emu_command(e, d + 1, len - 1);
	return used;
}

static void emu_feed(struct pn532_emu *e, const uint8_t *buf, size_t n)
{
	size_t used;

	for (size_t i = 0; i < n; i++) {
		if (e->asleep) {
			/* HSU wake-up: the line is dead to the chip until a 0x55 arrives. */
			if (buf[i] == 0x55) {
				e->asleep = false;
				emu_trace(e, "host", "wake-up", NULL, 0);
			}
			continue;
		}
		if (e->rx_len == sizeof(e->rx)) {
			emu_trace(e, "host", "noise dropped", NULL, 0);
			e->rx_len = 0;
		}
		e->rx[e->rx_len++] = buf[i];
		if (e->rx_len < 6)
			continue;
		while ((used = emu_parse(e)) > 0) {
			memmove(e->rx, e->rx + used, e->rx_len - used);
			e->rx_len -= used;
			if (e->asleep) {
				/* Whatever followed PowerDown was lost to the sleeping chip. */
				e->rx_len = 0;
				break;
			}
		}
	}
}

static void *emu_main(void *arg)
{
	struct pn532_emu *e = arg;
	uint8_t buf[256];

	for (;;) {
		struct pollfd fds[2] = {{.fd = e->master, .events = POLLIN},
					{.fd = e->wake[0], .events = POLLIN}};
		int timeout = -1;
		bool stop;

		if (e->pending.active && !e->pending.forever) {
			int64_t left = e->pending.deadline_ms - now_ms();
			timeout = left > 0 ? (int) left : 0;
		}
		if (e->delayed) {
			int64_t left = e->delayed_due_ms - now_ms();
			if (timeout < 0 || left < timeout)
				timeout = left > 0 ? (int) left : 0;
		}
		if (poll(fds, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents) {
			while (read(e->wake[0], buf, sizeof(buf)) > 0)
				;
			pthread_mutex_lock(&e->lock);
			stop = e->stop;
			pthread_mutex_unlock(&e->lock);
			if (stop)
				break;
		}
		if (fds[0].revents & POLLIN) {
			ssize_t r = read(e->master, buf, sizeof(buf));
			pthread_mutex_lock(&e->lock);
			bool mute = e->mute;
			pthread_mutex_unlock(&e->lock);
			if (r > 0 && mute) {
				emu_trace(e, "host", "(muted)", buf, (size_t) r);
				e->pending.active = false;
				e->delayed = false;
				e->rx_len = 0;
			} else if (r > 0) {
				emu_feed(e, buf, (size_t) r);
			}
		} else if (fds[0].revents & (POLLHUP | POLLERR)) {
			/* Should not happen while e->slave is open; do not spin if it does. */
			poll(NULL, 0, 10);
		}
		emu_check_pending(e);
		if (e->delayed && now_ms() >= e->delayed_due_ms) {
			e->delayed = false;
			emu_trace(e, "emu", "(late reply sent)", NULL, 0);
			emu_write(e, e->last_reply, e->last_reply_len);
		}
	}
	return NULL;
}

/* ---- public API ---- */

static void emu_wake(struct pn532_emu *e)
{
	(void) !write(e->wake[1], "w", 1);
}

static int emu_link(const char *link, const char *target)
{
	static atomic_uint seq;
	char tmp[PATH_MAX];
	struct stat st;
	int n;

	if (lstat(link, &st) == 0 && !S_ISLNK(st.st_mode))
		return -EEXIST;
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.%u.tmp", link, (long) getpid(),
		     atomic_fetch_add(&seq, 1));
	if (n < 0 || (size_t) n >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (symlink(target, tmp) < 0)
		return -errno;
	if (rename(tmp, link) < 0) {
		int r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}

static void emu_free(struct pn532_emu *e)
{
	if (e->master >= 0)
		close(e->master);
	if (e->slave >= 0)
		close(e->slave);
	if (e->wake[0] >= 0)
		close(e->wake[0]);
	if (e->wake[1] >= 0)
		close(e->wake[1]);
	free(e->link);
	free(e);
}

static int emu_open_pty(struct pn532_emu *e)
{
	struct termios tio;

	e->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (e->master < 0)
		return -errno;
	if (grantpt(e->master) < 0 || unlockpt(e->master) < 0)
		return -errno;
	int r = ptsname_r(e->master, e->path, sizeof(e->path));
	if (r != 0)
		return -r;
	e->slave = open(e->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (e->slave < 0)
		return -errno;
	/* Raw from the start: no echo or line editing before the host sets its own mode. */
	if (tcgetattr(e->slave, &tio) < 0)
		return -errno;
	cfmakeraw(&tio);
	cfsetspeed(&tio, B115200);
	if (tcsetattr(e->slave, TCSANOW, &tio) < 0)
		return -errno;
	if (fcntl(e->master, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int pn532_emu_start(const struct pn532_emu_config *config, struct pn532_emu **ret_emu)
{
	static const struct pn532_emu_config none;
	struct pn532_emu *e;
	sigset_t all, old;
	int r;

	if (!ret_emu)
		return -EINVAL;
	if (!config)
		config = &none;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->master = e->slave = e->wake[0] = e->wake[1] = -1;
	e->trace = config->trace;
	e->userdata = config->userdata;
	e->asleep = true;
	e->max_rty_passive = 0xff;

	r = emu_open_pty(e);
	if (r == 0 && pipe2(e->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		r = -errno;
	if (r == 0 && config->link) {
		e->link = strdup(config->link);
		r = e->link ? emu_link(e->link, e->path) : -ENOMEM;
	}
	if (r < 0) {
		emu_free(e);
		return r;
	}
	pthread_mutex_init(&e->lock, NULL);
	/* The thread takes no signals: they belong to the program that runs the emulator. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&e->thread, NULL, emu_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		if (e->link)
			unlink(e->link);
		pthread_mutex_destroy(&e->lock);
		emu_free(e);
		return r;
	}
	*ret_emu = e;
	return 0;
}

void pn532_emu_stop(struct pn532_emu *e)
{
	char target[sizeof(e->path)];
	ssize_t n;

	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_mutex_unlock(&e->lock);
	emu_wake(e);
	pthread_join(e->thread, NULL);
	if (e->link) {
		n = readlink(e->link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (strcmp(target, e->path) == 0)
				unlink(e->link);
		}
	}
	/* Master first: the host's end of the line hangs up like an unplugged adapter. */
	close(e->master);
	e->master = -1;
	pthread_mutex_destroy(&e->lock);
	emu_free(e);
}

const char *pn532_emu_path(const struct pn532_emu *emu)
{
	return emu->path;
}

int pn532_emu_present(struct pn532_emu *e, const uint8_t *uid, size_t uid_len)
{
	const struct pn532_emu_card card = {
	    .type = PN532_EMU_NTAG213, .uid = uid, .uid_len = uid_len};
	return pn532_emu_present_card(e, &card);
}

int pn532_emu_present_card(struct pn532_emu *e, const struct pn532_emu_card *card)
{
	struct card *c;
	int r;

	if (!e || !card || !card->uid || card->type < 0 || card->type >= PN532_EMU_CARD_TYPE_MAX ||
	    (card->uid_len != 4 && card->uid_len != 7 && card->uid_len != 10))
		return -EINVAL;
	if ((card->uri && !ndef_uri_valid(card->uri, strlen(card->uri))) ||
	    (card->raw_len && !card->raw))
		return -EINVAL;
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_lock(&e->lock);
	r = card_init(c, card, e->next_serial + 1);
	if (r == 0 && card->type == PN532_EMU_NTAG424DNA && e->sun.on && card->uri &&
	    !strchr(card->uri, '?') && strlen(card->uri) < sizeof(c->sun_base)) {
		c->sun = true;
		memcpy(c->sun_base, card->uri, strlen(card->uri) + 1);
	}
	if (r == 0) {
		e->next_serial++;
		e->card = *c;
		e->card_present = true;
	}
	pthread_mutex_unlock(&e->lock);
	free(c);
	if (r < 0)
		return r == -ENOSPC || r == -EMSGSIZE ? -ENOSPC : -EINVAL;
	emu_wake(e);
	return 0;
}

int pn532_emu_sun_keys(struct pn532_emu *e, const uint8_t meta_key[16], const uint8_t file_key[16],
		       uint32_t read_ctr)
{
	if (!e || !meta_key || !file_key || read_ctr > SUN_READ_CTR_MAX)
		return -EINVAL;
	if (sodium_init() < 0) /* the pad of each message is random */
		return -EIO;
	pthread_mutex_lock(&e->lock);
	e->sun.on = true;
	memcpy(e->sun.meta_key, meta_key, SUN_KEY_LEN);
	memcpy(e->sun.file_key, file_key, SUN_KEY_LEN);
	e->sun.read_ctr = read_ctr;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

static int card_span(struct pn532_emu *e, unsigned page, size_t len, uint8_t **ret)
{
	size_t size = e->card.type == PN532_EMU_NTAG424DNA ? T4_FILE_SIZE : e->card.pages * 4;

	if (!e->card_present)
		return -ENODEV;
	if ((size_t) page * 4 > size || len > size - (size_t) page * 4)
		return -EINVAL;
	*ret = e->card.mem + (size_t) page * 4;
	return 0;
}

int pn532_emu_poke(struct pn532_emu *e, unsigned page, const uint8_t *bytes, size_t len)
{
	uint8_t *at;
	int r;

	if (!e || (!bytes && len))
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	r = card_span(e, page, len, &at);
	if (r == 0 && len)
		memcpy(at, bytes, len);
	pthread_mutex_unlock(&e->lock);
	return r;
}

int pn532_emu_peek(struct pn532_emu *e, unsigned page, uint8_t *ret_bytes, size_t len)
{
	uint8_t *at;
	int r;

	if (!e || (!ret_bytes && len))
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	r = card_span(e, page, len, &at);
	if (r == 0 && len)
		memcpy(ret_bytes, at, len);
	pthread_mutex_unlock(&e->lock);
	return r;
}

int pn532_emu_set_fault(struct pn532_emu *e, const struct pn532_emu_fault_spec *spec)
{
	if (!e || !spec || spec->fault < 0 || spec->fault >= PN532_EMU_FAULT_MAX ||
	    spec->cmd < -1 || spec->cmd > 0xff || spec->card_cmd < -1 || spec->card_cmd > 0xff)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	e->fault = *spec;
	e->fault_skip = spec->skip;
	e->fault_left = spec->fault == PN532_EMU_FAULT_NONE ? 0 : spec->count ? spec->count : 1;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

unsigned pn532_emu_fault_left(struct pn532_emu *e)
{
	unsigned n;

	pthread_mutex_lock(&e->lock);
	n = e->fault_left;
	pthread_mutex_unlock(&e->lock);
	return n;
}

int pn532_emu_remove(struct pn532_emu *e)
{
	if (!e)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	e->card_present = false;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

int pn532_emu_put_back(struct pn532_emu *e)
{
	if (!e)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	if (!e->next_serial) {
		pthread_mutex_unlock(&e->lock);
		return -ENODEV;
	}
	/* the same card, coming into the field again: fresh RF state, the same memory */
	e->card.serial = ++e->next_serial;
	e->card.idle = false;
	e->card.app_selected = e->card.file_selected = false;
	e->card.version_part = 0;
	e->card_present = true;
	pthread_mutex_unlock(&e->lock);
	emu_wake(e);
	return 0;
}

int pn532_emu_set_mute(struct pn532_emu *e, bool mute)
{
	if (!e)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	e->mute = mute;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

unsigned pn532_emu_count(struct pn532_emu *e, uint8_t cmd)
{
	unsigned n;

	pthread_mutex_lock(&e->lock);
	n = e->counts[cmd];
	pthread_mutex_unlock(&e->lock);
	return n;
}

int pn532_emu_parse_hex(const char *text, uint8_t *ret_bytes, size_t cap)
{
	uint8_t bytes[64];
	size_t n = 0;

	if (!text || !ret_bytes)
		return -EINVAL;
	while (*text) {
		if (*text == ' ' || *text == ':' || *text == '\t') {
			text++;
			continue;
		}
		int hi = hex_digit_value(text[0]);
		int lo = hi < 0 ? -1 : hex_digit_value(text[1]);
		if (lo < 0 || n == cap || n == sizeof(bytes))
			return -EINVAL;
		bytes[n++] = (uint8_t) (hi << 4 | lo);
		text += 2;
	}
	memcpy(ret_bytes, bytes, n);
	return (int) n;
}

/* ---- the scenario language ---- */

__attribute__((format(printf, 3, 4))) static int say(char *err, size_t err_size, const char *fmt,
						     ...)
{
	va_list ap;

	if (err && err_size) {
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int parse_uint(const char *text, int base, unsigned max, unsigned *ret)
{
	char *end;
	unsigned long v;

	if (!text || !*text)
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, base);
	if (errno || *end || v > max || text[0] == '-')
		return -EINVAL;
	*ret = (unsigned) v;
	return 0;
}

static int command_tap(struct pn532_emu *e, char **tok, size_t n, char *err, size_t err_size)
{
	struct pn532_emu_card card = {.type = PN532_EMU_NTAG213};
	uint8_t uid[PN532_EMU_UID_MAX];
	size_t i = 1;
	int len, r;

	if (n >= 2) {
		for (int t = 0; t < PN532_EMU_CARD_TYPE_MAX; t++) {
			if (strcmp(tok[1], models[t].name) == 0) {
				card.type = (enum pn532_emu_card_type) t;
				i = 2;
			}
		}
	}
	if (i >= n || n > i + 2)
		return say(err, err_size, "usage: tap [ntag213|ntag215|ntag216|ntag424] UID [URI]");
	len = pn532_emu_parse_hex(tok[i], uid, sizeof(uid));
	if (len != 4 && len != 7 && len != 10)
		return say(err, err_size, "tap: '%s' is not a UID of 4, 7 or 10 bytes in hex",
			   tok[i]);
	card.uid = uid;
	card.uid_len = (size_t) len;
	card.uri = i + 1 < n ? tok[i + 1] : NULL;
	r = pn532_emu_present_card(e, &card);
	if (r == -ENOSPC)
		return say(err, err_size, "tap: the URI does not fit the card's memory");
	if (r < 0)
		return say(err, err_size, "tap: the URI '%s' is not valid for an NDEF URI record",
			   card.uri);
	return 0;
}

static int command_fault(struct pn532_emu *e, char **tok, size_t n, char *err, size_t err_size)
{
	static const struct {
		const char *name;
		enum pn532_emu_fault fault;
	} names[] = {
	    {"none", PN532_EMU_FAULT_NONE}, {"rf-timeout", PN532_EMU_RF_TIMEOUT},
	    {"crc", PN532_EMU_CRC_ERROR},   {"checksum", PN532_EMU_BAD_CHECKSUM},
	    {"slow", PN532_EMU_SLOW_REPLY}, {"lost", PN532_EMU_LOST_REPLY},
	};
	struct pn532_emu_fault_spec spec = {
	    .fault = PN532_EMU_FAULT_MAX, .count = 1, .cmd = -1, .card_cmd = -1};
	size_t i = 2;
	unsigned v;

	for (size_t k = 0; n >= 2 && k < sizeof(names) / sizeof(names[0]); k++) {
		if (strcmp(tok[1], names[k].name) == 0)
			spec.fault = names[k].fault;
	}
	if (spec.fault == PN532_EMU_FAULT_MAX)
		return say(err, err_size,
			   "usage: fault none|rf-timeout|crc|checksum|lost [COUNT] [cmd HEX] "
			   "[card HEX] [skip N], fault slow MS [COUNT] [cmd HEX] [skip N]");
	if (spec.fault == PN532_EMU_SLOW_REPLY) {
		if (i >= n || parse_uint(tok[i], 10, 60000, &spec.delay_ms) < 0)
			return say(err, err_size,
				   "fault slow: give the delay in ms (at most 60000)");
		i++;
	}
	if (i < n && isdigit((unsigned char) tok[i][0])) {
		if (parse_uint(tok[i], 10, 1000000, &spec.count) < 0 || spec.count == 0)
			return say(err, err_size, "fault: '%s' is not a count of 1 or more",
				   tok[i]);
		i++;
	}
	while (i < n) {
		const bool hex = strcmp(tok[i], "cmd") == 0 || strcmp(tok[i], "card") == 0;
		if ((!hex && strcmp(tok[i], "skip") != 0) || i + 1 == n ||
		    parse_uint(tok[i + 1], hex ? 16 : 10, hex ? 0xff : 1000000, &v) < 0)
			return say(err, err_size,
				   "fault: expected 'cmd HEX', 'card HEX' or 'skip N' at '%s'",
				   tok[i]);
		if (strcmp(tok[i], "cmd") == 0)
			spec.cmd = (int) v;
		else if (hex)
			spec.card_cmd = (int) v;
		else
			spec.skip = v;
		i += 2;
	}
	return pn532_emu_set_fault(e, &spec);
}

int pn532_emu_command(struct pn532_emu *e, const char *line, char *err, size_t err_size)
{
	char copy[2 * PN532_EMU_URI_MAX + 64], *tok[8], *save = NULL, *t;
	size_t n = 0;
	unsigned page;
	uint8_t bytes[64];
	int len;

	if (err && err_size)
		err[0] = '\0';
	if (!e || !line)
		return -EINVAL;
	if (strlen(line) >= sizeof(copy))
		return say(err, err_size, "line too long");
	strcpy(copy, line);
	char *hash = strchr(copy, '#');
	if (hash)
		*hash = '\0';
	for (t = strtok_r(copy, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == sizeof(tok) / sizeof(tok[0]))
			return say(err, err_size, "too many words");
		tok[n++] = t;
	}
	if (n == 0)
		return 0;
	if (strcmp(tok[0], "tap") == 0)
		return command_tap(e, tok, n, err, err_size);
	if (strcmp(tok[0], "fault") == 0)
		return command_fault(e, tok, n, err, err_size);
	if (strcmp(tok[0], "sun-keys") == 0) {
		uint8_t meta[16], file[16];
		unsigned ctr = 0;
		if ((n != 3 && n != 4) || pn532_emu_parse_hex(tok[1], meta, sizeof(meta)) != 16 ||
		    pn532_emu_parse_hex(tok[2], file, sizeof(file)) != 16 ||
		    (n == 4 && parse_uint(tok[3], 10, SUN_READ_CTR_MAX, &ctr) < 0))
			return say(err, err_size,
				   "usage: sun-keys META_KEY FILE_KEY [READ_CTR] (keys of 32 hex "
				   "digits, the counter 0 to 16777215)");
		return pn532_emu_sun_keys(e, meta, file, ctr);
	}
	if (n == 1 && strcmp(tok[0], "remove") == 0)
		return pn532_emu_remove(e);
	if (n == 1 && strcmp(tok[0], "back") == 0)
		return pn532_emu_put_back(e) < 0 ? say(err, err_size, "no card to put back") : 0;
	if (n == 1 && (strcmp(tok[0], "mute") == 0 || strcmp(tok[0], "unmute") == 0))
		return pn532_emu_set_mute(e, tok[0][0] == 'm');
	if (strcmp(tok[0], "poke") == 0) {
		if (n != 3 || parse_uint(tok[1], 10, 255, &page) < 0 ||
		    (len = pn532_emu_parse_hex(tok[2], bytes, sizeof(bytes))) <= 0)
			return say(err, err_size, "usage: poke PAGE HEX (up to 64 bytes)");
		int r = pn532_emu_poke(e, page, bytes, (size_t) len);
		if (r == -ENODEV)
			return say(err, err_size, "poke: no card on the reader");
		if (r < 0)
			return say(err, err_size, "poke: past the end of the card's memory");
		return 0;
	}
	return say(err, err_size, "unknown command '%s'", tok[0]);
}
