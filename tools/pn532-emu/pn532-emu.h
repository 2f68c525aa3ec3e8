/*
 * pn532-emu: a PN532 that speaks the UART (HSU) frame protocol on a pseudo-terminal, so the
 * real libnfc "pn532_uart" driver, and the hal "libnfc" driver above it, run in CI without a
 * reader.
 *
 * It answers just the commands libnfc 1.8 sends to open a PN532 and to poll ISO14443A cards
 * (wake-up, Diagnose, GetFirmwareVersion, SAMConfiguration, SetParameters, RFConfiguration,
 * Read/WriteRegister, InListPassiveTarget, InDataExchange, InCommunicateThru, InDeselect,
 * InRelease, GetGeneralStatus, PowerDown); anything else gets a syntax error frame.
 *
 * Cards: NTAG213, NTAG215 and NTAG216 (ATQA 00 44, SAK 00; READ, FAST_READ, WRITE and GET_VERSION
 * with each model's version bytes and page count, an NDEF TLV with a URI record in the user
 * memory) and NTAG 424 DNA (ATQA 03 44, SAK 20, ATS; ISO-DEP APDUs: SELECT of the NDEF
 * application D2760000850101 and of the file E104, READ BINARY, the native GetVersion), whose
 * NDEF file holds a URI with a SUN-style query (fixed test data, no real CMAC).
 *
 * Faults for the host's error paths: an RF timeout or CRC error from the card, a reply frame with
 * a bad checksum, a slow reply, a lost reply (ACK but no answer), a hung chip (mute). A late
 * reply is dropped when the host sends anything else first (a new command or an abort ACK), as
 * the chip does. Replies never carry the status bits 0x80 (NAD) or 0x40 (MI): libnfc aborts on
 * the first and chains on the second.
 *
 * The same things can be said as text lines (pn532_emu_command()), which is the scenario
 * language of the command-line front and of tests; docs/nfc.md describes it.
 *
 * Not a full chip model: no target mode, no ISO14443B or FeliCa, no authentication, no timing
 * beyond what libnfc's timeouts rely on. Each emulator runs one thread of its own; the functions
 * below may be called from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PN532_EMU_UID_MAX 10
#define PN532_EMU_URI_MAX 1024

enum pn532_emu_card_type {
	PN532_EMU_NTAG213,    /* 45 pages, 144 bytes of user memory */
	PN532_EMU_NTAG215,    /* 135 pages, 504 bytes */
	PN532_EMU_NTAG216,    /* 231 pages, 888 bytes */
	PN532_EMU_NTAG424DNA, /* ISO-DEP, a 256-byte NDEF file */
	PN532_EMU_CARD_TYPE_MAX
};

struct pn532_emu_card {
	enum pn532_emu_card_type type;
	const uint8_t *uid; /* 4, 7 or 10 bytes (an NTAG has 7) */
	size_t uid_len;
	/* The URI of the card's NDEF message. NULL: a blank card (an empty NDEF TLV on an
	 * NTAG21x; on an NTAG 424 DNA the SUN test URI PN532_EMU_SUN_URI). */
	const char *uri;
	/* Instead of uri: these bytes from page 4 on (NTAG21x) or from the start of the NDEF file
	 * (NTAG 424 DNA), for malformed data or a card's memory copied with pn532_emu_peek(). */
	const uint8_t *raw;
	size_t raw_len;
};

/* The NTAG 424 DNA's default URI: a SUN message with the example values of NXP AN12196. */
#define PN532_EMU_SUN_URI                                                                          \
	"https://k.example.pl/c?picc_data=EF963FF7828658A599F3041510671E88&cmac=94EED9EE65337086"

enum pn532_emu_fault {
	PN532_EMU_FAULT_NONE,
	PN532_EMU_RF_TIMEOUT,	/* the card does not answer: status 01; an NTAG goes idle */
	PN532_EMU_CRC_ERROR,	/* the card's answer fails its CRC: status 02; an NTAG goes idle */
	PN532_EMU_BAD_CHECKSUM, /* the reply frame's data checksum is wrong */
	PN532_EMU_SLOW_REPLY,	/* the reply comes delay_ms late (dropped if the host moves on) */
	PN532_EMU_LOST_REPLY,	/* ACK, then no reply at all */
	PN532_EMU_FAULT_MAX
};

struct pn532_emu_fault_spec {
	enum pn532_emu_fault fault;
	unsigned count;	   /* how many matching commands it hits; 0 counts as 1 */
	int cmd;	   /* command code it hits (0x40 InDataExchange...), -1: any. RF faults hit
			      only InDataExchange and InCommunicateThru whatever this says */
	unsigned delay_ms; /* PN532_EMU_SLOW_REPLY */
	int card_cmd;	   /* RF faults: the card command (first byte to the card, 0xa2 WRITE...)
			      they hit, -1: any. 0 counts as any in a zeroed spec */
	unsigned skip;	   /* let this many matching commands through first */
};

struct pn532_emu;

