// SPDX-License-Identifier: MIT
/*
 * Shortest round-trip double -> decimal (Grisu2, after Loitsch, "Printing
 * Floating-Point Numbers Quickly and Accurately with Integers", PLDI 2010).
 * Output always reads back to the same double with a correctly rounding
 * strtod; it is the shortest such string in all but rare cases. glibc's
 * printf needs multi-precision arithmetic (~3 us per value); this is
 * ~50 ns, which is what lets 10k series format in a few milliseconds.
 */
#include "prom_dtoa.h"

#include <stdint.h>
#include <string.h>

struct diyfp {
	uint64_t f;
	int e;
};

/* 10^k for k = -348, -340, ..., 340: 64-bit normalised significand, binary exponent. */
static const struct diyfp cached_powers[87] = {
	{ 0xfa8fd5a0081c0288ull, -1220 }, { 0xbaaee17fa23ebf76ull, -1193 },
	{ 0x8b16fb203055ac76ull, -1166 }, { 0xcf42894a5dce35eaull, -1140 },
	{ 0x9a6bb0aa55653b2dull, -1113 }, { 0xe61acf033d1a45dfull, -1087 },
	{ 0xab70fe17c79ac6caull, -1060 }, { 0xff77b1fcbebcdc4full, -1034 },
	{ 0xbe5691ef416bd60cull, -1007 }, { 0x8dd01fad907ffc3cull, -980 },
	{ 0xd3515c2831559a83ull, -954 }, { 0x9d71ac8fada6c9b5ull, -927 },
	{ 0xea9c227723ee8bcbull, -901 }, { 0xaecc49914078536dull, -874 },
	{ 0x823c12795db6ce57ull, -847 }, { 0xc21094364dfb5637ull, -821 },
	{ 0x9096ea6f3848984full, -794 }, { 0xd77485cb25823ac7ull, -768 },
	{ 0xa086cfcd97bf97f4ull, -741 }, { 0xef340a98172aace5ull, -715 },
	{ 0xb23867fb2a35b28eull, -688 }, { 0x84c8d4dfd2c63f3bull, -661 },
	{ 0xc5dd44271ad3cdbaull, -635 }, { 0x936b9fcebb25c996ull, -608 },
	{ 0xdbac6c247d62a584ull, -582 }, { 0xa3ab66580d5fdaf6ull, -555 },
	{ 0xf3e2f893dec3f126ull, -529 }, { 0xb5b5ada8aaff80b8ull, -502 },
	{ 0x87625f056c7c4a8bull, -475 }, { 0xc9bcff6034c13053ull, -449 },
	{ 0x964e858c91ba2655ull, -422 }, { 0xdff9772470297ebdull, -396 },
	{ 0xa6dfbd9fb8e5b88full, -369 }, { 0xf8a95fcf88747d94ull, -343 },
	{ 0xb94470938fa89bcfull, -316 }, { 0x8a08f0f8bf0f156bull, -289 },
	{ 0xcdb02555653131b6ull, -263 }, { 0x993fe2c6d07b7facull, -236 },
	{ 0xe45c10c42a2b3b06ull, -210 }, { 0xaa242499697392d3ull, -183 },
	{ 0xfd87b5f28300ca0eull, -157 }, { 0xbce5086492111aebull, -130 },
	{ 0x8cbccc096f5088ccull, -103 }, { 0xd1b71758e219652cull, -77 },
	{ 0x9c40000000000000ull, -50 }, { 0xe8d4a51000000000ull, -24 },
	{ 0xad78ebc5ac620000ull, 3 }, { 0x813f3978f8940984ull, 30 },
	{ 0xc097ce7bc90715b3ull, 56 }, { 0x8f7e32ce7bea5c70ull, 83 },
	{ 0xd5d238a4abe98068ull, 109 }, { 0x9f4f2726179a2245ull, 136 },
	{ 0xed63a231d4c4fb27ull, 162 }, { 0xb0de65388cc8ada8ull, 189 },
	{ 0x83c7088e1aab65dbull, 216 }, { 0xc45d1df942711d9aull, 242 },
	{ 0x924d692ca61be758ull, 269 }, { 0xda01ee641a708deaull, 295 },
	{ 0xa26da3999aef774aull, 322 }, { 0xf209787bb47d6b85ull, 348 },
	{ 0xb454e4a179dd1877ull, 375 }, { 0x865b86925b9bc5c2ull, 402 },
	{ 0xc83553c5c8965d3dull, 428 }, { 0x952ab45cfa97a0b3ull, 455 },
	{ 0xde469fbd99a05fe3ull, 481 }, { 0xa59bc234db398c25ull, 508 },
	{ 0xf6c69a72a3989f5cull, 534 }, { 0xb7dcbf5354e9beceull, 561 },
	{ 0x88fcf317f22241e2ull, 588 }, { 0xcc20ce9bd35c78a5ull, 614 },
	{ 0x98165af37b2153dfull, 641 }, { 0xe2a0b5dc971f303aull, 667 },
	{ 0xa8d9d1535ce3b396ull, 694 }, { 0xfb9b7cd9a4a7443cull, 720 },
	{ 0xbb764c4ca7a44410ull, 747 }, { 0x8bab8eefb6409c1aull, 774 },
	{ 0xd01fef10a657842cull, 800 }, { 0x9b10a4e5e9913129ull, 827 },
	{ 0xe7109bfba19c0c9dull, 853 }, { 0xac2820d9623bf429ull, 880 },
	{ 0x80444b5e7aa7cf85ull, 907 }, { 0xbf21e44003acdd2dull, 933 },
	{ 0x8e679c2f5e44ff8full, 960 }, { 0xd433179d9c8cb841ull, 986 },
	{ 0x9e19db92b4e31ba9ull, 1013 }, { 0xeb96bf6ebadf77d9ull, 1039 },
	{ 0xaf87023b9bf0ee6bull, 1066 },
};

