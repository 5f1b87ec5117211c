/*
 * Ed25519 verification against per-key precomputed tables. See include/ed25519_tables.h and
 * Specs/crypto.md. Field elements are five 51-bit limbs (radix 2^51, p = 2^255 − 19); points are
 * on −x² + y² = 1 + d·x²·y² in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, x·y = T/Z.
 */
#include "ed25519_tables.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    W = 7,                                /* bits per signed digit */
    DIGITS = (253 + W - 1) / W,           /* scalars are below L < 2^253 */
    POINTS = 1 << (W - 1),                /* |digit| ≤ 2^(W−1) */
};

typedef unsigned __int128 u128;
typedef struct { uint64_t v[5]; } fe;
/* Affine Niels form: (y + x, y − x, 2·d·x·y). */
typedef struct { fe ypx, ymx, xy2d; } niels;
typedef struct { fe X, Y, Z, T; } ge;
/* The completed form a sum or double is computed in before it is turned back into `ge`. */
typedef struct { fe X, Y, Z, T; } ge_p1p1;

struct suyuan_ed25519_table { niels points[DIGITS][POINTS]; };

static const uint64_t MASK = (UINT64_C(1) << 51) - 1;

/* ---------- field arithmetic ---------- */

static uint64_t load64(const unsigned char *s) {
    uint64_t r = 0;
    for (int i = 7; i >= 0; i--) r = (r << 8) | s[i];
    return r;
}

/* The low 255 bits of s; the top bit (x's sign in a point encoding) is dropped. */
static void fe_frombytes(fe *h, const unsigned char s[32]) {
    uint64_t w0 = load64(s), w1 = load64(s + 8), w2 = load64(s + 16), w3 = load64(s + 24);
    h->v[0] = w0 & MASK;
    h->v[1] = ((w0 >> 51) | (w1 << 13)) & MASK;
    h->v[2] = ((w1 >> 38) | (w2 << 26)) & MASK;
    h->v[3] = ((w2 >> 25) | (w3 << 39)) & MASK;
    h->v[4] = (w3 >> 12) & MASK;
}

/* One carry pass: every limb below 2^51 except limb 0, which stays below 2^51 + 19·2^13. */
static void fe_carry(fe *h) {
    uint64_t *v = h->v;
    v[1] += v[0] >> 51; v[0] &= MASK;
    v[2] += v[1] >> 51; v[1] &= MASK;
    v[3] += v[2] >> 51; v[2] &= MASK;
    v[4] += v[3] >> 51; v[3] &= MASK;
    v[0] += 19 * (v[4] >> 51); v[4] &= MASK;
}

/* The unique encoding of h mod p, little-endian. */
static void fe_tobytes(unsigned char s[32], const fe *f) {
    fe h = *f;
    fe_carry(&h);
    uint64_t *v = h.v;
    /* h < 2p now; q = 1 exactly when h ≥ p, i.e. h + 19 ≥ 2^255. */
    uint64_t q = (v[0] + 19) >> 51;
    q = (v[1] + q) >> 51;
    q = (v[2] + q) >> 51;
    q = (v[3] + q) >> 51;
    q = (v[4] + q) >> 51;
    v[0] += 19 * q;
    v[1] += v[0] >> 51; v[0] &= MASK;
    v[2] += v[1] >> 51; v[1] &= MASK;
    v[3] += v[2] >> 51; v[2] &= MASK;
    v[4] += v[3] >> 51; v[3] &= MASK;
    v[4] &= MASK;
    uint64_t w[4] = {
        v[0] | (v[1] << 51),
        (v[1] >> 13) | (v[2] << 38),
        (v[2] >> 26) | (v[3] << 25),
        (v[3] >> 39) | (v[4] << 12),
    };
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) s[8 * i + j] = (unsigned char)(w[i] >> (8 * j));
}

static void fe_add(fe *h, const fe *f, const fe *g) {
    for (int i = 0; i < 5; i++) h->v[i] = f->v[i] + g->v[i];
    fe_carry(h);
}

