// SPDX-License-Identifier: MIT
#ifndef SONDE_EBPF_VERIFIERLOG_H
#define SONDE_EBPF_VERIFIERLOG_H
/*
 * What the kernel's verifier said when it refused a program, in one line
 * for the journal: its verdict (the last line of its log that is not a
 * statistic), the instruction it stopped at and that instruction's source
 * line when the log has them. A refused program's log runs to megabytes
 * (every path walked); its end is what a user can report and act on.
 */
#include <stddef.h>

/*
 * Writes "VERDICT (at INSN; source: LINE)" to out (always terminated, cut
 * at outlen). Returns the verdict's length, 0 when the log has none.
 */
size_t sonde_ebpf_verifier_verdict(const char *log, char *out, size_t outlen);

#endif
