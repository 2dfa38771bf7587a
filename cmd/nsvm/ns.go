package main

import (
	"fmt"
	"io"
	"os"

	"github.com/nsvm/nsvm/guestkernel"
	"github.com/nsvm/nsvm/ns"
)

const nsHelp = `usage: nsvm ns [flags] PROG [ARGS...]

Run PROG as nsvm run does and print its namespace picture (tasks ->
nsproxy -> namespaces, as lsns does), taken when PROG starts to exit.
The picture goes to stdout, and the guest's stdout then goes to nsvm's
stderr, so that stdout holds the picture alone (nsvm ns --format svg PROG
> f.svg is an SVG file). With --out FILE, the picture goes to FILE and
the guest keeps stdout. The run flags are those of nsvm run.
` + exitHelp

// cmdNS runs a program and prints the namespace picture taken when the
// program starts to exit (its children may still be running then).
func cmdNS(argv []string, stdout, stderr io.Writer) int {
	fs := newFlags("nsvm ns", nsHelp)
	o := addRunFlags(fs)
	format := choiceFlag{value: "text", choices: []string{"text", "dot", "svg"}}
	fs.Var(&format, "format", "picture `FORMAT`: text (lsns-style), dot (Graphviz) or svg")
	out := fs.String("out", "", "write the picture to this file instead of stdout")
	if st, ok := fs.parse(argv, stdout, stderr); !ok {
		return st
	}
	if fs.NArg() == 0 {
		return usageError(stderr, fs.cmd, "which program? (nsvm ns [flags] PROG [ARGS...])")
	}
	var pic *ns.Picture
	status := o.run(fs, fs.Args(), stderr, func(o *runOpts) {
		o.cfg.OnMainExit = func(k *guestkernel.Kernel) { pic = k.NamespacePicture() }
		if *out == "" {
			// stdout is the picture's: the guest writes to stderr.
			o.cfg.Stdout = 2
		}
	})
	if pic == nil {
		return status
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "nsvm ns: %v\n", err)
			return exitInternal
		}
		defer f.Close()
		w = f
	}
	switch format.value {
	case "text":
		pic.WriteText(w)
	case "dot":
		pic.WriteDOT(w)
	case "svg":
		pic.WriteSVG(w)
	}
	return status
}
