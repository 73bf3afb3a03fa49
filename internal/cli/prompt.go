package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// prompter asks for the values the flags left out, on a terminal.
type prompter struct {
	in  *bufio.Reader
	out io.Writer
}

// maxAsks bounds the questions for one value: a stuck script is not a user.
const maxAsks = 5

// askMissing asks for every value init needs that the flags did not give, each once unless the
// answer is invalid.
func (p *prompter) askMissing(ctx context.Context, o *initOptions) error {
	questions := []struct {
		value    *string
		flag     string
		question string
		def      string
		check    func(string) error
	}{
		{&o.tenantID, "tenant-id", "Directory (tenant) ID of the app registration (a GUID)", "", checkGUID},
		{&o.clientID, "client-id", "Application (client) ID of the app registration (a GUID)", "", checkGUID},
		{&o.tenant, "tenant", "Tenant domain such as contoso.onmicrosoft.com, or Enter for the tenant ID", "", checkTenant},
		{&o.cloud, "cloud", "Cloud: Enterprise, GCC, GCCHigh or DoD", "Enterprise", checkCloud},
	}
	for _, q := range questions {
		if *q.value != "" {
			continue
		}
		if q.flag == "tenant" && o.tenantID != "" {
			// The tenant ID serves as well; a domain only reads better in the login URL.
			q.def = o.tenantID
		}
		v, err := p.ask(ctx, q.question, q.def, q.check)
		if ctx.Err() != nil {
			return &setupError{errors.New("init: interrupted; nothing written")}
		}
		if err != nil {
			return &usageError{fmt.Sprintf("init: --%s: %v", q.flag, err)}
		}
		*q.value = v
	}
	return nil
}

// ask asks until the answer passes check (an empty answer takes def).
func (p *prompter) ask(ctx context.Context, question, def string, check func(string) error) (string, error) {
	for range maxAsks {
		if def != "" {
			fmt.Fprintf(p.out, "%s [%s]: ", question, def)
		} else {
			fmt.Fprintf(p.out, "%s: ", question)
		}
		line, err := p.readLine(ctx)
		answer := strings.TrimSpace(line)
		if err != nil && (err != io.EOF || answer == "") {
			fmt.Fprintln(p.out)
			if err == io.EOF {
				return "", errors.New("no answer (end of input)")
			}
			return "", err
		}
		if answer == "" {
			answer = def
		}
		if answer == "" {
			fmt.Fprintln(p.out, "  an answer is needed")
			continue
		}
		if err := check(answer); err != nil {
			fmt.Fprintf(p.out, "  %v\n", err)
			continue
		}
		return answer, nil
	}
	return "", fmt.Errorf("no valid answer after %d tries", maxAsks)
}

// readLine reads one answer; an interrupt (ctx) ends the wait, which a read cannot.
func (p *prompter) readLine(ctx context.Context) (string, error) {
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		line, err := p.in.ReadString('\n')
		ch <- answer{line, err}
	}()
	select {
	case a := <-ch:
		return a.line, a.err
	case <-ctx.Done():
		return "", ctx.Err() // the reader is abandoned: the process is about to exit
	}
}

// stdinIsTerminal says whether someone at a terminal can answer init's questions.
func (a App) stdinIsTerminal() bool {
	if a.Stdin == nil {
		return false
	}
	if a.StdinIsTerminal != nil {
		return a.StdinIsTerminal()
	}
	f, ok := a.Stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
