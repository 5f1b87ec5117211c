#ifndef SUYUAN_ED25519_TABLES_H
#define SUYUAN_ED25519_TABLES_H

/*
 * Ed25519 verification with a precomputed table per public key (Specs/crypto.md, "Repeated signers").
 *
 * For a key A that signs many statements, the table holds the multiples j·2^(7i)·A in affine
 * Niels form, so checking a signature needs no doublings: R' = [s]B − [h]A is a sum of one table
 * point per nonzero signed digit of s and of h. Everything here handles public data only and is
 * variable-time. The caller (SuyuanCrypto) keeps libsodium's acceptance rules: it builds tables only
 * for keys libsodium has already accepted, checks that S is canonical and R is not of small order,
 * computes h = SHA-512(R ‖ A ‖ M) mod L with libsodium, and asks libsodium again whenever this
 * check says no.
 */

typedef struct suyuan_ed25519_table suyuan_ed25519_table;

/* A table for the point encoded by `pk`, or NULL if `pk` is not one libsodium accepts as a public
   key (a non-canonical encoding, a point of small order, or no curve point) or memory is short.
   Release it with suyuan_ed25519_table_free. */
suyuan_ed25519_table *suyuan_ed25519_table_new(const unsigned char pk[32]);

void suyuan_ed25519_table_free(suyuan_ed25519_table *table);

/* 1 when the canonical encoding of [s]B − [h]A equals `r`, else 0. Requires s < L and h < L
   (little-endian scalars), which the caller has checked. */
int suyuan_ed25519_table_check(const suyuan_ed25519_table *table, const unsigned char r[32],
                               const unsigned char s[32], const unsigned char h[32]);

/* 1 when `s` (little-endian) is below the group order L, as libsodium requires of S. */
int suyuan_ed25519_scalar_is_canonical(const unsigned char s[32]);

/* 1 when `r` is one of the encodings of a point of small order that libsodium refuses as R or A:
   y ∈ {0, 1, p−1, p, p+1} or an order-8 y, whatever the sign bit. */
int suyuan_ed25519_has_small_order(const unsigned char r[32]);

#endif
