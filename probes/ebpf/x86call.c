// SPDX-License-Identifier: MIT
#include "x86call.h"

/* Bytes of a ModRM operand (the ModRM byte, SIB, displacement); 0 if short. */
static size_t modrm_len(const uint8_t *p, size_t left)
{
	uint8_t mod, rm;
	size_t n = 1;

	if (left < 1)
		return 0;
	mod = p[0] >> 6;
	rm = p[0] & 7;
	if (mod != 3 && rm == 4) {
		if (left < 2)
			return 0;
		n++;
		if (mod == 0 && (p[1] & 7) == 5)
			n += 4; /* SIB with no base: disp32 */
	}
	if (mod == 0 && rm == 5)
		n += 4; /* RIP-relative */
	else if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n <= left ? n : 0;
}

/* Length of the instruction at p, not a call; 0 when not one we walk over. */
static size_t insn_len(const uint8_t *p, size_t left)
{
	size_t pre = 0, m, imm;
	bool rex_w = false, opsize = false;
	uint8_t op;

	if (left >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		return 4; /* endbr64 */
	while (pre < left && (p[pre] == 0x64 || p[pre] == 0x65 || p[pre] == 0x66)) {
		opsize |= p[pre] == 0x66; /* 16-bit immediates, unless REX.W */
		pre++; /* fs, gs, operand size */
	}
	if (pre < left && (p[pre] & 0xf0) == 0x40) {
		rex_w = p[pre] & 0x08;
		pre++;
	}
	if (pre >= left)
		return 0;
	op = p[pre];
	p += pre + 1;
	left -= pre + 1;
	imm = rex_w ? 4 : opsize ? 2 : 4; /* group 1's immediate */
	if (op >= 0x50 && op <= 0x57)
		return pre + 1; /* push */
	if (op >= 0x70 && op <= 0x7f)
		return left >= 1 ? pre + 2 : 0; /* jcc rel8 */
	if (op >= 0xb8 && op <= 0xbf) {
		size_t mov = rex_w ? 8 : opsize ? 2 : 4; /* mov imm */
		return left >= mov ? pre + 1 + mov : 0;
	}
	switch (op) {
	case 0x01: case 0x03: case 0x29: case 0x2b: /* add, sub */
	case 0x31: case 0x33: /* xor */
	case 0x85: /* test */
	case 0x89: case 0x8b: /* mov */
	case 0x8d: /* lea */
	case 0x63: /* movsxd */
		m = modrm_len(p, left);
		return m ? pre + 1 + m : 0;
	case 0x83: /* group 1, imm8 */
		m = modrm_len(p, left);
		return m && left >= m + 1 ? pre + 1 + m + 1 : 0;
	case 0x81: /* group 1, imm32 (imm16 with 0x66) */
		m = modrm_len(p, left);
		return m && left >= m + imm ? pre + 1 + m + imm : 0;
	case 0x0f: /* jcc rel32 */
		return left >= 5 && (p[0] & 0xf0) == 0x80 ? pre + 6 : 0;
	default:
		return 0;
	}
}

bool sonde_x86_first_call(const uint8_t *code, size_t len, size_t *ret_off,
			  int64_t *ret_target)
{
	size_t off = 0;

	while (off < len) {
		size_t n;

		if (code[off] == 0xe8) {
			int32_t rel;

			if (len - off < 5)
				return false;
			rel = (int32_t)((uint32_t)code[off + 1] | (uint32_t)code[off + 2] << 8 |
					(uint32_t)code[off + 3] << 16 | (uint32_t)code[off + 4] << 24);
			*ret_off = off;
			*ret_target = (int64_t)off + 5 + rel;
			return true;
		}
		n = insn_len(code + off, len - off);
		if (!n)
			return false;
		off += n;
	}
	return false;
}
