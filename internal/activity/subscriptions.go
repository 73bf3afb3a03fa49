package activity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Subscription is one content type's subscription as the API lists it.
type Subscription struct {
	ContentType string          `json:"contentType"`
	Status      string          `json:"status"` // "enabled" or "disabled"
	Webhook     json.RawMessage `json:"webhook"`
}

// Enabled reports whether content of this subscription can be listed.
func (s Subscription) Enabled() bool { return s.Status == "enabled" }

// maxSmallBody bounds answers that are small by nature (subscriptions, error pages).
const maxSmallBody = 1 << 20

// Subscriptions lists the tenant's subscriptions.
func (c *Client) Subscriptions(ctx context.Context) ([]Subscription, error) {
	var subs []Subscription
	err := c.do(ctx, "list subscriptions", http.MethodGet, c.endpoint("subscriptions/list", nil), func(resp *http.Response) error {
		subs = nil
		return decodeSmall(resp.Body, &subs)
	})
	return subs, err
}

// Start starts the subscription of a content type. An already enabled subscription (AF20024)
// counts as success.
func (c *Client) Start(ctx context.Context, contentType string) (Subscription, error) {
	sub := Subscription{ContentType: contentType, Status: "enabled"}
	q := url.Values{"contentType": {contentType}}
	err := c.do(ctx, "start subscription "+contentType, http.MethodPost, c.endpoint("subscriptions/start", q), func(resp *http.Response) error {
		return decodeSmall(resp.Body, &sub)
	})
	if HasCode(err, CodeAlreadyEnabled) {
		return Subscription{ContentType: contentType, Status: "enabled"}, nil
	}
	return sub, err
}

// Stop stops the subscription of a content type. Content of the stopped period is gone for good.
func (c *Client) Stop(ctx context.Context, contentType string) error {
	q := url.Values{"contentType": {contentType}}
	return c.do(ctx, "stop subscription "+contentType, http.MethodPost, c.endpoint("subscriptions/stop", q), func(resp *http.Response) error {
		_, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxSmallBody))
		return err
	})
}

func decodeSmall(r io.Reader, v any) error {
	return decodeBounded(r, v, maxSmallBody, "answer", "the expected JSON")
}

// decodeBounded reads at most limit bytes of JSON into v: answers far bigger than any real one
// are refused rather than read into memory. what names the answer, want what it should be.
func decodeBounded(r io.Reader, v any, limit int, what, want string) error {
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return err
	}
	if len(data) > limit {
		return fmt.Errorf("%s larger than %d bytes", what, limit)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s is not %s: %w", what, want, err)
	}
	return nil
}
