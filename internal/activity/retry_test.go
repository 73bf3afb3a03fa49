package activity

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"503", &APIError{Status: 503}, true},
		{"502 html", &APIError{Status: 502, Message: "<html>"}, true},
		{"408", &APIError{Status: 408}, true},
		{"429", &APIError{Status: 429}, true},
		{"403 AF429 throttling", &APIError{Status: 403, Code: "AF429"}, true},
		{"403 other", &APIError{Status: 403, Code: "AF10001"}, false},
		{"400 AF50005", &APIError{Status: 400, Code: "AF50005"}, true},
		{"400 AF20031 stale page: List starts the window over instead", &APIError{Status: 400, Code: "AF20031"}, false},
		{"400 AF20055 window", &APIError{Status: 400, Code: "AF20055"}, false},
		{"400 AF20051 expired", &APIError{Status: 400, Code: "AF20051"}, false},
		{"dropped connection", &transportError{io.ErrUnexpectedEOF}, true},
		{"cancelled", context.Canceled, false},
		{"other", errors.New("x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := transient(tt.err); got != tt.want {
				t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestParseErrorBody(t *testing.T) {
	tests := []struct{ name, body, code, msg string }{
		{"json", `{"error":{"code":"AF20022","message":"No subscription found"}}`, "AF20022", "No subscription found"},
		{"html gateway page", "<html>\n<body><h1>502 Bad Gateway</h1></body>\n</html>", "", "<html> <body><h1>502 Bad Gateway</h1></body> </html>"},
		{"empty", "", "", ""},
		{"json without error", `{"foo":1}`, "", `{"foo":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := parseErrorBody([]byte(tt.body))
			if code != tt.code || msg != tt.msg {
				t.Errorf("got (%q, %q), want (%q, %q)", code, msg, tt.code, tt.msg)
			}
		})
	}
}

func TestPacerSpacesRequests(t *testing.T) {
	p := newPacer(6000) // one per 10 ms
	ctx := context.Background()
	start := time.Now()
	for range 11 {
		if err := p.wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 11 requests need at least 10 intervals; an upper bound would be a timing assertion.
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
		t.Errorf("11 paced requests took %v, want at least 100ms", elapsed)
	}
	var nilPacer *pacer
	if err := nilPacer.wait(ctx); err != nil {
		t.Errorf("unpaced wait: %v", err)
	}
}

func FuzzParseErrorBody(f *testing.F) {
	f.Add([]byte(`{"error":{"code":"AF429","message":"Too many requests"}}`))
	f.Add([]byte("<html>502</html>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, msg := parseErrorBody(body)
		if len([]rune(msg)) > 301 {
			t.Fatalf("message not bounded: %d runes", len([]rune(msg)))
		}
	})
}
