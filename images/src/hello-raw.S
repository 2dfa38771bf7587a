/*
 * hello-raw.S: the smallest nsvm guest. No libc: it writes one line with
 * the raw write(2) system call and leaves with exit_group(0).
 *
 * Build: gcc -static -nostdlib -Wl,--build-id=none -o bin/hello-raw src/hello-raw.S
 */
	/* Name the file explicitly: otherwise the assembler records the name
	 * of gcc's temporary preprocessed file, which breaks reproducibility. */
	.file	"hello-raw.S"

	.section .rodata
msg:
	.ascii "hello from nsvm (raw syscalls)\n"
	.set msglen, . - msg

	.text
	.globl _start
	.type _start, @function
_start:
	mov	$1, %eax		/* write */
	mov	$1, %edi		/* fd 1 (stdout) */
	lea	msg(%rip), %rsi		/* buf */
	mov	$msglen, %edx		/* count */
	syscall

	mov	$231, %eax		/* exit_group */
	xor	%edi, %edi		/* status 0 */
	syscall
	hlt				/* not reached */
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