struct pn532_emu_config {
	/* Point this symlink at the slave pty (replacing an older symlink there, never a file);
	 * NULL: none. A restarted emulator keeps the name while the pty number changes. */
	const char *link;
	/* Called from the emulator thread with one line per frame or event ("host: d4 02",
	 * "emu: d5 03 32 01 06 07", "host: ack (abort)"); NULL: quiet. Frames carry card UIDs. */
	void (*trace)(void *userdata, const char *line);
	void *userdata;
};

/*
 * Open a pty pair and start answering on it. The emulator starts asleep, like a PN532 on HSU
 * after power-up: it ignores the line until it sees the 0x55 wake-up preamble.
 * Returns 0, or a negative errno (-EEXIST when config->link names something not a symlink).
 */
__attribute__((warn_unused_result)) int pn532_emu_start(const struct pn532_emu_config *config,
							struct pn532_emu **ret_emu);

/* Stop the thread, close the pty (the host sees the reader vanish), remove the symlink if it
 * still points at this emulator's pty, and free. Accepts NULL. */
void pn532_emu_stop(struct pn532_emu *emu);

/* Path of the slave pty, e.g. "/dev/pts/3"; valid until pn532_emu_stop(). */
const char *pn532_emu_path(const struct pn532_emu *emu);

/* Put a blank NTAG213 with this UID (4, 7 or 10 bytes) in the field; a card already there
 * leaves first. Returns 0 or -EINVAL. */
int pn532_emu_present(struct pn532_emu *emu, const uint8_t *uid, size_t uid_len);

/* Put this card in the field; a card already there leaves first. Returns 0, -EINVAL (bad UID or
 * type, a URI that is not valid for an NDEF URI record) or -ENOSPC (the URI does not fit). */
int pn532_emu_present_card(struct pn532_emu *emu, const struct pn532_emu_card *card);

/*
 * SUN cards from now on: an NTAG 424 DNA presented afterwards with a URI without '?' (7-byte UID)
 * makes its NDEF message anew at each selection of its NDEF file, as a card set up for SUN
 * mirroring does: that URI, then "?picc_data=" (the UID and the read counter encrypted under
 * meta_key, random pad) and "&cmac=" (the SDMMAC under file_key over the empty input), the read
 * counter starting at read_ctr and counting up by one each time, shared by all such cards. The
 * scenario line is "sun-keys META_KEY FILE_KEY [READ_CTR]". 0, -EINVAL, or -EIO (libsodium).
 */
int pn532_emu_sun_keys(struct pn532_emu *emu, const uint8_t meta_key[16],
		       const uint8_t file_key[16], uint32_t read_ctr);

/* Overwrite card memory: NTAG21x pages from page on (any page, lock bits not modelled), or the
 * NTAG 424 DNA's NDEF file from byte page * 4 on. For malformed data in tests. 0, -ENODEV (no
 * card) or -EINVAL (past the end). */
int pn532_emu_poke(struct pn532_emu *emu, unsigned page, const uint8_t *bytes, size_t len);

/* Copy card memory as pn532_emu_poke() addresses it. 0, -ENODEV or -EINVAL. */
int pn532_emu_peek(struct pn532_emu *emu, unsigned page, uint8_t *ret_bytes, size_t len);

/* Arm a fault for the next matching commands (replacing one armed before); fault NONE disarms.
 * Returns 0 or -EINVAL. */
int pn532_emu_set_fault(struct pn532_emu *emu, const struct pn532_emu_fault_spec *spec);

/* How many armed faults have not hit yet. */
unsigned pn532_emu_fault_left(struct pn532_emu *emu);

/* Take the card away; 0 also when there was none. */
int pn532_emu_remove(struct pn532_emu *emu);

/* Put the last card taken away back on the reader, its memory as it was left (what the host
 * wrote to it included), as a new tap. -ENODEV when no card was ever presented. */
int pn532_emu_put_back(struct pn532_emu *emu);

/* Hang the chip (true): it keeps reading the line but answers nothing, not even ACKs, like a
 * PN532 that browned out while the adapter stays plugged in. false: it answers again. */
int pn532_emu_set_mute(struct pn532_emu *emu, bool mute);

/* How many frames carrying command code cmd (0x4a for InListPassiveTarget...) arrived. */
unsigned pn532_emu_count(struct pn532_emu *emu, uint8_t cmd);

/* Parse hex digits (spaces and colons allowed between byte pairs) into at most cap bytes.
 * Returns the byte count, or -EINVAL. For the command line and tests. */
int pn532_emu_parse_hex(const char *text, uint8_t *ret_bytes, size_t cap);

/*
 * Run one line of the scenario language (docs/nfc.md): "tap ntag215 04A1B2C3D4E5F6
 * https://k.example.pl/c/X", "tap 04A1B2C3D4E5F6", "remove", "fault rf-timeout 2 cmd 40",
 * "fault slow 600", "fault lost", "fault checksum", "fault crc", "fault none", "mute", "unmute",
 * "poke 4 0300FE00". Blank lines and "#" comments do nothing. Timing ("at", "wait") and process
 * commands ("crash", "quit") belong to the program that reads the scenario. Returns 0, or -EINVAL
 * with a reason in err (err may be NULL).
 */
int pn532_emu_command(struct pn532_emu *emu, const char *line, char *err, size_t err_size);
