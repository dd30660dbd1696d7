// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <string.h>

#include "disasm.h"
#include "gocode.h"

int sonde_go_stack_check_jbe(const uint8_t *code, size_t len, size_t *ret_off)
{
	static const uint8_t cmp_rsp[] = { 0x49, 0x3b, 0x66, 0x10 };
	static const uint8_t cmp_r12[] = { 0x4d, 0x3b, 0x66, 0x10 };
	size_t i = 0;

	if (len >= 5 && code[0] == 0x4c && code[1] == 0x8d && code[2] == 0x64 &&
	    code[3] == 0x24)
		i = 5; /* lea r12, [rsp+disp8] */
	else if (len >= 8 && code[0] == 0x4c && code[1] == 0x8d && code[2] == 0xa4 &&
		 code[3] == 0x24)
		i = 8; /* lea r12, [rsp+disp32] */
	if (len < i + sizeof(cmp_rsp) ||
	    memcmp(code + i, i ? cmp_r12 : cmp_rsp, sizeof(cmp_rsp)) != 0)
		return -1;
	i += sizeof(cmp_rsp);
	if ((len >= i + 2 && code[i] == 0x76) ||
	    (len >= i + 6 && code[i] == 0x0f && code[i + 1] == 0x86)) {
		*ret_off = i;
		return 0;
	}
	return -1;
}

/* Bytes of `op [rsp+disp], reg` (op, modrm's reg bits) with disp8 or disp32: 0 if no match. */
static size_t rsp_operand(const uint8_t *p, size_t left, uint8_t op, uint8_t reg,
			  uint32_t disp)
{
	if (left >= 5 && p[0] == 0x48 && p[1] == op && p[2] == (0x44 | reg << 3) &&
	    p[3] == 0x24 && disp < 0x80 && p[4] == disp)
		return 5;
	if (left >= 8 && p[0] == 0x48 && p[1] == op && p[2] == (0x84 | reg << 3) &&
	    p[3] == 0x24) {
		uint32_t d;

		memcpy(&d, p + 4, sizeof(d));
		return d == disp ? 8 : 0;
	}
	return 0;
}

/* `sub rsp, imm8|imm32` at code[i]: its length, the immediate in *ret_f (0: none). */
static size_t sub_rsp(const uint8_t *code, size_t len, size_t i, uint32_t *ret_f)
{
	if (len >= i + 4 && code[i] == 0x48 && code[i + 1] == 0x83 && code[i + 2] == 0xec) {
		*ret_f = code[i + 3];
		return 4;
	}
	if (len >= i + 7 && code[i] == 0x48 && code[i + 1] == 0x81 && code[i + 2] == 0xec) {
		memcpy(ret_f, code + i + 3, sizeof(*ret_f));
		return 7;
	}
	return 0;
}

/*
 * The frame setup after a JBE at code[i]: its end in *ret_end, in *ret_frame
 * F such that rbp = rsp + F - 8 once it is done (the receiver's spill slot,
 * [rbp+16], is then [rsp+F+8]). Go 1.19 (Debian 12's):
 * `sub rsp, F; mov [rsp+F-8], rbp; lea rbp, [rsp+F-8]`. Later Go (1.21-1.23 seen):
 * `push rbp; mov rbp, rsp; sub rsp, S`, where rbp = rsp + S: F = S + 8.
 */
static bool frame_setup(const uint8_t *code, size_t len, size_t i, size_t *ret_end,
			uint32_t *ret_frame)
{
	uint32_t f;
	size_t n;

	i += code[i] == 0x76 ? 2 : 6;
	if (len >= i + 4 && code[i] == 0x55 && code[i + 1] == 0x48 && code[i + 2] == 0x89 &&
	    code[i + 3] == 0xe5) {
		/* push rbp; mov rbp, rsp */
		n = sub_rsp(code, len, i + 4, &f);
		if (!n || f > 0x7ffffff0)
			return false;
		*ret_end = i + 4 + n;
		*ret_frame = f + 8;
		return true;
	}
	n = sub_rsp(code, len, i, &f);
	if (!n)
		return false;
	i += n;
	if (f < 8 || f > 0x7fffffff)
		return false;
	/* mov [rsp+F-8], rbp (0x89, reg 5); lea rbp, [rsp+F-8] (0x8d, reg 5) */
	n = rsp_operand(code + i, len - i, 0x89, 5, f - 8);
	if (!n)
		return false;
	i += n;
	n = rsp_operand(code + i, len - i, 0x8d, 5, f - 8);
	if (!n)
		return false;
	*ret_end = i + n;
	*ret_frame = f;
	return true;
}

/* A call, jump or return: where straight-line code ends. */
static bool control_flow(const uint8_t *p, size_t n)
{
	return p[0] == 0xe8 || p[0] == 0xe9 || p[0] == 0xeb || p[0] == 0xc3 ||
	       (p[0] >= 0x70 && p[0] <= 0x7f) ||
	       (n >= 2 && p[0] == 0x0f && p[1] >= 0x80 && p[1] <= 0x8f) ||
	       (n >= 2 && p[0] == 0xff && ((p[1] >> 3) & 7) >= 2 && ((p[1] >> 3) & 7) <= 5) ||
	       (n >= 3 && (p[0] & 0xf0) == 0x40 && p[1] == 0xff &&
		((p[2] >> 3) & 7) >= 2 && ((p[2] >> 3) & 7) <= 5);
}

int sonde_go_receiver_spilled(const uint8_t *code, size_t len, size_t jbe_off)
{
	struct sonde_disasm_insn insn;
	struct sonde_disasm *d;
	const uint8_t *p;
	size_t left, start;
	uint64_t at;
	uint32_t frame;
	int r = -1;

	if (jbe_off >= len || !frame_setup(code, len, jbe_off, &start, &frame))
		return -1;
	d = sonde_disasm_open();
	if (!d)
		return SONDE_GO_NO_DECODER;
	p = code + start;
	left = len - start;
	at = start;
	while (left && sonde_disasm_next(d, &p, &left, &at, &insn)) {
		/* mov [rsp+F+8], rax (0x89, reg 0) */
		if (rsp_operand(insn.bytes, insn.size, 0x89, 0, frame + 8) == insn.size) {
			r = 0;
			break;
		}
		if (control_flow(insn.bytes, insn.size))
			break;
	}
	sonde_disasm_close(d);
	return r;
}

int sonde_go_calls_to(const uint8_t *code, size_t len, uint64_t addr, uint64_t target,
		      size_t *ret_off)
{
	struct sonde_disasm_insn insn;
	struct sonde_disasm *d = sonde_disasm_open();
	const uint8_t *p = code;
	size_t left = len;
	uint64_t at = addr;
	int n = 0;

	if (!d)
		return SONDE_GO_NO_DECODER;
	while (left) {
		int32_t rel;

		if (!sonde_disasm_next(d, &p, &left, &at, &insn)) {
			n = -1;
			break;
		}
		if (insn.size != 5 || insn.bytes[0] != 0xe8)
			continue;
		memcpy(&rel, insn.bytes + 1, sizeof(rel));
		if (insn.address + 5 + (int64_t)rel != target)
			continue;
		if (!n++)
			*ret_off = (size_t)(insn.address - addr);
	}
	sonde_disasm_close(d);
	return n;
}
