package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/config"
)

func (a App) subscriptions(ctx context.Context, cfg *config.Config, o subscriptionsOptions) error {
	switch o.action {
	case "":
		return &usageError{"subscriptions needs a command: list, start or stop"}
	case "list":
		if len(o.types) > 0 {
			return &usageError{"subscriptions list takes no arguments"}
		}
		return a.subscriptionsList(ctx, cfg)
	case "start":
		types, err := pickTypes(o.types, cfg.ContentTypes)
		if err != nil {
			return err
		}
		return a.subscriptionsStart(ctx, cfg, types)
	case "stop":
		// Never the configured types by default: stopping is destructive, so every type is named.
		if len(o.types) == 0 {
			return &usageError{"subscriptions stop needs the content types to stop, e.g. subscriptions stop --yes Audit.General"}
		}
		types, err := pickTypes(o.types, nil)
		if err != nil {
			return err
		}
		if !o.yes {
			return &usageError{fmt.Sprintf("subscriptions stop %s: stopping discards the content of the stopped period "+
				"(Microsoft keeps nothing for it, and a restarted subscription can take up to 12 hours to yield content again); "+
				"add --yes to confirm", strings.Join(types, " "))}
		}
		return a.subscriptionsStop(ctx, cfg, types)
	}
	return &usageError{fmt.Sprintf("unknown subscriptions command %q: want list, start or stop", o.action)}
}

func pickTypes(args, configured []string) ([]string, error) {
	if len(args) == 0 {
		return configured, nil
	}
	var types []string
	for _, arg := range args {
		ct, ok := config.CanonicalContentType(arg)
		if !ok {
			return nil, &usageError{fmt.Sprintf("unknown content type %q: want one of %v", arg, config.ContentTypes)}
		}
		if !slices.Contains(types, ct) {
			types = append(types, ct)
		}
	}
	return types, nil
}

func (a App) subscriptionsList(ctx context.Context, cfg *config.Config) error {
	s, err := a.connect(cfg)
	if err != nil {
		return err
	}
	defer s.close()
	subs, err := s.api.Subscriptions(ctx)
	if err != nil {
		return err
	}
	byType := map[string]activity.Subscription{}
	for _, sub := range subs {
		byType[sub.ContentType] = sub
	}
	names := slices.Clone(config.ContentTypes)
	for _, sub := range subs {
		if !slices.Contains(names, sub.ContentType) {
			names = append(names, sub.ContentType)
		}
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTENT TYPE\tSTATUS\tWEBHOOK\tCONFIGURED")
	for _, name := range names {
		status, webhook := "none", "-"
		if sub, ok := byType[name]; ok {
			status = sub.Status
			if len(sub.Webhook) > 0 && string(sub.Webhook) != "null" {
				webhook = "yes"
			}
		}
		configured := "no"
		if slices.Contains(cfg.ContentTypes, name) {
			configured = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, status, webhook, configured)
	}
	return tw.Flush()
}

func (a App) subscriptionsStart(ctx context.Context, cfg *config.Config, types []string) error {
	return a.eachSubscription(ctx, cfg, types, func(s *session, ct string) (string, error) {
		sub, err := s.api.Start(ctx, ct)
		if err != nil {
			return "", err
		}
		return sub.Status, nil
	}, "A new subscription can take up to 12 hours to yield its first content; Microsoft allows one start per 15 minutes.")
}

func (a App) subscriptionsStop(ctx context.Context, cfg *config.Config, types []string) error {
	return a.eachSubscription(ctx, cfg, types, func(s *session, ct string) (string, error) {
		if err := s.api.Stop(ctx, ct); err != nil {
			return "", err
		}
		s.log.Warn("subscription stopped; content of the stopped period is not collected", "content_type", ct)
		return "stopped", nil
	}, "Content of a stopped period is gone for good. Start again with 'o365logfetch subscriptions start TYPE'; "+
		"a restarted subscription can take up to 12 hours to yield content, and Microsoft allows one start per 15 minutes.")
}

// eachSubscription changes the subscription of each type in turn, printing each new status
// and then note; it stops at the first error.
func (a App) eachSubscription(ctx context.Context, cfg *config.Config, types []string, change func(*session, string) (string, error), note string) error {
	s, err := a.connect(cfg)
	if err != nil {
		return err
	}
	defer s.close()
	for _, ct := range types {
		status, err := change(s, ct)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "%s: %s\n", ct, status)
	}
	fmt.Fprintln(a.Stdout, note)
	return nil
}
