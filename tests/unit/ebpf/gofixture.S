/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for a Go program, for test_gosyms: the symbols, sections and
 * instruction shapes gosyms.c looks for (Go 1.19's, see test_gocode.c),
 * with nothing else. Built once per GOFIX_* variant by CMakeLists.txt.
 *   GOFIX_OLDABI     Read starts without the register ABI's stack check
 *   GOFIX_TWOCOPIES  Read calls runtime.memmove twice
 *   GOFIX_NOSPILL    Read stores its receiver only after a call
 *   GOFIX_NOITAB     no net.Conn itab of *net.TCPConn or *net.UnixConn
 *   GOFIX_NOTLS      no crypto/tls (a Go program without TLS)
 *   GOFIX_NOTGO      no .go.buildinfo (not a Go program)
 * Linked with -s: no symbol table.
 */
	.text
	.globl _start
_start:
	ret

#ifndef GOFIX_NOTLS
	.p2align 4
	.globl "crypto/tls.(*Conn).Write"
	.type "crypto/tls.(*Conn).Write", @function
"crypto/tls.(*Conn).Write":
	/* lea r12, [rsp-0x68]; cmp r12, [r14+0x10]; jbe rel32 */
	.byte 0x4c, 0x8d, 0x64, 0x24, 0x98
	.byte 0x4d, 0x3b, 0x66, 0x10
	.byte 0x0f, 0x86, 0x10, 0x00, 0x00, 0x00
	/* Write's own copies are not looked for */
	.byte 0xe8
	.long "runtime.memmove" - . - 4
	ret
	.size "crypto/tls.(*Conn).Write", . - "crypto/tls.(*Conn).Write"

	.p2align 4
	.globl "crypto/tls.(*Conn).Read"
	.type "crypto/tls.(*Conn).Read", @function
"crypto/tls.(*Conn).Read":
#ifdef GOFIX_OLDABI
	/* Go 1.16: mov rcx, fs:[-8]; cmp rsp, [rcx+0x10]; jbe rel8 */
	.byte 0x64, 0x48, 0x8b, 0x0c, 0x25, 0xf8, 0xff, 0xff, 0xff
	.byte 0x48, 0x3b, 0x61, 0x10
	.byte 0x76, 0x20
#else
	/* cmp rsp, [r14+0x10]; jbe rel8 */
	.byte 0x49, 0x3b, 0x66, 0x10
	.byte 0x76, 0x40
#endif
	/* sub rsp, 0x68; mov [rsp+0x60], rbp; lea rbp, [rsp+0x60] */
	.byte 0x48, 0x83, 0xec, 0x68
	.byte 0x48, 0x89, 0x6c, 0x24, 0x60
	.byte 0x48, 0x8d, 0x6c, 0x24, 0x60
#ifndef GOFIX_NOSPILL
	/* mov [rsp+0x70], rax: the receiver to its spill slot, [rbp+16] */
	.byte 0x48, 0x89, 0x44, 0x24, 0x70
#endif
	/* a decoy: movabs rax, imm64 whose bytes spell a call to memmove */
	.byte 0x48, 0xb8, 0xe8
	.long "runtime.memmove" - . - 4
	.byte 0x00, 0x00, 0x00
	.byte 0xe8
	.long "runtime.memmove" - . - 4
#ifdef GOFIX_TWOCOPIES
	.byte 0xe8
	.long "runtime.memmove" - . - 4
#endif
#ifdef GOFIX_NOSPILL
	.byte 0x48, 0x89, 0x44, 0x24, 0x70
#endif
	.byte 0x48, 0x83, 0xc4, 0x68 /* add rsp, 0x68 */
	ret
	.size "crypto/tls.(*Conn).Read", . - "crypto/tls.(*Conn).Read"
#endif

	.p2align 4
	.globl "runtime.memmove"
	.type "runtime.memmove", @function
"runtime.memmove":
	ret
	.size "runtime.memmove", . - "runtime.memmove"

#ifndef GOFIX_NOITAB
	/* itab { inter, _type, hash uint32, pad, fun[1] } */
	.section .rodata
	.p2align 3
	.globl "go:itab.*net.TCPConn,net.Conn"
	.type "go:itab.*net.TCPConn,net.Conn", @object
"go:itab.*net.TCPConn,net.Conn":
	.quad 0, 0
	.long 0xbc020cb9, 0
	.quad 0
	.size "go:itab.*net.TCPConn,net.Conn", 32
	/* Go 1.19 and older: "go.itab." */
	.globl "go.itab.*net.UnixConn,net.Conn"
	.type "go.itab.*net.UnixConn,net.Conn", @object
"go.itab.*net.UnixConn,net.Conn":
	.quad 0, 0
	.long 0x35fd9d63, 0
	.quad 0
	.size "go.itab.*net.UnixConn,net.Conn", 32
#endif

#ifndef GOFIX_NOTGO
	.section .go.buildinfo, "aw"
	.ascii "\xff Go buildinf:"
#endif
	.section .note.GNU-stack, "", @progbits