/* f − g + 4p; both inputs have limbs below 2^52, so no limb goes negative. */
static void fe_sub(fe *h, const fe *f, const fe *g) {
    h->v[0] = f->v[0] + UINT64_C(0x1FFFFFFFFFFFB4) - g->v[0];
    for (int i = 1; i < 5; i++) h->v[i] = f->v[i] + UINT64_C(0x1FFFFFFFFFFFFC) - g->v[i];
    fe_carry(h);
}

static void fe_neg(fe *h, const fe *f) {
    fe zero = {{0, 0, 0, 0, 0}};
    fe_sub(h, &zero, f);
}

/* The five 128-bit column sums of a product, carried into limbs below 2^52. */
static inline void fe_carry_wide(fe *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
    r1 += (uint64_t)(r0 >> 51);
    r2 += (uint64_t)(r1 >> 51);
    r3 += (uint64_t)(r2 >> 51);
    r4 += (uint64_t)(r3 >> 51);
    u128 c0 = (u128)((uint64_t)r0 & MASK) + (r4 >> 51) * 19;
    h->v[0] = (uint64_t)c0 & MASK;
    h->v[1] = ((uint64_t)r1 & MASK) + (uint64_t)(c0 >> 51);
    h->v[2] = (uint64_t)r2 & MASK;
    h->v[3] = (uint64_t)r3 & MASK;
    h->v[4] = (uint64_t)r4 & MASK;
}

/* Inputs' limbs below 2^54; the result's below 2^52. */
static void fe_mul(fe *h, const fe *f, const fe *g) {
    uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
    uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
    u128 r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
    u128 r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
    u128 r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
    u128 r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
    u128 r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
    fe_carry_wide(h, r0, r1, r2, r3, r4);
}

static void fe_sq(fe *h, const fe *f) {
    uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    uint64_t d0 = 2 * f0, d1 = 2 * f1, d2 = 2 * f2, d3 = 2 * f3;
    uint64_t f3_19 = 19 * f3, f4_19 = 19 * f4;
    u128 r0 = (u128)f0 * f0 + (u128)d1 * f4_19 + (u128)d2 * f3_19;
    u128 r1 = (u128)d0 * f1 + (u128)d2 * f4_19 + (u128)f3 * f3_19;
    u128 r2 = (u128)d0 * f2 + (u128)f1 * f1 + (u128)d3 * f4_19;
    u128 r3 = (u128)d0 * f3 + (u128)d1 * f2 + (u128)f4 * f4_19;
    u128 r4 = (u128)d0 * f4 + (u128)d1 * f3 + (u128)f2 * f2;
    fe_carry_wide(h, r0, r1, r2, r3, r4);
}

static void fe_sqn(fe *h, const fe *f, int n) {
    fe_sq(h, f);
    while (--n > 0) fe_sq(h, h);
}

/* z^(2^250 − 1) into t250, and z^11 into z11: the common start of both exponentiations. */
static void fe_pow250(fe *t250, fe *z11, const fe *z) {
    fe t0, t1, t2;
    fe_sq(&t0, z);              /* z^2 */
    fe_sqn(&t1, &t0, 2);        /* z^8 */
    fe_mul(&t1, z, &t1);        /* z^9 */
    fe_mul(z11, &t0, &t1);      /* z^11 */
    fe_sq(&t0, z11);            /* z^22 */
    fe_mul(&t0, &t1, &t0);      /* z^(2^5 − 1) */
    fe_sqn(&t1, &t0, 5);
    fe_mul(&t0, &t1, &t0);      /* z^(2^10 − 1) */
    fe_sqn(&t1, &t0, 10);
    fe_mul(&t1, &t1, &t0);      /* z^(2^20 − 1) */
    fe_sqn(&t2, &t1, 20);
    fe_mul(&t1, &t2, &t1);      /* z^(2^40 − 1) */
    fe_sqn(&t1, &t1, 10);
    fe_mul(&t0, &t1, &t0);      /* z^(2^50 − 1) */
    fe_sqn(&t1, &t0, 50);
    fe_mul(&t1, &t1, &t0);      /* z^(2^100 − 1) */
    fe_sqn(&t2, &t1, 100);
    fe_mul(&t1, &t2, &t1);      /* z^(2^200 − 1) */
    fe_sqn(&t1, &t1, 50);
    fe_mul(t250, &t1, &t0);     /* z^(2^250 − 1) */
}