static const uint32_t pow10_32[] = { 1,	     10,       100,	  1000,	     10000,
				     100000, 1000000, 10000000, 100000000, 1000000000 };

static struct diyfp diy_from_double(double d)
{
	uint64_t bits, frac;
	int biased;

	memcpy(&bits, &d, sizeof(bits));
	frac = bits & ((1ull << 52) - 1);
	biased = (int)((bits >> 52) & 0x7ff);
	if (biased)
		return (struct diyfp){ frac + (1ull << 52), biased - 1075 };
	return (struct diyfp){ frac, -1074 };
}

static struct diyfp diy_normalize(struct diyfp x)
{
	while (!(x.f & (1ull << 63))) {
		x.f <<= 1;
		x.e--;
	}
	return x;
}

/* Rounded high half of the 128-bit product. */
static struct diyfp diy_mul(struct diyfp a, struct diyfp b)
{
	__extension__ unsigned __int128 p = (unsigned __int128)a.f * b.f;
	uint64_t h = (uint64_t)(p >> 64), l = (uint64_t)p;

	if (l & (1ull << 63))
		h++;
	return (struct diyfp){ h, a.e + b.e + 64 };
}

/* The rounding interval's ends, both with plus's exponent. */
static void boundaries(struct diyfp v, struct diyfp *minus, struct diyfp *plus)
{
	struct diyfp pl = { (v.f << 1) + 1, v.e - 1 }, mi;

	pl = diy_normalize(pl);
	/* the interval below a power of two is half as wide */
	if (v.f == (1ull << 52))
		mi = (struct diyfp){ (v.f << 2) - 1, v.e - 2 };
	else
		mi = (struct diyfp){ (v.f << 1) - 1, v.e - 1 };
	mi.f <<= mi.e - pl.e;
	mi.e = pl.e;
	*minus = mi;
	*plus = pl;
}

static struct diyfp cached_power(int e, int *ret_k)
{
	double dk = (-61 - e) * 0.30102999566398114 + 347;
	int k = (int)dk;
	unsigned index;

	if (dk - k > 0.0)
		k++;
	index = (unsigned)((k >> 3) + 1);
	*ret_k = -(-348 + (int)(index << 3));
	return cached_powers[index];
}

