// SPDX-License-Identifier: MIT
#include <string.h>
#ifdef SONDE_HAVE_CAPSTONE
#include <capstone.h>
#endif

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

#ifndef SONDE_HAVE_CAPSTONE
int sonde_go_calls_to(const uint8_t *code, size_t len, uint64_t addr, uint64_t target,
		      size_t *ret_off)
{
	(void)code, (void)len, (void)addr, (void)target, (void)ret_off;
	return -1; /* built without capstone: no instruction boundaries to trust */
}
#else
int sonde_go_calls_to(const uint8_t *code, size_t len, uint64_t addr, uint64_t target,
		      size_t *ret_off)
{
	const uint8_t *p = code;
	size_t left = len;
	uint64_t at = addr;
	cs_insn *insn;
	csh cs;
	int n = 0;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -1;
	insn = cs_malloc(cs);
	if (!insn) {
		cs_close(&cs);
		return -1;
	}
	while (left) {
		int32_t rel;

		if (!cs_disasm_iter(cs, &p, &left, &at, insn)) {
			n = -1;
			break;
		}
		if (insn->size != 5 || insn->bytes[0] != 0xe8)
			continue;
		memcpy(&rel, insn->bytes + 1, sizeof(rel));
		if (insn->address + 5 + (int64_t)rel != target)
			continue;
		if (!n++)
			*ret_off = (size_t)(insn->address - addr);
	}
	cs_free(insn, 1);
	cs_close(&cs);
	return n;
}
#endif