/* z^(p − 2) = 1/z. */
static void fe_invert(fe *out, const fe *z) {
    fe t, z11;
    fe_pow250(&t, &z11, z);
    fe_sqn(&t, &t, 5);
    fe_mul(out, &t, &z11);      /* z^(2^255 − 21) */
}

/* z^((p − 5)/8) = z^(2^252 − 3). */
static void fe_pow22523(fe *out, const fe *z) {
    fe t, z11;
    fe_pow250(&t, &z11, z);
    fe_sqn(&t, &t, 2);
    fe_mul(out, &t, z);
}

static int fe_iszero(const fe *f) {
    unsigned char s[32];
    fe_tobytes(s, f);
    unsigned char c = 0;
    for (int i = 0; i < 32; i++) c |= s[i];
    return c == 0;
}

static int fe_isodd(const fe *f) {
    unsigned char s[32];
    fe_tobytes(s, f);
    return s[0] & 1;
}

static const unsigned char D_BYTES[32] = {
    0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00,
    0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52,
};
static const unsigned char SQRTM1_BYTES[32] = {
    0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f, 0xad, 0x06, 0x18, 0x43, 0x2f,
    0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00, 0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b,
};
/* The base point B: y = 4/5, x even. */
static const unsigned char B_BYTES[32] = {
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
};

/* ---------- points ---------- */

/* RFC 8032 §5.1.3 decoding; 0 when s is not a point. */
static int ge_frombytes(ge *h, const unsigned char s[32]) {
    fe d, sqrtm1, u, v, v3, vxx, check, one = {{1, 0, 0, 0, 0}};
    fe_frombytes(&d, D_BYTES);
    fe_frombytes(&sqrtm1, SQRTM1_BYTES);
    fe_frombytes(&h->Y, s);
    h->Z = one;
    fe_sq(&u, &h->Y);
    fe_mul(&v, &u, &d);
    fe_sub(&u, &u, &one);           /* u = y² − 1 */
    fe_add(&v, &v, &one);           /* v = d·y² + 1 */
    fe_sq(&v3, &v);
    fe_mul(&v3, &v3, &v);           /* v³ */
    fe_sq(&h->X, &v3);
    fe_mul(&h->X, &h->X, &v);
    fe_mul(&h->X, &h->X, &u);       /* u·v⁷ */
    fe_pow22523(&h->X, &h->X);
    fe_mul(&h->X, &h->X, &v3);
    fe_mul(&h->X, &h->X, &u);       /* x = u·v³·(u·v⁷)^((p−5)/8) */
    fe_sq(&vxx, &h->X);
    fe_mul(&vxx, &vxx, &v);
    fe_sub(&check, &vxx, &u);
    if (!fe_iszero(&check)) {
        fe_add(&check, &vxx, &u);
        if (!fe_iszero(&check)) return 0;
        fe_mul(&h->X, &h->X, &sqrtm1);
    }
    int sign = s[31] >> 7;
    if (fe_iszero(&h->X) && sign) return 0;
    if (fe_isodd(&h->X) != sign) fe_neg(&h->X, &h->X);
    fe_mul(&h->T, &h->X, &h->Y);
    return 1;
}

static void p1p1_to_ge(ge *r, const ge_p1p1 *p) {
    fe_mul(&r->X, &p->X, &p->T);
    fe_mul(&r->Y, &p->Y, &p->Z);
    fe_mul(&r->Z, &p->Z, &p->T);
    fe_mul(&r->T, &p->X, &p->Y);
}

