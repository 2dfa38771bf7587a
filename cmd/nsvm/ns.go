package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"nsvm/guestkernel"
	"nsvm/ns"
)

// cmdNS runs a program and prints the namespace picture taken when the
// program starts to exit (its children may still be running then).
func cmdNS(argv []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := addRunFlags(fs)
	format := fs.String("format", "text", "text (lsns-style), dot (Graphviz) or svg")
	out := fs.String("out", "", "write the picture to this file instead of stdout")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if *format != "text" && *format != "dot" && *format != "svg" {
		fmt.Fprintf(stderr, "nsvm ns: --format must be text, dot or svg\n")
		return 2
	}
	var pic *ns.Picture
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "nsvm ns: which program? (nsvm ns [flags] PROG [ARGS...])\n")
		return 2
	}
	status := o.run(fs.Args(), stderr, func(o *runOpts) {
		o.cfg.OnMainExit = func(k *guestkernel.Kernel) { pic = k.NamespacePicture() }
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
	switch *format {
	case "text":
		pic.WriteText(w)
	case "dot":
		pic.WriteDOT(w)
	case "svg":
		pic.WriteSVG(w)
	}
	return status
}
