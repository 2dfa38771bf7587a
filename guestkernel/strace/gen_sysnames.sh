#!/bin/sh
# Regenerates sysnames.go from the installed Linux UAPI header.
set -e
h=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
{
	echo "// Code generated from <asm/unistd_64.h> (Linux UAPI, x86-64) by gen_sysnames.sh; DO NOT EDIT."
	echo
	echo "package strace"
	echo
	echo "// sysNames maps x86-64 syscall numbers to their Linux names."
	echo "var sysNames = [...]string{"
	grep -E "^#define __NR_[a-z0-9_]+ [0-9]+" "$h" | awk '{sub("__NR_","",$2); printf "\t%s: \"%s\",\n", $3, $2}'
	echo "}"
} >sysnames.go
gofmt -w sysnames.go