/* p + q for extended points (add-2008-hwcd-3, a = −1, k = 2d). */
static void ge_add(ge *r, const ge *p, const ge *q, const fe *d2) {
    fe a, b, c, dd, t;
    ge_p1p1 s;
    fe_sub(&a, &p->Y, &p->X);
    fe_sub(&t, &q->Y, &q->X);
    fe_mul(&a, &a, &t);
    fe_add(&b, &p->Y, &p->X);
    fe_add(&t, &q->Y, &q->X);
    fe_mul(&b, &b, &t);
    fe_mul(&c, &p->T, &q->T);
    fe_mul(&c, &c, d2);
    fe_mul(&dd, &p->Z, &q->Z);
    fe_add(&dd, &dd, &dd);
    fe_sub(&s.X, &b, &a);
    fe_add(&s.Y, &b, &a);
    fe_add(&s.Z, &dd, &c);
    fe_sub(&s.T, &dd, &c);
    p1p1_to_ge(r, &s);
}

/* 2p (dbl-2008-hwcd, a = −1). */
static void ge_double(ge *r, const ge *p) {
    fe xx, yy, zz2, t;
    ge_p1p1 s;
    fe_sq(&xx, &p->X);
    fe_sq(&yy, &p->Y);
    fe_sq(&zz2, &p->Z);
    fe_add(&zz2, &zz2, &zz2);
    fe_add(&t, &p->X, &p->Y);
    fe_sq(&t, &t);
    fe_add(&s.Y, &yy, &xx);
    fe_sub(&s.Z, &yy, &xx);
    fe_sub(&s.X, &t, &s.Y);
    fe_sub(&s.T, &zz2, &s.Z);
    p1p1_to_ge(r, &s);
}

/* r = p + q when sign is 0, p − q when it is 1; q in Niels form. */
static void ge_madd(ge *r, const ge *p, const niels *q, int negate) {
    fe a, b, c, dd;
    ge_p1p1 s;
    fe_add(&a, &p->Y, &p->X);
    fe_sub(&b, &p->Y, &p->X);
    fe_mul(&a, &a, negate ? &q->ymx : &q->ypx);
    fe_mul(&b, &b, negate ? &q->ypx : &q->ymx);
    fe_mul(&c, &p->T, &q->xy2d);
    fe_add(&dd, &p->Z, &p->Z);
    fe_sub(&s.X, &a, &b);
    fe_add(&s.Y, &a, &b);
    if (negate) {
        fe_sub(&s.Z, &dd, &c);
        fe_add(&s.T, &dd, &c);
    } else {
        fe_add(&s.Z, &dd, &c);
        fe_sub(&s.T, &dd, &c);
    }
    p1p1_to_ge(r, &s);
}

/* ---------- tables ---------- */

static int table_fill(struct suyuan_ed25519_table *table, const ge *point) {
    enum { N = DIGITS * POINTS };
    ge *all = malloc(sizeof(ge) * N);
    fe *prefix = malloc(sizeof(fe) * N);
    if (!all || !prefix) {
        free(all);
        free(prefix);
        return 0;
    }
    fe d, d2;
    fe_frombytes(&d, D_BYTES);
    fe_add(&d2, &d, &d);
    ge base = *point;
    for (int i = 0; i < DIGITS; i++) {
        ge *row = all + i * POINTS;
        row[0] = base;                                   /* 2^(W·i)·P */
        for (int j = 1; j < POINTS; j++) ge_add(&row[j], &row[j - 1], &base, &d2);
        ge_double(&base, &row[POINTS - 1]);              /* 2^(W−1) · 2 = 2^W */
    }
    /* One inversion for all N points (Montgomery's trick). */
    prefix[0] = all[0].Z;
    for (int k = 1; k < N; k++) fe_mul(&prefix[k], &prefix[k - 1], &all[k].Z);
    fe inv;
    fe_invert(&inv, &prefix[N - 1]);
    for (int k = N - 1; k >= 0; k--) {
        fe zinv, x, y;
        if (k > 0) {
            fe_mul(&zinv, &inv, &prefix[k - 1]);
            fe_mul(&inv, &inv, &all[k].Z);
        } else {
            zinv = inv;
        }
        fe_mul(&x, &all[k].X, &zinv);
        fe_mul(&y, &all[k].Y, &zinv);
        niels *n = &table->points[k / POINTS][k % POINTS];
        fe_add(&n->ypx, &y, &x);
        fe_sub(&n->ymx, &y, &x);
        fe_mul(&n->xy2d, &x, &y);
        fe_mul(&n->xy2d, &n->xy2d, &d2);
    }
    free(all);
    free(prefix);
    return 1;
}

