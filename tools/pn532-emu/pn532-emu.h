/*
 * pn532-emu: a PN532 that speaks the UART (HSU) frame protocol on a pseudo-terminal, so the
 * real libnfc "pn532_uart" driver, and the hal "libnfc" driver above it, run in CI without a
 * reader.
 *
 * It answers just the commands libnfc 1.8 sends to open a PN532 and to poll ISO14443A cards
 * (wake-up, Diagnose, GetFirmwareVersion, SAMConfiguration, SetParameters, RFConfiguration,
 * Read/WriteRegister, InListPassiveTarget, InDataExchange, InCommunicateThru, InDeselect,
 * InRelease, GetGeneralStatus, PowerDown); anything else gets a syntax error frame. The card is
 * an NTAG213 (ATQA 00 44, SAK 00) with the UID the caller gives; it answers READ, FAST_READ,
 * GET_VERSION and WRITE. Not a full chip model: no target mode, no ISO14443B or FeliCa, no
 * timing beyond what libnfc's timeouts rely on.
 *
 * Each emulator runs one thread of its own; the functions below may be called from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PN532_EMU_UID_MAX 10

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

/* Put an NTAG213 with this UID (4, 7 or 10 bytes) in the field; a card already there leaves
 * first. Returns 0 or -EINVAL. */
int pn532_emu_present(struct pn532_emu *emu, const uint8_t *uid, size_t uid_len);

/* Take the card away; 0 also when there was none. */
int pn532_emu_remove(struct pn532_emu *emu);

/* Hang the chip (true): it keeps reading the line but answers nothing, not even ACKs, like a
 * PN532 that browned out while the adapter stays plugged in. false: it answers again. */
int pn532_emu_set_mute(struct pn532_emu *emu, bool mute);

/* How many frames carrying command code cmd (0x4a for InListPassiveTarget...) arrived. */
unsigned pn532_emu_count(struct pn532_emu *emu, uint8_t cmd);

/* Parse hex digits (spaces and colons allowed between byte pairs) into at most cap bytes.
 * Returns the byte count, or -EINVAL. For the command line and tests. */
int pn532_emu_parse_hex(const char *text, uint8_t *ret_bytes, size_t cap);
