/*
 * ndef: NDEF TLV scan, record parser and URI record encoder (NFC Forum T2T 1.0, NDEF 1.0,
 * RTD-URI 1.0). See ndef.h for the contract; this file is bytes only.
 */
#include "ndef.h"

#include <errno.h>
#include <string.h>

enum {
	TLV_NULL = 0x00,
	TLV_LOCK_CONTROL = 0x01,
	TLV_MEMORY_CONTROL = 0x02,
	TLV_NDEF = 0x03,
	TLV_PROPRIETARY = 0xfd,
	TLV_TERMINATOR = 0xfe,
};

enum {
	REC_MB = 0x80,
	REC_ME = 0x40,
	REC_CF = 0x20,
	REC_SR = 0x10,
	REC_IL = 0x08,
	REC_TNF = 0x07,
};

enum {
	TNF_EMPTY = 0x00,
	TNF_WELL_KNOWN = 0x01,
	TNF_MEDIA = 0x02,
	TNF_ABSOLUTE_URI = 0x03,
	TNF_EXTERNAL = 0x04,
	TNF_UNKNOWN = 0x05,
	TNF_UNCHANGED = 0x06,
};

/* RTD-URI 1.0, table 3: the URI identifier codes. */
static const char *const prefixes[] = {
    "",
    "http://www.",
    "https://www.",
    "http://",
    "https://",
    "tel:",
    "mailto:",
    "ftp://anonymous:anonymous@",
    "ftp://ftp.",
    "ftps://",
    "sftp://",
    "smb://",
    "nfs://",
    "ftp://",
    "dav://",
    "news:",
    "telnet://",
    "imap:",
    "rtsp://",
    "urn:",
    "pop:",
    "sip:",
    "sips:",
    "tftp:",
    "btspp://",
    "btl2cap://",
    "btgoep://",
    "tcpobex://",
    "irdaobex://",
    "file://",
    "urn:epc:id:",
    "urn:epc:tag:",
    "urn:epc:pat:",
    "urn:epc:raw:",
    "urn:epc:",
    "urn:nfc:",
};

#define PREFIX_COUNT (sizeof(prefixes) / sizeof(prefixes[0]))

const char *ndef_status_text(enum ndef_status status)
{
	switch (status) {
	case NDEF_OK:
		return "URI record read";
	case NDEF_EMPTY:
		return "no NDEF message (blank card)";
	case NDEF_NO_URI:
		return "NDEF message without a URI record";
	case NDEF_TRUNCATED:
		return "NDEF data cut short";
	case NDEF_BAD_TLV:
		return "malformed TLV area";
	case NDEF_BAD_RECORD:
		return "malformed NDEF record";
	case NDEF_BAD_URI:
		return "malformed URI record";
	case NDEF_TOO_BIG:
		return "NDEF data over 1 KiB";
	case NDEF_STATUS_MAX:
		break;
	}
	return "unknown NDEF status";
}

int ndef_t2_find(const uint8_t *area, size_t len, size_t *ret_off, size_t *ret_len,
		 enum ndef_status *ret_status)
{
	size_t i = 0;

	if ((!area && len) || !ret_off || !ret_len || !ret_status)
		return -EINVAL;
	*ret_off = *ret_len = 0;
	while (i < len) {
		const uint8_t t = area[i];
		size_t l, hdr;

		if (t == TLV_NULL) {
			i++;
			continue;
		}
		if (t == TLV_TERMINATOR) {
			*ret_status = NDEF_EMPTY;
			return 0;
		}
		if (t != TLV_LOCK_CONTROL && t != TLV_MEMORY_CONTROL && t != TLV_NDEF &&
		    t != TLV_PROPRIETARY) {
			*ret_status = NDEF_BAD_TLV;
			return 0;
		}
		if (i + 1 >= len) {
			*ret_status = NDEF_TRUNCATED;
			return 0;
		}
		if (area[i + 1] == 0xff) {
			if (i + 3 >= len) {
				*ret_status = NDEF_TRUNCATED;
				return 0;
			}
			l = (size_t) area[i + 2] << 8 | area[i + 3];
			hdr = 4;
			/* The 3-byte form is for 0xff and up only: one encoding per length. */
			if (l < 0xff || l == 0xffff) {
				*ret_status = NDEF_BAD_TLV;
				return 0;
			}
		} else {
			l = area[i + 1];
			hdr = 2;
		}
		if ((t == TLV_LOCK_CONTROL || t == TLV_MEMORY_CONTROL) && l != 3) {
			*ret_status = NDEF_BAD_TLV;
			return 0;
		}
		if (t == TLV_NDEF) {
			if (l == 0) {
				*ret_status = NDEF_EMPTY;
				return 0;
			}
			if (l > NDEF_MESSAGE_MAX) {
				*ret_status = NDEF_TOO_BIG;
				return 0;
			}
			*ret_off = i + hdr;
			*ret_len = l;
			*ret_status = i + hdr + l <= len ? NDEF_OK : NDEF_TRUNCATED;
			return 0;
		}
		i += hdr + l;
	}
	/* Only NULL TLVs (an erased area reads as zeros) or an area that ends inside a TLV. */
	*ret_status = i == len ? NDEF_EMPTY : NDEF_TRUNCATED;
	if (i > len)
		*ret_off = i; /* the TLV before the NDEF one goes on past what was read */
	return 0;
}