static unsigned count_digits32(uint32_t n)
{
	unsigned d = 1;

	while (d < 10 && n >= pow10_32[d])
		d++;
	return d;
}

static void grisu_round(char *buf, int len, uint64_t delta, uint64_t rest,
			uint64_t ten_kappa, uint64_t wp_w)
{
	while (rest < wp_w && delta - rest >= ten_kappa &&
	       (rest + ten_kappa < wp_w || wp_w - rest > rest + ten_kappa - wp_w)) {
		buf[len - 1]--;
		rest += ten_kappa;
	}
}

static void digit_gen(struct diyfp w, struct diyfp mp, uint64_t delta, char *buf,
		      int *len, int *k)
{
	struct diyfp one = { 1ull << -mp.e, mp.e };
	uint64_t wp_w = mp.f - w.f, p2 = mp.f & (one.f - 1), tmp;
	uint32_t p1 = (uint32_t)(mp.f >> -one.e), d;
	int kappa = (int)count_digits32(p1);

	*len = 0;
	while (kappa > 0) {
		d = p1 / pow10_32[kappa - 1];
		p1 %= pow10_32[kappa - 1];
		if (d || *len)
			buf[(*len)++] = (char)('0' + d);
		kappa--;
		tmp = ((uint64_t)p1 << -one.e) + p2;
		if (tmp <= delta) {
			*k += kappa;
			grisu_round(buf, *len, delta, tmp, (uint64_t)pow10_32[kappa] << -one.e, wp_w);
			return;
		}
	}
	for (;;) {
		p2 *= 10;
		delta *= 10;
		d = (uint32_t)(p2 >> -one.e);
		if (d || *len)
			buf[(*len)++] = (char)('0' + d);
		p2 &= one.f - 1;
		kappa--;
		if (p2 < delta) {
			*k += kappa;
			grisu_round(buf, *len, delta, p2, one.f,
				    -kappa < 10 ? wp_w * pow10_32[-kappa] : 0);
			return;
		}
	}
}

static size_t put_exp(char *out, int e)
{
	size_t n = 0;

	out[n++] = 'e';
	out[n++] = e < 0 ? '-' : '+';
	if (e < 0)
		e = -e;
	if (e >= 100)
		out[n++] = (char)('0' + e / 100);
	out[n++] = (char)('0' + e / 10 % 10);
	out[n++] = (char)('0' + e % 10);
	return n;
}

size_t sonde_prom_dtoa(double v, char *out)
{
	struct diyfp w, wm, wp, c;
	char digits[24];
	size_t o = 0;
	int len, k, point;

	if (v < 0) {
		out[o++] = '-';
		v = -v;
	}
	w = diy_from_double(v);
	boundaries(w, &wm, &wp);
	c = cached_power(wp.e, &k);
	w = diy_mul(diy_normalize(w), c);
	wp = diy_mul(wp, c);
	wm = diy_mul(wm, c);
	wm.f++;
	wp.f--;
	digit_gen(w, wp, wp.f - wm.f, digits, &len, &k);

	/* value = digits * 10^k; point = where the decimal point falls */
	point = len + k;
	if (k >= 0 && point <= 17) {
		memcpy(out + o, digits, (size_t)len);
		o += (size_t)len;
		memset(out + o, '0', (size_t)k);
		o += (size_t)k;
	} else if (point > 0 && point <= 17) {
		memcpy(out + o, digits, (size_t)point);
		o += (size_t)point;
		out[o++] = '.';
		memcpy(out + o, digits + point, (size_t)(len - point));
		o += (size_t)(len - point);
	} else if (point > -5 && point <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		memset(out + o, '0', (size_t)-point);
		o += (size_t)-point;
		memcpy(out + o, digits, (size_t)len);
		o += (size_t)len;
	} else {
		out[o++] = digits[0];
		if (len > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, (size_t)(len - 1));
			o += (size_t)(len - 1);
		}
		o += put_exp(out + o, point - 1);
	}
	out[o] = '\0';
	return o;
}
