package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// The help texts share one format: a synopsis line built from the command's
// FlagSet ("herald send [--due] [--json] [--mailing ID]..."), then entries
// of a name line and an indented explanation, for the commands in `herald
// help` as for the flags in `herald COMMAND -h`.

// usage is `herald help`: every command with its arguments and flags.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: herald <command> [arguments] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fs, _ := flagSet(c)
		entry(w, strings.TrimPrefix(synopsis(c, fs), "herald "), c.summary)
	}
	entry(w, "help [COMMAND]", "this text, or what `herald COMMAND -h` prints")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "`herald COMMAND -h` explains a command and its flags. Flags may come before or after")
	fmt.Fprintln(w, "the arguments. Configuration comes from the environment and ./.env (the environment")
	fmt.Fprintln(w, "wins); .env.sample describes it, `herald config` shows it.")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "exit status: %d ok, %d failure, %d usage error, %d not found, %d refused.\n",
		exitOK, exitFailure, exitUsage, exitNotFound, exitRefused)
}

// commandUsage is `herald COMMAND -h`: the synopsis, what the command
// does, and its flags.
func commandUsage(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n", synopsis(c, fs))
	fmt.Fprintf(w, "\n%s\n", c.summary)
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", c.about)
	}
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintln(w, "\nflags:")
			first = false
		}
		name, text := flag.UnquoteUsage(f)
		if !isZeroDefault(f) {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		entry(w, strings.TrimSpace("--"+f.Name+" "+name), text)
	})
}

// shortUsage follows a command-line mistake: the synopsis and where to
// read more.
func shortUsage(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n", synopsis(c, fs))
	fmt.Fprintf(w, "`herald %s -h` explains it and its flags.\n", c.name)
}

// synopsis is "herald NAME ARGS [--flag VALUE]...": each flag with its
// value's name (the `quoted` word of its usage text), "..." after a
// repeatable one.
func synopsis(c command, fs *flag.FlagSet) string {
	parts := []string{"herald", c.name}
	if c.args != "" {
		parts = append(parts, c.args)
	}
	fs.VisitAll(func(f *flag.Flag) {
		name, _ := flag.UnquoteUsage(f)
		p := "[" + strings.TrimSpace("--"+f.Name+" "+name) + "]"
		if _, ok := f.Value.(repeatable); ok {
			p += "..."
		}
		parts = append(parts, p)
	})
	return strings.Join(parts, " ")
}

// repeatable is a flag value that collects every occurrence.
type repeatable interface{ repeatable() }

// entry writes one name line and its explanation indented below it.
func entry(w io.Writer, name, text string) {
	fmt.Fprintf(w, "  %s\n", name)
	for line := range strings.SplitSeq(text, "\n") {
		fmt.Fprintf(w, "        %s\n", line)
	}
}

// isZeroDefault reports a default not worth printing: false, 0, empty.
func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "false", "0", "[]":
		return true
	}
	return false
}