/* Length of one well-formed UTF-8 sequence at s (at most n bytes), 0 when not well formed. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	const uint8_t c = s[0];
	size_t k;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		k = 2;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 3;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* Printable ASCII without space, or well-formed UTF-8 beyond ASCII. */
static bool uri_bytes_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (s[i] < 0x80) {
			if (s[i] < 0x21 || s[i] > 0x7e)
				return false;
			i++;
			continue;
		}
		size_t k = utf8_seq(s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

bool ndef_uri_valid(const char *uri, size_t len)
{
	return uri && len > 0 && len <= NDEF_URI_MAX && uri_bytes_valid((const uint8_t *) uri, len);
}

/* The URI record's payload (identifier code, then the rest of the URI). */
static enum ndef_status uri_payload(const uint8_t *p, size_t n, struct ndef_uri *ret_uri)
{
	if (n < 1 || p[0] >= PREFIX_COUNT)
		return NDEF_BAD_URI;
	const char *prefix = prefixes[p[0]];
	const size_t plen = strlen(prefix);
	if (plen + n - 1 == 0)
		return NDEF_BAD_URI;
	if (plen + n - 1 > NDEF_URI_MAX)
		return NDEF_TOO_BIG;
	if (!uri_bytes_valid(p + 1, n - 1))
		return NDEF_BAD_URI;
	memcpy(ret_uri->text, prefix, plen);
	memcpy(ret_uri->text + plen, p + 1, n - 1);
	ret_uri->len = plen + n - 1;
	ret_uri->text[ret_uri->len] = '\0';
	return NDEF_OK;
}

int ndef_message_uri(const uint8_t *msg, size_t len, struct ndef_uri *ret_uri,
		     enum ndef_status *ret_status)
{
	const uint8_t *uri_payload_at = NULL;
	size_t uri_payload_len = 0, i = 0, records = 0;
	bool empty_record = false;

	if ((!msg && len) || !ret_uri || !ret_status)
		return -EINVAL;
	if (len == 0) {
		*ret_status = NDEF_EMPTY;
		return 0;
	}
	if (len > NDEF_MESSAGE_MAX) {
		*ret_status = NDEF_TOO_BIG;
		return 0;
	}
	for (;;) {
		size_t type_len, id_len, payload_len;
		const uint8_t h = msg[i++];
		const uint8_t tnf = h & REC_TNF;

		/* MB on the first record only; chunks refused (a card URL never needs them). */
		if (!!(h & REC_MB) != (records == 0) || (h & REC_CF) || tnf == TNF_UNCHANGED ||
		    tnf > TNF_UNCHANGED) {
			*ret_status = NDEF_BAD_RECORD;
			return 0;
		}
		const size_t need = 1 + ((h & REC_SR) ? 1 : 4) + ((h & REC_IL) ? 1 : 0);
		if (len - i < need) {
			*ret_status = NDEF_TRUNCATED;
			return 0;
		}
		type_len = msg[i++];
		if (h & REC_SR) {
			payload_len = msg[i++];
		} else {
			payload_len = (size_t) msg[i] << 24 | (size_t) msg[i + 1] << 16 |
				      (size_t) msg[i + 2] << 8 | msg[i + 3];
			i += 4;
		}
		id_len = (h & REC_IL) ? msg[i++] : 0;
		if (type_len > len - i || id_len > len - i - type_len ||
		    payload_len > len - i - type_len - id_len) {
			*ret_status =
			    payload_len > NDEF_MESSAGE_MAX ? NDEF_TOO_BIG : NDEF_TRUNCATED;
			return 0;
		}
		const uint8_t *type = msg + i;
		const uint8_t *payload = type + type_len + id_len;
		switch (tnf) {
		case TNF_EMPTY:
			if (type_len || id_len || payload_len) {
				*ret_status = NDEF_BAD_RECORD;
				return 0;
			}
			empty_record = true;
			break;
		case TNF_WELL_KNOWN:
		case TNF_MEDIA:
		case TNF_ABSOLUTE_URI:
		case TNF_EXTERNAL:
			if (type_len == 0) {
				*ret_status = NDEF_BAD_RECORD;
				return 0;
			}
			break;
		case TNF_UNKNOWN:
			if (type_len != 0) {
				*ret_status = NDEF_BAD_RECORD;
				return 0;
			}
			break;
		default:
			*ret_status = NDEF_BAD_RECORD;
			return 0;
		}
		if (tnf == TNF_WELL_KNOWN && type_len == 1 && type[0] == 'U' && !uri_payload_at) {
			uri_payload_at = payload;
			uri_payload_len = payload_len;
		}
		i += type_len + id_len + payload_len;
		records++;
		if (h & REC_ME)
			break;
		if (i == len) {
			*ret_status = NDEF_TRUNCATED; /* no ME */
			return 0;
		}
	}
	if (i != len) {
		*ret_status = NDEF_BAD_RECORD; /* bytes after the record with ME */
		return 0;
	}
	if (!uri_payload_at) {
		*ret_status = records == 1 && empty_record ? NDEF_EMPTY : NDEF_NO_URI;
		return 0;
	}
	struct ndef_uri tmp;
	*ret_status = uri_payload(uri_payload_at, uri_payload_len, &tmp);
	if (*ret_status == NDEF_OK)
		*ret_uri = tmp;
	return 0;
}

int ndef_t2_uri(const uint8_t *area, size_t len, struct ndef_uri *ret_uri,
		enum ndef_status *ret_status)
{
	size_t off, n;
	int r;

	if (!ret_uri || !ret_status)
		return -EINVAL;
	r = ndef_t2_find(area, len, &off, &n, ret_status);
	if (r < 0 || *ret_status != NDEF_OK)
		return r;
	return ndef_message_uri(area + off, n, ret_uri, ret_status);
}

int ndef_message_encode_uri(const char *uri, size_t len, uint8_t *buf, size_t cap)
{
	size_t best = 0, best_len = 0, payload_len, total;

	if (!ndef_uri_valid(uri, len) || (!buf && cap))
		return -EINVAL;
	for (size_t c = 1; c < PREFIX_COUNT; c++) {
		const size_t pl = strlen(prefixes[c]);
		/* The whole URI as a prefix would leave an empty rest: still a valid record. */
		if (pl > best_len && pl <= len && memcmp(uri, prefixes[c], pl) == 0) {
			best = c;
			best_len = pl;
		}
	}
	payload_len = 1 + len - best_len;
	total = (payload_len <= 0xff ? 3 : 6) + 1 + payload_len;
	if (total > NDEF_MESSAGE_MAX)
		return -EMSGSIZE;
	if (total > cap)
		return -ENOSPC;
	size_t i = 0;
	buf[i++] =
	    (uint8_t) (REC_MB | REC_ME | TNF_WELL_KNOWN | (payload_len <= 0xff ? REC_SR : 0));
	buf[i++] = 1;
	if (payload_len <= 0xff) {
		buf[i++] = (uint8_t) payload_len;
	} else {
		buf[i++] = 0;
		buf[i++] = 0;
		buf[i++] = (uint8_t) (payload_len >> 8);
		buf[i++] = (uint8_t) payload_len;
	}
	buf[i++] = 'U';
	buf[i++] = (uint8_t) best;
	memcpy(buf + i, uri + best_len, len - best_len);
	i += len - best_len;
	return (int) i;
}

int ndef_t2_encode_uri(const char *uri, size_t len, uint8_t *buf, size_t cap)
{
	uint8_t msg[NDEF_MESSAGE_MAX];
	int n = ndef_message_encode_uri(uri, len, msg, sizeof(msg));
	size_t hdr, total;

	if (n < 0)
		return n;
	if (!buf && cap)
		return -EINVAL;
	hdr = n < 0xff ? 2 : 4;
	total = hdr + (size_t) n + 1;
	if (total > cap)
		return -ENOSPC;
	buf[0] = TLV_NDEF;
	if (hdr == 2) {
		buf[1] = (uint8_t) n;
	} else {
		buf[1] = 0xff;
		buf[2] = (uint8_t) (n >> 8);
		buf[3] = (uint8_t) n;
	}
	memcpy(buf + hdr, msg, (size_t) n);
	buf[hdr + (size_t) n] = TLV_TERMINATOR;
	return (int) total;
}
