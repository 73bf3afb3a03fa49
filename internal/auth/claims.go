package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Claims are what `check` reads from an access token. They are decoded,
// not verified: the token came straight from Azure AD over TLS, and only
// the API can judge it anyway.
type Claims struct {
	Roles    []string
	TenantID string // tid
	Audience string // aud
	AppID    string // appid (v1 tokens) or azp (v2)
	Expires  time.Time
}

// HasRole reports whether the token carries the application permission role.
func (c Claims) HasRole(role string) bool {
	for _, r := range c.Roles {
		if strings.EqualFold(r, role) {
			return true
		}
	}
	return false
}

// DecodeClaims reads the payload of a JWT access token.
func DecodeClaims(token string) (Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, errors.New("access token is not a JWT (want three dot-separated parts)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, fmt.Errorf("access token payload: %w", err)
	}
	var raw struct {
		Roles []string `json:"roles"`
		Tid   string   `json:"tid"`
		Aud   string   `json:"aud"`
		AppID string   `json:"appid"`
		Azp   string   `json:"azp"`
		Exp   float64  `json:"exp"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Claims{}, fmt.Errorf("access token claims: %w", err)
	}
	c := Claims{Roles: raw.Roles, TenantID: raw.Tid, Audience: raw.Aud, AppID: raw.AppID}
	if c.AppID == "" {
		c.AppID = raw.Azp
	}
	if raw.Exp > 0 {
		c.Expires = time.Unix(int64(raw.Exp), 0).UTC()
	}
	return c, nil
}