/* As libsodium's ge25519_is_canonical: the 255-bit y is below p. */
static int y_is_canonical(const unsigned char s[32]) {
    if ((s[31] & 0x7f) != 0x7f) return 1;
    for (int i = 30; i > 0; i--)
        if (s[i] != 0xff) return 1;
    return s[0] < 0xed;
}

suyuan_ed25519_table *suyuan_ed25519_table_new(const unsigned char pk[32]) {
    ge a;
    if (!y_is_canonical(pk) || suyuan_ed25519_has_small_order(pk) || !ge_frombytes(&a, pk)) return NULL;
    struct suyuan_ed25519_table *table = malloc(sizeof *table);
    if (!table) return NULL;
    if (!table_fill(table, &a)) {
        free(table);
        return NULL;
    }
    return table;
}

void suyuan_ed25519_table_free(suyuan_ed25519_table *table) { free(table); }

static struct suyuan_ed25519_table *base_table;
static pthread_once_t base_once = PTHREAD_ONCE_INIT;

static void base_init(void) { base_table = suyuan_ed25519_table_new(B_BYTES); }

/* Signed digits e[i] ∈ [−2^(W−1), 2^(W−1)] with a = Σ e[i]·2^(W·i), for a < 2^253. */
static void recode(short e[DIGITS], const unsigned char a[32]) {
    int carry = 0;
    for (int i = 0; i < DIGITS; i++) {
        int bit = i * W, value = 0;
        for (int k = 0; k < W && bit + k < 256; k++)
            value |= ((a[(bit + k) >> 3] >> ((bit + k) & 7)) & 1) << k;
        value += carry;
        carry = value > POINTS;            /* digits run up to +2^(W−1) */
        e[i] = (short)(value - (carry << W));
    }
}

int suyuan_ed25519_table_check(const suyuan_ed25519_table *table, const unsigned char r[32],
                               const unsigned char s[32], const unsigned char h[32]) {
    pthread_once(&base_once, base_init);
    if (!base_table) return 0;
    short es[DIGITS], eh[DIGITS];
    recode(es, s);
    recode(eh, h);
    ge acc = {{{0}}, {{1}}, {{1}}, {{0}}};
    for (int i = 0; i < DIGITS; i++) {
        if (es[i]) ge_madd(&acc, &acc, &base_table->points[i][abs(es[i]) - 1], es[i] < 0);
        /* −[h]A: the digit's sign is flipped. */
        if (eh[i]) ge_madd(&acc, &acc, &table->points[i][abs(eh[i]) - 1], eh[i] > 0);
    }
    fe zinv, x, y;
    fe_invert(&zinv, &acc.Z);
    fe_mul(&x, &acc.X, &zinv);
    fe_mul(&y, &acc.Y, &zinv);
    unsigned char out[32];
    fe_tobytes(out, &y);
    out[31] |= (unsigned char)(fe_isodd(&x) << 7);
    return memcmp(out, r, 32) == 0;
}

static const unsigned char L_BYTES[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
};

int suyuan_ed25519_scalar_is_canonical(const unsigned char s[32]) {
    for (int i = 31; i >= 0; i--)
        if (s[i] != L_BYTES[i]) return s[i] < L_BYTES[i];
    return 0;
}

int suyuan_ed25519_has_small_order(const unsigned char r[32]) {
    static const unsigned char small[7][32] = {
        {0},                                                   /* y = 0, order 4 */
        {1},                                                   /* y = 1, the identity */
        {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
         0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
        {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
         0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
        {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},  /* p − 1 */
        {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},  /* p */
        {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},  /* p + 1 */
    };
    for (int i = 0; i < 7; i++) {
        if (memcmp(r, small[i], 31) == 0 && (r[31] & 0x7f) == small[i][31]) return 1;
    }
    return 0;
}
