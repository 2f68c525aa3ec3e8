/*
 * ledger_fixture: a large ledger file for benchmarks (members, events, a valid hash chain),
 * generated once into a cache folder and reused while its key still matches.
 *
 * The rows are written straight with SQLite (synchronous=OFF, no journal, one transaction): this
 * is fixture data, not the code under test. The schema is the one ledger_open() creates, every
 * event's hash comes from ledger_hash_event() under the current encoding, and the member state
 * is what booking those sales stores (ledger_commit_sale, schema 6): balance, visits, first and
 * last visit and spend folded from the events, one points lot per earn (past RULES_LOTS_MAX the
 * points join the newest lot), one sales row per sale. So ledger_verify() finds the file intact.
 * A schema that stores more or other member state needs a change here (LEDGER_FIXTURE_SCHEMA).
 *
 * Shape: sales at 20 s intervals of 1.00 to 500.00 zl, 1 point per 1 zl; a sale of a new card
 * books "enrol" + "earn" under one receipt number, a sale of a known card (drawn uniformly among
 * the members so far) books "earn". Member k (1..members) has member_id k and the pseudonym
 * ledger_fixture_pseudonym(k).
 *
 * Not for: tests of the ledger's behaviour (tests/unit); the generator is deterministic but
 * nothing promises that the data stays the same between generator versions.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

/* Bump when the generated data changes: cached files of another version are regenerated. */
#define LEDGER_FIXTURE_VERSION	   3
#define LEDGER_FIXTURE_SCHEMA	   9 /* the schema whose member state the generator writes */
#define LEDGER_FIXTURE_TERMINAL_ID "BENCH1"
#define LEDGER_FIXTURE_PATH_MAX	   512

struct ledger_fixture {
	int64_t members; /* >= 1 */
	int64_t events;	 /* >= 2 * members: every member's first sale books two events */
};

/*
 * The fixture file for spec in cache_dir (created if missing) into ret_path: reused when a file
 * with the same key (sizes, schema version, generator version) holds the expected counts,
 * generated otherwise (through a temporary file renamed at the end, so an interrupted run leaves
 * no file that looks complete; older versions of the same sizes are removed). *ret_gen_us is the
 * time generation took, 0 when the file was reused. Progress goes to stderr. Returns 0 or a
 * negative errno; the reason is printed on stderr.
 */
__attribute__((warn_unused_result)) int ledger_fixture_get(const char *cache_dir,
							   const struct ledger_fixture *spec,
							   char ret_path[LEDGER_FIXTURE_PATH_MAX],
							   int64_t *ret_gen_us);

/* The pseudonym of member member_id (1..members) of any fixture. */
void ledger_fixture_pseudonym(int64_t member_id, uint8_t ret_pseudonym[PSEUDONYM_LEN]);

/* splitmix64: the fixture's and the benchmark's deterministic random numbers. */
uint64_t ledger_fixture_rand(uint64_t *state);
