package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Each command parses its own flags (init has its own parser, parseInit): a flag is accepted
// only by the command it means something to, and a flag given to the wrong command is refused
// by name. The global flags, which say where the config is, are accepted by every command
// and, like every flag, before or after the command words.

// globalOptions are the flags every command accepts.
type globalOptions struct {
	configPath string
	envFile    string
}

// fetchOptions are a fetch's command line (no command word): a cron run, or a backfill.
type fetchOptions struct {
	start, end  string
	summary     string // "", "text" or "json"
	quiet       bool
	metricsFile string
}

// subscriptionsOptions are the command line of subscriptions list|start|stop.
type subscriptionsOptions struct {
	action string   // list, start or stop; "" when missing
	types  []string // the content types named after the action
	yes    bool     // confirms stop, which is destructive
}

// commandLine is one parsed command line.
type commandLine struct {
	command string // fetch, subscriptions, check, version or help
	global  globalOptions
	fetch   fetchOptions
	subs    subscriptionsOptions
	args    []string // the words after the command word
}

// commands are the commands parseArgs knows, in the order --help lists them.
var commands = []string{"fetch", "subscriptions", "check", "version", "help"}

// flagSet returns the flag set of one command, bound to cl's fields; nil for an unknown one.
func (cl *commandLine) flagSet(command string) *flag.FlagSet {
	fs := flag.NewFlagSet("o365logfetch "+command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cl.global.configPath, "config", "", "")
	fs.StringVar(&cl.global.envFile, "env-file", "", "")
	switch command {
	case "fetch":
		o := &cl.fetch
		// -s/--start_time and -e/--end_time are the previous tool's names: cron lines and
		// scripts written for it keep working.
		for _, name := range []string{"start", "s", "start_time"} {
			fs.StringVar(&o.start, name, "", "")
		}
		for _, name := range []string{"end", "e", "end_time"} {
			fs.StringVar(&o.end, name, "", "")
		}
		fs.StringVar(&o.summary, "summary", "", "")
		fs.BoolVar(&o.quiet, "quiet", false, "")
		fs.StringVar(&o.metricsFile, "metrics-file", "", "")
	case "subscriptions":
		fs.BoolVar(&cl.subs.yes, "yes", false, "")
	case "check", "version", "help":
	default:
		return nil
	}
	return fs
}

// flagOwners says which command a command-specific flag belongs to, for the error that names
// it when given to another command.
var flagOwners = map[string]string{
	"start": "a fetch", "s": "a fetch", "start_time": "a fetch",
	"end": "a fetch", "e": "a fetch", "end_time": "a fetch",
	"summary": "a fetch", "quiet": "a fetch", "metrics-file": "a fetch",
	"yes": "subscriptions stop",
}

// parseArgs reads the command line of every command but init. It runs nothing: the result says
// which command to run and with what.
func parseArgs(args []string, helpOut io.Writer) (commandLine, error) {
	var cl commandLine
	words, given := scanArgs(args)
	cl.command = "fetch"
	if len(words) > 0 {
		cl.command = words[0]
	}
	fs := cl.flagSet(cl.command)
	if fs == nil {
		switch cl.command {
		case "init":
			return cl, &usageError{"init comes first and takes its own flags: o365logfetch init [flags]"}
		case "audit":
			return cl, &usageError{"audit takes its own flags after the word audit: o365logfetch [--config FILE] audit [flags] [TYPE...]"}
		}
		if helpAsked(given) {
			fmt.Fprint(helpOut, usage)
			return cl, flag.ErrHelp
		}
		return cl, &usageError{fmt.Sprintf("unknown command %q", strings.Join(words, " "))}
	}
	for _, name := range given {
		if owner := flagOwners[name]; owner != "" && fs.Lookup(name) == nil {
			return cl, &usageError{fmt.Sprintf("-%s applies to %s, not to %s", dashes(name), owner, commandName(words))}
		}
	}
	// Flags may come before or after the command words: parse, take a word, parse the rest.
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(helpOut, usage)
				return cl, err
			}
			return cl, &usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		cl.args = append(cl.args, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(cl.args) > 1 {
		cl.args = cl.args[1:] // after the command word
	} else {
		cl.args = nil
	}
	return cl, cl.check()
}

// check refuses what the flags allow but the command does not.
func (cl *commandLine) check() error {
	switch cl.command {
	case "fetch":
		if s := cl.fetch.summary; s != "" && s != "text" && s != "json" {
			return &usageError{fmt.Sprintf("--summary %q: want text or json", s)}
		}
		// A fetch takes every configured type: a word after it would be silently ignored.
		if len(cl.args) > 0 {
			return &usageError{fmt.Sprintf("a fetch takes no arguments (it fetches every type of [ContentTypes]), got %q", strings.Join(cl.args, " "))}
		}
	case "subscriptions":
		if len(cl.args) > 0 {
			cl.subs.action = cl.args[0]
		}
		if len(cl.args) > 1 {
			cl.subs.types = cl.args[1:]
		}
		if cl.subs.yes && cl.subs.action != "stop" {
			return &usageError{"--yes applies to subscriptions stop, not to " + strings.TrimSpace("subscriptions "+cl.subs.action)}
		}
	case "check", "version":
		if len(cl.args) > 0 {
			return &usageError{fmt.Sprintf("%s takes no arguments, got %q", cl.command, strings.Join(cl.args, " "))}
		}
	}
	return nil
}

// scanArgs walks args as the flag package reads them, with every command's flags known: the
// words that are not flags or flag values, and the names of the flags given.
func scanArgs(args []string) (words, given []string) {
	var all commandLine
	takesValue := map[string]bool{}
	for _, c := range commands {
		all.flagSet(c).VisitAll(func(f *flag.Flag) {
			b, ok := f.Value.(interface{ IsBoolFlag() bool })
			takesValue[f.Name] = !ok || !b.IsBoolFlag()
		})
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(words, args[i+1:]...), given
		}
		if len(a) < 2 || a[0] != '-' {
			words = append(words, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		given = append(given, name)
		if !hasValue && takesValue[name] {
			i++
		}
	}
	return words, given
}

func helpAsked(given []string) bool {
	for _, n := range given {
		if n == "h" || n == "help" {
			return true
		}
	}
	return false
}

// dashes writes a flag as the help does: -s, --start.
func dashes(name string) string {
	if len(name) == 1 {
		return name
	}
	return "-" + name
}

// commandName names the command of words for a message.
func commandName(words []string) string {
	if len(words) == 0 {
		return "a fetch"
	}
	if words[0] == "subscriptions" && len(words) > 1 {
		return "subscriptions " + words[1]
	}
	return words[0]
}
