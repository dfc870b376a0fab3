/*
 * lmdb-writemap: random puts, deletes and gets on an LMDB environment
 * opened with MDB_WRITEMAP (LMDB writes through its MAP_SHARED mapping),
 * checked against a model; some transactions are aborted.  Built and run
 * by tests/tool-run-lmdb.sh, under `upager run` and without.
 *
 *   lmdb-writemap run DB MODEL SEED TXNS   work, then save the model
 *   lmdb-writemap verify DB MODEL          the database equals the model
 *
 * Prints "N passed, N failed"; exit status 1 on any difference.
 */
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS 20000
#define OPS 300

static uint32_t gen[KEYS];	/* 0: absent, else the value's generation */
static int pass_nr, fail_nr;

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

/* The value of key k at generation g: 100 to 1099 bytes. */
static size_t value(uint32_t k, uint32_t g, char *buf)
{
	uint64_t x = ((uint64_t)k << 32 | g) * 0x9e3779b97f4a7c15ull | 1;
	size_t len = 100 + x % 1000;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (char)x;
	}
	return len;
}

#define CHECK(c, ...)                                                   \
	do {                                                            \
		if (c) {                                                \
			pass_nr++;                                      \
		} else {                                                \
			fail_nr++;                                      \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
		}                                                       \
	} while (0)

static MDB_env *env_open(const char *path)
{
	MDB_env *env;
	int r = mdb_env_create(&env);

	if (!r)
		r = mdb_env_set_mapsize(env, 256ul << 20);
	if (!r)
		r = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_WRITEMAP, 0600);
	if (r) {
		fprintf(stderr, "%s: %s\n", path, mdb_strerror(r));
		exit(1);
	}
	return env;
}

/* Key k's value in the database against the model's generation g. */
static void check_key(MDB_txn *txn, MDB_dbi dbi, uint32_t k, uint32_t g)
{
	char want[1100];
	MDB_val key = { sizeof(k), &k }, val;
	int r = mdb_get(txn, dbi, &key, &val);
	size_t len;

	if (!g) {
		CHECK(r == MDB_NOTFOUND, "key %u: present, deleted in the model",
		      k);
		return;
	}
	len = value(k, g, want);
	CHECK(r == 0 && val.mv_size == len && !memcmp(val.mv_data, want, len),
	      "key %u: %s, not generation %u", k,
	      r ? mdb_strerror(r) : "a wrong value", g);
}

static void verify(MDB_env *env)
{
	MDB_txn *txn;
	MDB_dbi dbi;

	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) ||
	    mdb_dbi_open(txn, NULL, 0, &dbi)) {
		CHECK(0, "cannot read the database");
		return;
	}
	for (uint32_t k = 0; k < KEYS; k++)
		check_key(txn, dbi, k, gen[k]);
	mdb_txn_abort(txn);
}

static void work(MDB_env *env, int txns)
{
	static uint32_t next[KEYS];
	char buf[1100];
	MDB_txn *txn;
	MDB_dbi dbi;

	for (int t = 0; t < txns; t++) {
		bool abort_it = rnd() % 8 == 0;

		memcpy(next, gen, sizeof(gen));
		if (mdb_txn_begin(env, NULL, 0, &txn) ||
		    mdb_dbi_open(txn, NULL, 0, &dbi)) {
			CHECK(0, "cannot begin a transaction");
			return;
		}
		for (int i = 0; i < OPS; i++) {
			uint32_t k = (uint32_t)(rnd() % KEYS);
			MDB_val key = { sizeof(k), &k }, val;
			unsigned what = rnd() % 10;

			if (what < 5) {
				next[k] = t * OPS + i + 1;
				val.mv_size = value(k, next[k], buf);
				val.mv_data = buf;
				CHECK(!mdb_put(txn, dbi, &key, &val, 0),
				      "put %u", k);
			} else if (what < 7) {
				int r = mdb_del(txn, dbi, &key, NULL);

				CHECK(r == (next[k] ? 0 : MDB_NOTFOUND),
				      "del %u: %s", k, mdb_strerror(r));
				next[k] = 0;
			} else {
				check_key(txn, dbi, k, next[k]);
			}
		}
		if (abort_it) {
			mdb_txn_abort(txn);
		} else {
			CHECK(!mdb_txn_commit(txn), "commit");
			memcpy(gen, next, sizeof(gen));
		}
	}
}

int main(int argc, char **argv)
{
	MDB_env *env;
	FILE *f;

	if (argc < 4) {
		fprintf(stderr, "usage: %s run DB MODEL SEED TXNS | "
				"verify DB MODEL\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "run") && argc == 6) {
		rng = strtoull(argv[4], NULL, 0) | 1;
		printf("seed %s\n", argv[4]);
		env = env_open(argv[2]);
		work(env, atoi(argv[5]));
		verify(env);
		mdb_env_close(env);
		f = fopen(argv[3], "w");
		if (!f || fwrite(gen, sizeof(gen), 1, f) != 1 || fclose(f))
			CHECK(0, "%s: cannot save the model", argv[3]);
	} else {
		f = fopen(argv[3], "r");
		if (!f || fread(gen, sizeof(gen), 1, f) != 1) {
			fprintf(stderr, "%s: cannot read the model\n", argv[3]);
			return 1;
		}
		fclose(f);
		env = env_open(argv[2]);
		verify(env);
		mdb_env_close(env);
	}
	printf("%d passed, %d failed\n", pass_nr, fail_nr);
	return fail_nr ? 1 : 0;
}
